//! x86-64 backends: the [`Lanes`] of each instruction set and their
//! `#[target_feature]` entry points, into which the generic kernels of
//! `lanes.rs` are inlined.
//!
//! Two ways to multiply a vector by a constant c:
//! * nibble tables (SSSE3, AVX2, AVX-512BW): c·b = T_lo[c][b & 15] ⊕
//!   T_hi[c][b >> 4], one `pshufb` per table;
//! * GFNI: one `gf2p8affineqb` with the 8×8 bit matrix of c (`AFFINE[c]`),
//!   the same field as `gf2p8mulb` (0x11B) but with the constant held as one
//!   64-bit word that a broadcast load (or the per-tile factor table) brings
//!   straight from the table. The elimination, whose multipliers are bytes
//!   already in a vector, uses `gf2p8mulb` on the broadcast byte instead.

use core::arch::x86_64::*;

use super::backend::{Backend, Kernels};
use super::lanes::{self, Lanes, tiles};
use super::tables::{AFFINE, NIBBLES};
use super::{Elimination, Product};

/// Defines a backend's entry points and kernel table (the elimination is
/// the generic one unless named).
macro_rules! backend {
    ($table:ident, $backend:expr, $lanes:ty, $features:literal) => {
        backend!(
            $table,
            $backend,
            $lanes,
            $features,
            eliminate = lanes::eliminate::<$lanes>
        );
    };
    ($table:ident, $backend:expr, $lanes:ty, $features:literal, eliminate = $eliminate:expr) => {
        pub(super) static $table: Kernels = {
            /// # Safety
            /// The CPU must have the backend's features; `p` satisfies
            /// [`Product`]'s contract.
            #[target_feature(enable = $features)]
            unsafe fn product(p: &Product<'_>) {
                // SAFETY: features enabled here; forwarded contract.
                unsafe { lanes::product::<$lanes>(p) }
            }
            /// # Safety
            /// The CPU must have the backend's features.
            #[target_feature(enable = $features)]
            unsafe fn eliminate(e: &mut Elimination<'_>) -> Option<usize> {
                // SAFETY: features enabled here.
                unsafe { $eliminate(e) }
            }
            Kernels {
                backend: $backend,
                product,
                eliminate,
            }
        };
    };
}

backend!(SSSE3, Backend::Ssse3, Ssse3, "ssse3");
backend!(AVX2, Backend::Avx2, Avx2, "avx2");
backend!(AVX512BW, Backend::Avx512Bw, Avx512Bw, "avx512f,avx512bw");
backend!(GFNI128, Backend::Gfni128, Gfni128, "gfni");
backend!(GFNI256, Backend::Gfni256, Gfni256, "gfni,avx2");
backend!(
    GFNI512,
    Backend::Gfni512,
    Gfni512,
    "gfni,avx512f,avx512bw",
    eliminate = eliminate_gfni512
);

/// Mask of the first `n < 64` bytes.
#[inline(always)]
fn first_bytes(n: usize) -> u64 {
    (1u64 << n) - 1
}

/// The [`Lanes`] methods every vector type has alike: zero, xor, loads and
/// stores (masked partial ones where the lanes have masks).
macro_rules! vector_methods {
    (
        load = $load:ident, store = $store:ident, xor = $xor:ident, zero = $zero:ident
        $(, part = ($load_part:expr, $store_part:expr))?
    ) => {
        #[inline(always)]
        unsafe fn zero() -> Self {
            // SAFETY: the CPU has this instruction (trait contract); registers only.
            unsafe { Self($zero()) }
        }
        #[inline(always)]
        unsafe fn xor(a: Self, b: Self) -> Self {
            // SAFETY: the CPU has this instruction (trait contract); registers only.
            unsafe { Self($xor(a.0, b.0)) }
        }
        #[inline(always)]
        unsafe fn load(p: *const u8) -> Self {
            // SAFETY: `p` is valid for WIDTH reads (trait contract).
            unsafe { Self($load(p.cast())) }
        }
        #[inline(always)]
        unsafe fn store(p: *mut u8, v: Self) {
            // SAFETY: `p` is valid for WIDTH writes (trait contract).
            unsafe { $store(p.cast(), v.0) }
        }
        $(
        #[inline(always)]
        unsafe fn load_part(p: *const u8, n: usize) -> Self {
            // SAFETY: masked-off bytes are neither read nor faulted on; the
            // first `n` are valid (trait contract).
            unsafe { Self($load_part(first_bytes(n), p.cast())) }
        }
        #[inline(always)]
        unsafe fn store_part(p: *mut u8, n: usize, v: Self) {
            // SAFETY: only the first `n` bytes are written, and they are
            // valid (trait contract).
            unsafe { $store_part(p.cast(), first_bytes(n), v.0) }
        }
        )?
    };
}

