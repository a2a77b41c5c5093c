//! Compile-time tables of GF(2^8) over 0x11B: log/exp (the reference every
//! kernel is checked against), the full product table (portable kernel),
//! nibble product tables (`pshufb` kernels) and the 8×8 bit matrix of each
//! constant (GFNI `vgf2p8affineqb`).

use super::POLY;

pub(super) const fn xtime(a: u8) -> u8 {
    let doubled = (a as u16) << 1;
    (if doubled & 0x100 != 0 { doubled ^ POLY } else { doubled }) as u8
}

const fn build_exp_log() -> ([u8; 512], [u8; 256]) {
    let mut exp = [0u8; 512];
    let mut log = [0u8; 256];
    let mut x: u8 = 1;
    let mut i = 0;
    while i < 255 {
        exp[i] = x;
        log[x as usize] = i as u8;
        // 3 generates the multiplicative group mod 0x11B (2 does not):
        // x · 3 = x · 2 ⊕ x.
        x = xtime(x) ^ x;
        i += 1;
    }
    while i < 512 {
        exp[i] = exp[i - 255];
        i += 1;
    }
    (exp, log)
}

const EXP_LOG: ([u8; 512], [u8; 256]) = build_exp_log();
/// `EXP[i] = 3^i`, doubled in length so `EXP[log a + log b]` needs no modulo.
pub(super) static EXP: [u8; 512] = EXP_LOG.0;
pub(super) static LOG: [u8; 256] = EXP_LOG.1;

const fn table_mul(a: u8, b: u8) -> u8 {
    if a == 0 || b == 0 {
        0
    } else {
        EXP_LOG.0[EXP_LOG.1[a as usize] as usize + EXP_LOG.1[b as usize] as usize]
    }
}

/// 32-byte rows so one aligned pair of 16-byte loads fetches both halves.
#[repr(C, align(32))]
pub(super) struct NibbleTables(pub(super) [[u8; 32]; 256]);

const fn build_nibbles() -> NibbleTables {
    let mut t = [[0u8; 32]; 256];
    let mut c = 0;
    while c < 256 {
        let mut n = 0;
        while n < 16 {
            t[c][n] = table_mul(c as u8, n as u8);
            t[c][16 + n] = table_mul(c as u8, (n << 4) as u8);
            n += 1;
        }
        c += 1;
    }
    NibbleTables(t)
}

/// `NIBBLES.0[c] = [c·0x0 .. c·0xF, c·0x00 .. c·0xF0]`: the low- and
/// high-nibble product tables `pshufb` looks up, since c·b = c·lo(b) ⊕ c·hi(b).
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
pub(super) static NIBBLES: NibbleTables = build_nibbles();

const fn build_mul_table() -> [[u8; 256]; 256] {
    let mut t = [[0u8; 256]; 256];
    let mut a = 0;
    while a < 256 {
        let mut b = 0;
        while b < 256 {
            t[a][b] = table_mul(a as u8, b as u8);
            b += 1;
        }
        a += 1;
    }
    t
}

/// Full product table for the portable kernel: one load per byte instead of
/// two log lookups, a branch and an exp lookup.
pub(super) static MUL: [[u8; 256]; 256] = build_mul_table();

const fn build_affine() -> [u64; 256] {
    let mut t = [0u64; 256];
    let mut c = 0;
    while c < 256 {
        // x ↦ c·x is GF(2)-linear: input bit k contributes c·2^k. Output bit
        // i is row i, which `vgf2p8affineqb` takes from byte 7 − i.
        let mut matrix = 0u64;
        let mut i = 0;
        while i < 8 {
            let mut row = 0u8;
            let mut k = 0;
            while k < 8 {
                row |= ((table_mul(c as u8, 1 << k) >> i) & 1) << k;
                k += 1;
            }
            matrix |= (row as u64) << (8 * (7 - i));
            i += 1;
        }
        t[c] = matrix;
        c += 1;
    }
    t
}

/// `AFFINE[c]`: the 8×8 bit matrix of multiplication by `c`, in the layout
/// `vgf2p8affineqb` reads, so one instruction multiplies a vector by `c`.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
pub(super) static AFFINE: [u64; 256] = build_affine();