/// Nibble-table lanes: the same code for 16-, 32- and 64-byte vectors.
macro_rules! nibble_lanes {
    (
        $(#[$doc:meta])* $name:ident($vec:ty), width = $width:literal, masked = $masked:literal,
        pairs = $pairs:literal, factor_table = $factor_table:literal, table = $table:expr,
        load = $load:ident, store = $store:ident,
        xor = $xor:ident, and = $and:ident, shuffle = $shuffle:ident, srli = $srli:ident,
        splat8 = $splat8:ident, zero = $zero:ident, tiles = [$($m:literal => $b:literal),+]
        $(, part = ($load_part:expr, $store_part:expr))? $(, mul_add = $mul_add:expr)?
    ) => {
        $(#[$doc])*
        #[derive(Clone, Copy)]
        struct $name($vec);

        impl Lanes for $name {
            const WIDTH: usize = $width;
            const MASKED: bool = $masked;
            const PAIRS: bool = $pairs;
            const FACTOR_TABLE: bool = $factor_table;
            type Factor = u8;
            type Operand = ($vec, $vec);
            type Splat = ($vec, $vec);

            #[inline(always)]
            fn factor(c: u8) -> u8 {
                c
            }
            #[inline(always)]
            unsafe fn splat(c: u8) -> ($vec, $vec) {
                let t = NIBBLES.0[usize::from(c)].as_ptr();
                // SAFETY: each table row holds 32 bytes: two 16-byte tables.
                unsafe { ($table(t), $table(t.add(16))) }
            }
            #[inline(always)]
            unsafe fn operand(v: Self) -> ($vec, $vec) {
                // SAFETY: the CPU has these instructions (trait contract); registers only.
                unsafe {
                    let mask = $splat8(0x0f);
                    ($and(v.0, mask), $and($srli::<4>(v.0), mask))
                }
            }
            #[inline(always)]
            unsafe fn mul((lo, hi): ($vec, $vec), (t_lo, t_hi): ($vec, $vec)) -> Self {
                // SAFETY: the CPU has these instructions (trait contract); registers only.
                unsafe { Self($xor($shuffle(t_lo, lo), $shuffle(t_hi, hi))) }
            }
            $(
            #[inline(always)]
            unsafe fn mul_add(acc: Self, (lo, hi): ($vec, $vec), (t_lo, t_hi): ($vec, $vec)) -> Self {
                // SAFETY: the CPU has these instructions (trait contract); registers only.
                unsafe { Self($mul_add(acc.0, $shuffle(t_lo, lo), $shuffle(t_hi, hi))) }
            }
            )?
            vector_methods!(load = $load, store = $store, xor = $xor, zero = $zero $(, part = ($load_part, $store_part))?);
            tiles!($($m => $b),+);
        }
    };
}

/// Load a 16-byte table.
///
/// # Safety
/// `p` must be valid for 16 reads.
#[inline(always)]
unsafe fn table_128(p: *const u8) -> __m128i {
    // SAFETY: the caller guarantees 16 readable bytes.
    unsafe { _mm_loadu_si128(p.cast()) }
}

/// Broadcast a 16-byte table into both 128-bit lanes.
///
/// # Safety
/// `p` must be valid for 16 reads; AVX2 must be available.
#[inline(always)]
unsafe fn table_256(p: *const u8) -> __m256i {
    // SAFETY: the caller guarantees 16 readable bytes and AVX2.
    unsafe { _mm256_broadcastsi128_si256(_mm_loadu_si128(p.cast())) }
}

/// Broadcast a 16-byte table into all four 128-bit lanes.
///
/// # Safety
/// `p` must be valid for 16 reads; AVX-512F must be available.
#[inline(always)]
unsafe fn table_512(p: *const u8) -> __m512i {
    // SAFETY: the caller guarantees 16 readable bytes and AVX-512F.
    unsafe { _mm512_broadcast_i32x4(_mm_loadu_si128(p.cast())) }
}

/// `a ⊕ b ⊕ c` in one `vpternlogq`.
///
/// # Safety
/// AVX-512F must be available.
#[inline(always)]
unsafe fn xor3_512(a: __m512i, b: __m512i, c: __m512i) -> __m512i {
    // SAFETY: the caller guarantees AVX-512F.
    unsafe { _mm512_ternarylogic_epi64::<0x96>(a, b, c) }
}

nibble_lanes!(
    /// 16-byte `pshufb` nibble tables.
    Ssse3(__m128i), width = 16, masked = false, pairs = false, factor_table = true, table = table_128,
    load = _mm_loadu_si128, store = _mm_storeu_si128, xor = _mm_xor_si128, and = _mm_and_si128,
    shuffle = _mm_shuffle_epi8, srli = _mm_srli_epi64, splat8 = _mm_set1_epi8, zero = _mm_setzero_si128,
    tiles = [1 => 4, 2 => 2, 3 => 2, 4 => 2]
);

nibble_lanes!(
    /// 32-byte `vpshufb` nibble tables.
    Avx2(__m256i), width = 32, masked = false, pairs = false, factor_table = true, table = table_256,
    load = _mm256_loadu_si256, store = _mm256_storeu_si256, xor = _mm256_xor_si256, and = _mm256_and_si256,
    shuffle = _mm256_shuffle_epi8, srli = _mm256_srli_epi64, splat8 = _mm256_set1_epi8,
    zero = _mm256_setzero_si256, tiles = [1 => 4, 2 => 2, 3 => 2, 4 => 2]
);

nibble_lanes!(
    /// 64-byte `vpshufb` nibble tables, the two lookups folded into the
    /// accumulator by one `vpternlogq`.
    Avx512Bw(__m512i), width = 64, masked = true, pairs = false, factor_table = false, table = table_512,
    load = _mm512_loadu_si512, store = _mm512_storeu_si512, xor = _mm512_xor_si512, and = _mm512_and_si512,
    shuffle = _mm512_shuffle_epi8, srli = _mm512_srli_epi64, splat8 = _mm512_set1_epi8,
    zero = _mm512_setzero_si512,
    tiles = [1 => 4, 2 => 4, 3 => 4, 4 => 4, 5 => 2, 6 => 2, 7 => 2, 8 => 2],
    part = (_mm512_maskz_loadu_epi8, _mm512_mask_storeu_epi8), mul_add = xor3_512
);

/// GFNI lanes: one `gf2p8affineqb` per product.
macro_rules! gfni_lanes {
    (
        $(#[$doc:meta])* $name:ident($vec:ty), width = $width:literal, masked = $masked:literal,
        pairs = $pairs:literal, factor_table = $factor_table:literal, affine = $affine:ident,
        set1 = $set1:expr, load = $load:ident,
        store = $store:ident, xor = $xor:ident, zero = $zero:ident, tiles = [$($m:literal => $b:literal),+]
        $(, part = ($load_part:expr, $store_part:expr))? $(, xor3 = $xor3:expr)?
    ) => {
        $(#[$doc])*
        #[derive(Clone, Copy)]
        struct $name($vec);

        impl Lanes for $name {
            const WIDTH: usize = $width;
            const MASKED: bool = $masked;
            const PAIRS: bool = $pairs;
            const FACTOR_TABLE: bool = $factor_table;
            type Factor = u64;
            type Operand = $vec;
            type Splat = $vec;

            #[inline(always)]
            fn factor(c: u8) -> u64 {
                AFFINE[usize::from(c)]
            }
            #[inline(always)]
            unsafe fn splat(matrix: u64) -> $vec {
                // SAFETY: the CPU has this instruction (trait contract); registers only.
                unsafe { $set1(matrix as i64) }
            }
            #[inline(always)]
            unsafe fn operand(v: Self) -> $vec {
                v.0
            }
            #[inline(always)]
            unsafe fn mul(x: $vec, matrix: $vec) -> Self {
                // SAFETY: the CPU has this instruction (trait contract); registers only.
                unsafe { Self($affine::<0>(x, matrix)) }
            }
            $(
            #[inline(always)]
            unsafe fn mul_add2(acc: Self, x0: $vec, f0: $vec, x1: $vec, f1: $vec) -> Self {
                // SAFETY: the CPU has these instructions (trait contract); registers only.
                unsafe { Self($xor3(acc.0, $affine::<0>(x0, f0), $affine::<0>(x1, f1))) }
            }
            )?
            vector_methods!(load = $load, store = $store, xor = $xor, zero = $zero $(, part = ($load_part, $store_part))?);
            tiles!($($m => $b),+);
        }
    };
}

gfni_lanes!(
    /// 16-byte GFNI (SSE encoding).
    Gfni128(__m128i), width = 16, masked = false, pairs = false, factor_table = true,
    affine = _mm_gf2p8affine_epi64_epi8,
    set1 = _mm_set1_epi64x, load = _mm_loadu_si128, store = _mm_storeu_si128, xor = _mm_xor_si128,
    zero = _mm_setzero_si128, tiles = [1 => 4, 2 => 4, 3 => 2, 4 => 2, 5 => 2, 6 => 2]
);

gfni_lanes!(
    /// 32-byte GFNI (VEX encoding).
    Gfni256(__m256i), width = 32, masked = false, pairs = false, factor_table = true,
    affine = _mm256_gf2p8affine_epi64_epi8,
    set1 = _mm256_set1_epi64x, load = _mm256_loadu_si256, store = _mm256_storeu_si256, xor = _mm256_xor_si256,
    zero = _mm256_setzero_si256, tiles = [1 => 4, 2 => 4, 3 => 2, 4 => 2, 5 => 2, 6 => 2]
);

gfni_lanes!(
    /// 64-byte GFNI, two products folded into the accumulator by one
    /// `vpternlogq`, masked tails.
    Gfni512(__m512i), width = 64, masked = true, pairs = true, factor_table = false,
    affine = _mm512_gf2p8affine_epi64_epi8,
    set1 = _mm512_set1_epi64, load = _mm512_loadu_si512, store = _mm512_storeu_si512, xor = _mm512_xor_si512,
    zero = _mm512_setzero_si512,
    tiles = [1 => 4, 2 => 4, 3 => 4, 4 => 4, 5 => 2, 6 => 2, 7 => 2, 8 => 2],
    part = (_mm512_maskz_loadu_epi8, _mm512_mask_storeu_epi8), xor3 = xor3_512
);

/// Bytes multiply-accumulated by `rounds` rounds of the 64-byte GFNI loop
/// with only registers (8 × 2 tile, sources changed every round): the
/// multiplier's bound, which kernels are measured against.
///
/// # Safety
/// The CPU must have GFNI, AVX-512F and AVX-512BW.
#[cfg(feature = "std")]
#[target_feature(enable = "gfni,avx512f,avx512bw")]
pub(super) unsafe fn gfni_peak(rounds: u64) -> u64 {
    // SAFETY: features enabled here.
    let (bytes, value) = unsafe { lanes::peak::<Gfni512, 8, 2>(rounds) };
    core::hint::black_box(value);
    bytes
}

/// Forward elimination with the coefficient vector and its companion held
/// in registers (K ≤ 256, one to four vectors each): each row operation is
/// a short chain (broadcast the entry, `vgf2p8mulb` the row by it, xor)
/// instead of a store, a reload of one byte and a table lookup. Measured at
/// K = 128 (Zen 4): 46 → 16 µs of a random-mode decode.
///
/// # Safety
/// The CPU must have GFNI, AVX-512F and AVX-512BW.
#[inline(always)]
unsafe fn eliminate_gfni512(e: &mut Elimination<'_>) -> Option<usize> {
    // SAFETY: forwarded contract; `Elimination::new` bounds the stride to
    // 64·1 ..= 64·4.
    unsafe {
        match e.stride / 64 {
            1 => eliminate_in_registers::<1>(e),
            2 => eliminate_in_registers::<2>(e),
            3 => eliminate_in_registers::<3>(e),
            _ => eliminate_in_registers::<4>(e),
        }
    }
}

/// [`eliminate_gfni512`] for a stride of `N` vectors.
///
/// # Safety
/// The CPU must have GFNI, AVX-512F and AVX-512BW; `e.stride == 64·N`.
#[inline(always)]
unsafe fn eliminate_in_registers<const N: usize>(e: &mut Elimination<'_>) -> Option<usize> {
    let k = e.present.len();
    // SAFETY: both vectors hold `stride = 64·N` bytes (Elimination's
    // checks).
    unsafe {
        let vector = e.vector.as_mut_ptr();
        let alongside = e.alongside.as_mut_ptr();
        let mut v: [__m512i; N] = core::array::from_fn(|r| _mm512_loadu_si512(vector.add(64 * r).cast()));
        let mut t: [__m512i; N] = core::array::from_fn(|r| _mm512_loadu_si512(alongside.add(64 * r).cast()));
        // Blocks of 64 columns one vector at a time, so that every vector
        // index is a constant and the vectors stay in registers.
        let stop = 'blocks: {
            if N > 0
                && let Some(p) = eliminate_block::<N, 0>(e, k, &mut v, &mut t)
            {
                break 'blocks Some(p);
            }
            if N > 1
                && let Some(p) = eliminate_block::<N, 1>(e, k, &mut v, &mut t)
            {
                break 'blocks Some(p);
            }
            if N > 2
                && let Some(p) = eliminate_block::<N, 2>(e, k, &mut v, &mut t)
            {
                break 'blocks Some(p);
            }
            if N > 3
                && let Some(p) = eliminate_block::<N, 3>(e, k, &mut v, &mut t)
            {
                break 'blocks Some(p);
            }
            None
        };
        for r in 0..N {
            _mm512_storeu_si512(vector.add(64 * r).cast(), v[r]);
            _mm512_storeu_si512(alongside.add(64 * r).cast(), t[r]);
        }
        stop
    }
}

/// Columns `64·R ..` (up to `k`, from `e.from`) of [`eliminate_in_registers`].
///
/// # Safety
/// As [`eliminate_in_registers`]; `R < N`.
#[inline(always)]
unsafe fn eliminate_block<const N: usize, const R: usize>(
    e: &Elimination<'_>,
    k: usize,
    v: &mut [__m512i; N],
    t: &mut [__m512i; N],
) -> Option<usize> {
    // SAFETY: row `p < k` of either matrix holds 64·N bytes (Elimination's
    // checks).
    unsafe {
        let row = |p: usize| e.rows.as_ptr().add(p * e.stride);
        let companion = |p: usize| e.alongside_rows.as_ptr().add(p * e.stride);
        let times =
            |at: *const u8, j: usize, c: __m512i| _mm512_gf2p8mul_epi8(_mm512_loadu_si512(at.add(64 * j).cast()), c);
        let end = (64 * (R + 1)).min(k);
        let mut p = (64 * R).max(e.from);
        while p < end {
            let bit = p % 64;
            if p + 4 <= end && e.present[p..p + 4] == [true; 4] && e.unit[p..p + 4] == [false; 4] {
                // Four coded rows at once: their multipliers follow from a
                // 4 × 4 triangle (cᵢ = v[p+i] ⊕ Σ_{j<i} cⱼ·row_{p+j}[p+i]),
                // then all four rows are subtracted together. The chain
                // through the vector is one broadcast and three short
                // multiply-adds instead of four full row operations.
                let at = |q: usize, column: usize| _mm512_set1_epi8(*row(q).add(column) as i8);
                let x: [__m512i; 4] = core::array::from_fn(|i| broadcast_byte(v[R], bit + i));
                let c0 = x[0];
                let c1 = _mm512_xor_si512(x[1], _mm512_gf2p8mul_epi8(at(p, p + 1), c0));
                let c2 = xor3(
                    x[2],
                    _mm512_gf2p8mul_epi8(at(p, p + 2), c0),
                    _mm512_gf2p8mul_epi8(at(p + 1, p + 2), c1),
                );
                let c3 = xor3(
                    xor3(
                        x[3],
                        _mm512_gf2p8mul_epi8(at(p, p + 3), c0),
                        _mm512_gf2p8mul_epi8(at(p + 1, p + 3), c1),
                    ),
                    _mm512_gf2p8mul_epi8(at(p + 2, p + 3), c2),
                    _mm512_setzero_si512(),
                );
                let c = [c0, c1, c2, c3];
                for (j, x) in v.iter_mut().enumerate().skip(R) {
                    let product = |i: usize| times(row(p + i), j, c[i]);
                    *x = xor3(xor3(*x, product(0), product(1)), product(2), product(3));
                }
                for (j, x) in t.iter_mut().enumerate() {
                    let product = |i: usize| times(companion(p + i), j, c[i]);
                    *x = xor3(xor3(*x, product(0), product(1)), product(2), product(3));
                }
                p += 4;
                continue;
            }
            let nonzero = _mm512_test_epi8_mask(v[R], v[R]) & (1 << bit) != 0;
            if nonzero {
                if !e.present[p] {
                    return Some(p);
                }
                let c = broadcast_byte(v[R], bit);
                for (j, x) in t.iter_mut().enumerate() {
                    *x = _mm512_xor_si512(*x, times(companion(p), j, c));
                }
                if e.unit[p] {
                    v[R] = _mm512_mask_mov_epi8(v[R], 1 << bit, _mm512_setzero_si512());
                } else {
                    for (j, x) in v.iter_mut().enumerate().skip(R) {
                        *x = _mm512_xor_si512(*x, times(row(p), j, c));
                    }
                }
            }
            p += 1;
        }
        None
    }
}

/// Every byte of the result is byte `bit` of `v`: the 16-bit word holding
/// it broadcast, then the byte picked within each word.
///
/// # Safety
/// The CPU must have AVX-512BW.
#[inline(always)]
unsafe fn broadcast_byte(v: __m512i, bit: usize) -> __m512i {
    // SAFETY: the CPU has these instructions (trait contract); registers only.
    unsafe {
        let word = _mm512_permutexvar_epi16(_mm512_set1_epi16((bit / 2) as i16), v);
        _mm512_shuffle_epi8(word, _mm512_set1_epi8((bit % 2) as i8))
    }
}

/// `a ⊕ b ⊕ c`.
///
/// # Safety
/// The CPU must have AVX-512F.
#[inline(always)]
unsafe fn xor3(a: __m512i, b: __m512i, c: __m512i) -> __m512i {
    // SAFETY: forwarded contract.
    unsafe { xor3_512(a, b, c) }
}
