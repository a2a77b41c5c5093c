//! GF(2^8) arithmetic over the polynomial x⁸+x⁴+x³+x+1 (0x11B), the one
//! x86 GFNI multiplies in natively, so a GFNI backend can be added without
//! changing a single byte on the wire.
//!
//! Scalar helpers ([`mul`], [`inv`]) use log/exp tables; the slice kernels
//! ([`mul_acc`], [`mul_slice`], [`scale`], [`lin_comb`]) dispatch at run time
//! to the fastest [`Backend`] the CPU has (with the `std` feature) or pick one
//! at compile time from `target_feature` (without it).
//!
//! Backends today: portable, SSSE3, AVX2. GFNI (`vgf2p8mulb`, the same
//! polynomial) and NEON are not written yet: neither could be run on the
//! machine this was developed on, and untested SIMD is not shipped.

#[cfg(target_arch = "x86_64")]
mod x86;

use core::sync::atomic::{AtomicU8, Ordering};

/// The field polynomial x⁸+x⁴+x³+x+1 (AES, GFNI).
pub const POLY: u16 = 0x11B;

const fn xtime(a: u8) -> u8 {
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
static EXP: [u8; 512] = EXP_LOG.0;
static LOG: [u8; 256] = EXP_LOG.1;

const fn table_mul(a: u8, b: u8) -> u8 {
    if a == 0 || b == 0 {
        0
    } else {
        EXP_LOG.0[EXP_LOG.1[a as usize] as usize + EXP_LOG.1[b as usize] as usize]
    }
}

/// 32-byte rows so one aligned pair of 16-byte loads fetches both halves.
#[repr(C, align(32))]
struct NibbleTables([[u8; 32]; 256]);

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
static NIBBLES: NibbleTables = build_nibbles();

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
static MUL: [[u8; 256]; 256] = build_mul_table();

/// a · b in GF(2^8).
#[inline]
pub fn mul(a: u8, b: u8) -> u8 {
    MUL[a as usize][b as usize]
}

/// The multiplicative inverse of `a`; `None` for 0, which has none.
#[inline]
pub fn inv(a: u8) -> Option<u8> {
    (a != 0).then(|| EXP[255 - LOG[a as usize] as usize])
}

/// A kernel implementation. Only backends the running CPU supports are ever
/// constructed, which is what makes calling their `target_feature` code sound.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Backend {
    /// Byte-at-a-time table lookups; runs anywhere.
    Portable,
    /// 16-byte `pshufb` nibble-table kernel.
    #[cfg(target_arch = "x86_64")]
    Ssse3,
    /// 32-byte `vpshufb` nibble-table kernel.
    #[cfg(target_arch = "x86_64")]
    Avx2,
}

static ACTIVE: AtomicU8 = AtomicU8::new(u8::MAX);

impl Backend {
    /// Every backend this CPU can run, slowest first.
    pub fn available() -> impl Iterator<Item = Backend> {
        let mut list = [Some(Backend::Portable), None, None];
        #[cfg(target_arch = "x86_64")]
        {
            if has_ssse3() {
                list[1] = Some(Backend::Ssse3);
            }
            if has_avx2() {
                list[2] = Some(Backend::Avx2);
            }
        }
        list.into_iter().flatten()
    }

    /// The fastest available backend, detected once and cached.
    #[inline]
    pub fn active() -> Backend {
        match ACTIVE.load(Ordering::Relaxed) {
            u8::MAX => {
                let best = Backend::available().last().unwrap_or(Backend::Portable);
                ACTIVE.store(best.id(), Ordering::Relaxed);
                best
            }
            id => Backend::from_id(id),
        }
    }

    fn id(self) -> u8 {
        match self {
            Backend::Portable => 0,
            #[cfg(target_arch = "x86_64")]
            Backend::Ssse3 => 1,
            #[cfg(target_arch = "x86_64")]
            Backend::Avx2 => 2,
        }
    }

    fn from_id(id: u8) -> Backend {
        match id {
            #[cfg(target_arch = "x86_64")]
            1 => Backend::Ssse3,
            #[cfg(target_arch = "x86_64")]
            2 => Backend::Avx2,
            _ => Backend::Portable,
        }
    }

    /// A short lowercase name, for reports.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Portable => "portable",
            #[cfg(target_arch = "x86_64")]
            Backend::Ssse3 => "ssse3",
            #[cfg(target_arch = "x86_64")]
            Backend::Avx2 => "avx2",
        }
    }
}

#[cfg(all(target_arch = "x86_64", feature = "std"))]
fn has_ssse3() -> bool {
    std::is_x86_feature_detected!("ssse3")
}
#[cfg(all(target_arch = "x86_64", not(feature = "std")))]
fn has_ssse3() -> bool {
    cfg!(target_feature = "ssse3")
}
#[cfg(all(target_arch = "x86_64", feature = "std"))]
fn has_avx2() -> bool {
    std::is_x86_feature_detected!("avx2")
}
#[cfg(all(target_arch = "x86_64", not(feature = "std")))]
fn has_avx2() -> bool {
    cfg!(target_feature = "avx2")
}

/// What a combination does with the destination's previous contents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DstMode {
    /// dst = Σ cᵢ·srcᵢ
    Overwrite,
    /// dst ^= Σ cᵢ·srcᵢ
    Accumulate,
    /// dst = d·dst ⊕ Σ cᵢ·srcᵢ (d ≠ 0, 1)
    Scale(u8),
}

impl DstMode {
    fn for_coefficient(d: u8) -> DstMode {
        match d {
            0 => DstMode::Overwrite,
            1 => DstMode::Accumulate,
            d => DstMode::Scale(d),
        }
    }
}

/// The single primitive every backend implements:
/// `dst[..len] = mode(dst) ⊕ Σ coefs[i]·src[i·stride ..][..len]`, skipping
/// zero coefficients.
///
/// # Safety
/// `backend` must be one from [`Backend::available`]; `dst` must be valid for
/// `len` reads and writes; for every `i` with `coefs[i] != 0`,
/// `src + i·stride` must be valid for `len` reads; no read range may overlap
/// the `dst` range.
#[inline]
unsafe fn combine_raw(
    backend: Backend,
    dst: *mut u8,
    len: usize,
    mode: DstMode,
    src: *const u8,
    stride: usize,
    coefs: &[u8],
) {
    match backend {
        // SAFETY: forwarded contract.
        Backend::Portable => unsafe { combine_portable(dst, len, mode, src, stride, coefs) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: forwarded contract; the backend exists only if SSSE3 does.
        Backend::Ssse3 => unsafe { x86::combine_ssse3(dst, len, mode, src, stride, coefs) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: forwarded contract; the backend exists only if AVX2 does.
        Backend::Avx2 => unsafe { x86::combine_avx2(dst, len, mode, src, stride, coefs) },
    }
}

/// Portable kernel: one 256-byte product-table row per source.
///
/// # Safety
/// As [`combine_raw`].
unsafe fn combine_portable(dst: *mut u8, len: usize, mode: DstMode, src: *const u8, stride: usize, coefs: &[u8]) {
    // SAFETY: the caller guarantees `dst` is valid for `len` bytes and that
    // no source range overlaps it, so this exclusive slice is unaliased.
    let dst = unsafe { core::slice::from_raw_parts_mut(dst, len) };
    let mut overwrite = false;
    match mode {
        DstMode::Overwrite => overwrite = true,
        DstMode::Accumulate => {}
        DstMode::Scale(d) => {
            let row = &MUL[d as usize];
            dst.iter_mut().for_each(|b| *b = row[*b as usize]);
        }
    }
    for (i, &c) in coefs.iter().enumerate() {
        if c == 0 {
            continue;
        }
        // SAFETY: the caller guarantees row `i` is readable for `len` bytes
        // when its coefficient is non-zero.
        let s = unsafe { core::slice::from_raw_parts(src.add(i * stride), len) };
        let row = &MUL[c as usize];
        if overwrite {
            dst.iter_mut().zip(s).for_each(|(d, s)| *d = row[*s as usize]);
            overwrite = false;
        } else {
            dst.iter_mut().zip(s).for_each(|(d, s)| *d ^= row[*s as usize]);
        }
    }
    if overwrite {
        dst.fill(0);
    }
}

fn combine_with(backend: Backend, dst: &mut [u8], mode: DstMode, rows: &[u8], stride: usize, coefs: &[u8]) {
    let len = dst.len();
    if let Some(last) = coefs.len().checked_sub(1) {
        assert!(len <= stride || last == 0, "row length {len} exceeds stride {stride}");
        let needed = last * stride + len;
        assert!(rows.len() >= needed, "rows hold {} bytes, need {needed}", rows.len());
    }
    // SAFETY: `backend` comes from `Backend::active`/`available`; dst is an
    // exclusive borrow of `len` bytes; every source row `i < coefs.len()`
    // lies inside `rows` (asserted above) and `rows` is a shared borrow, so it
    // cannot overlap the exclusive `dst`.
    unsafe { combine_raw(backend, dst.as_mut_ptr(), len, mode, rows.as_ptr(), stride, coefs) }
}

/// `dst ^= c · src`.
///
/// # Panics
/// If the lengths differ.
pub fn mul_acc(dst: &mut [u8], src: &[u8], c: u8) {
    assert_eq!(dst.len(), src.len(), "mul_acc length mismatch");
    combine_with(Backend::active(), dst, DstMode::Accumulate, src, 0, &[c]);
}

/// `dst = c · src`.
///
/// # Panics
/// If the lengths differ.
pub fn mul_slice(dst: &mut [u8], src: &[u8], c: u8) {
    assert_eq!(dst.len(), src.len(), "mul_slice length mismatch");
    combine_with(Backend::active(), dst, DstMode::Overwrite, src, 0, &[c]);
}

/// `buf = c · buf`, in place.
pub fn scale(buf: &mut [u8], c: u8) {
    match c {
        1 => {}
        c => combine_with(Backend::active(), buf, DstMode::for_coefficient(c), &[], 0, &[]),
    }
}

/// `dst = Σ coefs[i] · rows[i·stride ..][..dst.len()]`: the encoder's inner
/// loop, fused so each output vector is loaded and stored once however many
/// sources feed it. Zero coefficients cost one branch.
///
/// # Panics
/// If `dst.len() > stride` with more than one row, or `rows` is too short for
/// `coefs.len()` rows.
pub fn lin_comb(dst: &mut [u8], rows: &[u8], stride: usize, coefs: &[u8]) {
    combine_with(Backend::active(), dst, DstMode::Overwrite, rows, stride, coefs);
}

/// Several outputs at once: `dst[m·dst_stride ..][..len] =
/// Σᵢ coefs[m·n + i] · rows[i·stride ..][..len]` for `m < coefs.len() / n`.
/// Faster than one [`lin_comb`] per output because each source vector is
/// loaded once for up to four outputs.
///
/// # Panics
/// If `n == 0`, `coefs.len()` is not a multiple of `n`, `len` exceeds either
/// stride, or a row falls outside its slice.
pub fn lin_comb_multi(
    dst: &mut [u8],
    dst_stride: usize,
    len: usize,
    rows: &[u8],
    stride: usize,
    coefs: &[u8],
    n: usize,
) {
    let outputs = check_multi(dst.len(), dst_stride, len, rows.len(), stride, coefs, n);
    // SAFETY: `check_multi` proved every output inside `dst` and every
    // source inside `rows`; `dst` is exclusive and `rows` shared, so no read
    // overlaps a write; outputs are `dst_stride >= len` apart.
    unsafe {
        multi_raw(
            Backend::active(),
            false,
            dst.as_mut_ptr(),
            dst_stride,
            len,
            rows.as_ptr(),
            stride,
            coefs,
            n,
            outputs,
        )
    }
}

/// Validates a multi-output call; returns the number of outputs.
fn check_multi(
    dst_len: usize,
    dst_stride: usize,
    len: usize,
    rows_len: usize,
    stride: usize,
    coefs: &[u8],
    n: usize,
) -> usize {
    assert!(
        n > 0 && coefs.len().is_multiple_of(n),
        "coefficients are not M rows of n"
    );
    let outputs = coefs.len() / n;
    if outputs > 0 {
        assert!(len <= dst_stride || outputs == 1, "len exceeds dst_stride");
        assert!(len <= stride || n == 1, "len exceeds stride");
        assert!(dst_len >= (outputs - 1) * dst_stride + len, "dst too short");
        assert!(rows_len >= (n - 1) * stride + len, "rows too short");
    }
    outputs
}

/// Dispatch for the multi-output combination, four outputs per kernel call.
///
/// # Safety
/// `backend` from [`Backend::available`]; output `m < outputs` at
/// `dst + m·dst_stride` valid for `len` reads and writes, source `i < n` at
/// `src + i·stride` valid for `len` reads; no source overlaps an output and
/// outputs do not overlap; `coefs.len() >= outputs·n`.
#[allow(clippy::too_many_arguments)]
unsafe fn multi_raw(
    backend: Backend,
    accumulate: bool,
    dst: *mut u8,
    dst_stride: usize,
    len: usize,
    src: *const u8,
    stride: usize,
    coefs: &[u8],
    n: usize,
    outputs: usize,
) {
    #[cfg(target_arch = "x86_64")]
    if backend == Backend::Avx2 && len >= 32 {
        let mut m = 0;
        while m < outputs {
            let group = (outputs - m).min(4);
            let c = &coefs[m * n..(m + group) * n];
            // SAFETY: forwarded contract; AVX2 present since the backend
            // exists; len >= 32.
            unsafe {
                let d = dst.add(m * dst_stride);
                match (group, accumulate) {
                    (4, false) => x86::lin_comb_multi_avx2::<4, false>(d, dst_stride, len, src, stride, c, n),
                    (3, false) => x86::lin_comb_multi_avx2::<3, false>(d, dst_stride, len, src, stride, c, n),
                    (2, false) => x86::lin_comb_multi_avx2::<2, false>(d, dst_stride, len, src, stride, c, n),
                    (_, false) => x86::lin_comb_multi_avx2::<1, false>(d, dst_stride, len, src, stride, c, n),
                    (4, true) => x86::lin_comb_multi_avx2::<4, true>(d, dst_stride, len, src, stride, c, n),
                    (3, true) => x86::lin_comb_multi_avx2::<3, true>(d, dst_stride, len, src, stride, c, n),
                    (2, true) => x86::lin_comb_multi_avx2::<2, true>(d, dst_stride, len, src, stride, c, n),
                    (_, true) => x86::lin_comb_multi_avx2::<1, true>(d, dst_stride, len, src, stride, c, n),
                }
            }
            m += group;
        }
        return;
    }
    let mode = if accumulate {
        DstMode::Accumulate
    } else {
        DstMode::Overwrite
    };
    for m in 0..outputs {
        // SAFETY: forwarded contract, one output at a time.
        unsafe {
            combine_raw(
                backend,
                dst.add(m * dst_stride),
                len,
                mode,
                src,
                stride,
                &coefs[m * n..(m + 1) * n],
            )
        }
    }
}

/// Within one matrix of rows `stride` apart, for the `coefs.len() / n`
/// consecutive destination rows from `dst_row`:
/// `row[dst_row + m] ^= Σᵢ coefs[m·n + i] · row[src_row + i]`, `i < n`, over
/// the first `len` bytes. The decoder's blocked back-substitution.
///
/// # Panics
/// If the destination rows intersect the source rows, `len > stride`, or a
/// row falls outside `matrix`.
pub(crate) fn accumulate_rows_into(
    matrix: &mut [u8],
    stride: usize,
    len: usize,
    dst_row: usize,
    src_row: usize,
    coefs: &[u8],
    n: usize,
) {
    assert!(len <= stride, "row length {len} exceeds stride {stride}");
    let outputs = check_multi(
        matrix.len().saturating_sub(dst_row * stride),
        stride,
        len,
        matrix.len().saturating_sub(src_row * stride),
        stride,
        coefs,
        n,
    );
    assert!(
        dst_row + outputs <= src_row || src_row + n <= dst_row,
        "destination rows overlap source rows"
    );
    let base = matrix.as_mut_ptr();
    // SAFETY: rows checked inside `matrix`; destination rows and source rows
    // are disjoint row ranges `stride >= len` apart; `matrix` is exclusive.
    unsafe {
        multi_raw(
            Backend::active(),
            true,
            base.add(dst_row * stride),
            stride,
            len,
            base.add(src_row * stride),
            stride,
            coefs,
            n,
            outputs,
        )
    }
}

/// Forward-eliminate `vector` against a row-echelon matrix: row `p` (at
/// `p·stride` in `rows`) exists if `present[p]`, is zero before column `p`
/// and 1 at `p`, and is exactly eₚ if `unit[p]`. Columns `from..` are visited
/// in order; each existing row meeting a non-zero entry is subtracted, its
/// multiplier recorded in `mult[p]`. Returns the first non-zero column with
/// no row, or `None` if `vector` reduced to zero from `from` on.
///
/// # Panics
/// If `stride` is not a multiple of 32, `vector.len() != stride`, or the
/// other slices are shorter than `present`.
pub(crate) fn eliminate(
    vector: &mut [u8],
    rows: &[u8],
    stride: usize,
    present: &[bool],
    unit: &[bool],
    from: usize,
    mult: &mut [u8],
) -> Option<usize> {
    eliminate_with(Backend::active(), vector, rows, stride, present, unit, from, mult)
}

#[allow(clippy::too_many_arguments)]
fn eliminate_with(
    backend: Backend,
    vector: &mut [u8],
    rows: &[u8],
    stride: usize,
    present: &[bool],
    unit: &[bool],
    from: usize,
    mult: &mut [u8],
) -> Option<usize> {
    let k = present.len();
    assert!(stride.is_multiple_of(32) && vector.len() == stride && k <= stride);
    assert!(rows.len() >= k * stride && unit.len() >= k && mult.len() >= k);
    #[cfg(target_arch = "x86_64")]
    if backend == Backend::Avx2 {
        // SAFETY: AVX2 present (the backend exists); shapes asserted above.
        return unsafe { x86::eliminate_avx2(vector, rows, stride, present, unit, from, mult) };
    }
    for p in from..k {
        let c = vector[p];
        if c == 0 {
            continue;
        }
        if !present[p] {
            return Some(p);
        }
        mult[p] = c;
        if unit[p] {
            vector[p] = 0;
        } else {
            let start = p & !31;
            let row = &rows[p * stride + start..(p + 1) * stride];
            combine_with(backend, &mut vector[start..], DstMode::Accumulate, row, 0, &[c]);
        }
    }
    None
}

/// Within one matrix of rows `stride` apart:
/// `row[dst] = d·row[dst] ⊕ Σ coefs[i]·row[i]` over the first `len` bytes.
///
/// # Panics
/// If `coefs[dst] != 0` (a row cannot feed itself), `len > stride`, or a row
/// falls outside `matrix`.
pub(crate) fn combine_rows_into(matrix: &mut [u8], stride: usize, len: usize, dst: usize, d: u8, coefs: &[u8]) {
    assert!(len <= stride, "row length {len} exceeds stride {stride}");
    assert!(coefs.get(dst).is_none_or(|&c| c == 0), "row feeds itself");
    let rows = coefs.len().max(dst + 1);
    assert!(matrix.len() >= (rows - 1) * stride + len, "matrix too short");
    let base = matrix.as_mut_ptr();
    // SAFETY: all rows touched lie in `matrix` (asserted); the destination row
    // `dst` is excluded from the sources (coefs[dst] == 0) and rows are
    // `stride >= len` apart, so no source range overlaps the destination; the
    // exclusive borrow of `matrix` rules out any other alias.
    unsafe {
        combine_raw(
            Backend::active(),
            base.add(dst * stride),
            len,
            DstMode::for_coefficient(d),
            base,
            stride,
            coefs,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use alloc::vec::Vec;

    /// Shift-and-add multiplication, independent of every table.
    fn slow_mul(mut a: u8, mut b: u8) -> u8 {
        let mut p = 0;
        while b != 0 {
            if b & 1 != 0 {
                p ^= a;
            }
            a = xtime(a);
            b >>= 1;
        }
        p
    }

    /// The log/exp-table reference the kernels are checked against.
    fn ref_mul(a: u8, b: u8) -> u8 {
        if a == 0 || b == 0 {
            0
        } else {
            EXP[LOG[a as usize] as usize + LOG[b as usize] as usize]
        }
    }

    #[test]
    fn tables_match_shift_and_add() {
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                let want = slow_mul(a, b);
                assert_eq!(ref_mul(a, b), want, "{a}·{b}");
                assert_eq!(mul(a, b), want, "{a}·{b}");
            }
        }
    }

    #[test]
    fn generator_spans_the_group_and_inverses_invert() {
        let mut seen = [false; 256];
        for &e in &EXP[..255] {
            assert!(!seen[e as usize], "3 is not a generator");
            seen[e as usize] = true;
        }
        assert_eq!(EXP[1], 3);
        assert_eq!(inv(0), None);
        for a in 1..=255u8 {
            assert_eq!(mul(a, inv(a).unwrap()), 1);
        }
    }

    /// Deterministic bytes without pulling an RNG into unit tests.
    fn bytes(len: usize, salt: u64) -> Vec<u8> {
        let mut s = salt.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..len)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (s >> 24) as u8
            })
            .collect()
    }

    fn lengths() -> impl Iterator<Item = usize> {
        let random: Vec<usize> = bytes(40, 99)
            .chunks(2)
            .map(|p| 300 + (usize::from(p[0]) << 8 | usize::from(p[1])) % 9000)
            .collect();
        (0..=300).chain(random)
    }

    #[test]
    fn every_backend_every_coefficient_every_length_single_source() {
        for backend in Backend::available() {
            for len in lengths() {
                let src = bytes(len, len as u64);
                let orig = bytes(len, len as u64 + 7);
                // Every coefficient at every length up to 300; eight
                // spread coefficients at the long random lengths.
                let coefs: Vec<u8> = if len <= 300 {
                    (0..=255).collect()
                } else {
                    (0..8).map(|j| (len * 31 + j * 37) as u8).collect()
                };
                for c in coefs {
                    let want_mul: Vec<u8> = src.iter().map(|&s| ref_mul(c, s)).collect();
                    let want_acc: Vec<u8> = orig.iter().zip(&want_mul).map(|(o, m)| o ^ m).collect();
                    let want_scale: Vec<u8> = orig.iter().map(|&o| ref_mul(c, o)).collect();

                    let mut d = orig.clone();
                    combine_with(backend, &mut d, DstMode::Accumulate, &src, len, &[c]);
                    assert_eq!(d, want_acc, "{backend:?} acc c={c} len={len}");

                    let mut d = orig.clone();
                    combine_with(backend, &mut d, DstMode::Overwrite, &src, len, &[c]);
                    assert_eq!(d, want_mul, "{backend:?} mul c={c} len={len}");

                    let mut d = orig.clone();
                    combine_with(backend, &mut d, DstMode::for_coefficient(c), &[], 0, &[]);
                    assert_eq!(d, want_scale, "{backend:?} scale c={c} len={len}");
                }
            }
        }
    }

    #[test]
    fn every_backend_fused_multi_source_with_each_dst_mode() {
        for backend in Backend::available() {
            for (n, len) in [
                (1, 0),
                (3, 5),
                (5, 31),
                (7, 32),
                (16, 33),
                (32, 200),
                (64, 1500),
                (9, 1501),
                (255, 300),
                (3, 4095),
            ] {
                let stride = len + (n % 3);
                let rows = bytes(n * stride, (n * len) as u64);
                let mut coefs = bytes(n, len as u64 + 1);
                coefs[0] = 0; // zero coefficients must be skipped, not misapplied
                let orig = bytes(len, 3);
                for d in [0u8, 1, 2, 0x53, 255] {
                    let mut want: Vec<u8> = orig.iter().map(|&o| ref_mul(d, o)).collect();
                    for (i, &c) in coefs.iter().enumerate() {
                        for (w, &s) in want.iter_mut().zip(&rows[i * stride..][..len]) {
                            *w ^= ref_mul(c, s);
                        }
                    }
                    let mut got = orig.clone();
                    combine_with(backend, &mut got, DstMode::for_coefficient(d), &rows, stride, &coefs);
                    assert_eq!(got, want, "{backend:?} n={n} len={len} d={d}");
                }
            }
        }
    }

    #[test]
    fn every_backend_multi_output_matches_reference() {
        for backend in Backend::available() {
            for (outputs, n, len) in [
                (1, 1, 31),
                (4, 3, 32),
                (5, 7, 63),
                (6, 32, 64),
                (3, 16, 1500),
                (9, 5, 1501),
                (2, 255, 100),
                (4, 2, 0),
            ] {
                let stride = len + 3;
                let dst_stride = len + 5;
                let rows = bytes(n * stride, (n + len) as u64);
                let mut coefs = bytes(outputs * n, len as u64 + 9);
                coefs[0] = 0;
                let mut got = vec![0xEEu8; outputs * dst_stride];
                let orig = got.clone();
                check_multi(got.len(), dst_stride, len, rows.len(), stride, &coefs, n);
                // SAFETY: shapes checked; `got` and `rows` are distinct.
                unsafe {
                    multi_raw(
                        backend,
                        false,
                        got.as_mut_ptr(),
                        dst_stride,
                        len,
                        rows.as_ptr(),
                        stride,
                        &coefs,
                        n,
                        outputs,
                    )
                }
                let mut acc = orig.clone();
                // SAFETY: as above.
                unsafe {
                    multi_raw(
                        backend,
                        true,
                        acc.as_mut_ptr(),
                        dst_stride,
                        len,
                        rows.as_ptr(),
                        stride,
                        &coefs,
                        n,
                        outputs,
                    )
                }
                for m in 0..outputs {
                    let mut want = vec![0u8; len];
                    for i in 0..n {
                        for (w, &s) in want.iter_mut().zip(&rows[i * stride..][..len]) {
                            *w ^= ref_mul(coefs[m * n + i], s);
                        }
                    }
                    let out = &got[m * dst_stride..][..dst_stride];
                    assert_eq!(out[..len], want[..], "{backend:?} M={outputs} n={n} len={len} m={m}");
                    assert!(out[len..].iter().all(|&b| b == 0xEE), "wrote past len");
                }
            }
        }
    }

    #[test]
    fn every_backend_multi_output_every_coefficient_every_length() {
        // 4 outputs × 4 sources = 16 coefficients per call; 16 calls per
        // length cover all 256 coefficients, for every length 0..=300 and
        // both destination modes.
        for backend in Backend::available() {
            for len in 0..=300 {
                let stride = len + 1;
                let rows = bytes(4 * stride, len as u64);
                for round in 0..16u8 {
                    let coefs: Vec<u8> = (0..16).map(|j| round * 16 + j).collect();
                    for accumulate in [false, true] {
                        let mut got = bytes(4 * stride, 1000 + len as u64);
                        let orig = got.clone();
                        // SAFETY: four outputs and four sources of `len`
                        // bytes, `stride` apart, in two distinct buffers.
                        unsafe {
                            multi_raw(
                                backend,
                                accumulate,
                                got.as_mut_ptr(),
                                stride,
                                len,
                                rows.as_ptr(),
                                stride,
                                &coefs,
                                4,
                                4,
                            )
                        }
                        for m in 0..4 {
                            for b in 0..len {
                                let mut want = if accumulate { orig[m * stride + b] } else { 0 };
                                for i in 0..4 {
                                    want ^= ref_mul(coefs[m * 4 + i], rows[i * stride + b]);
                                }
                                assert_eq!(got[m * stride + b], want, "{backend:?} len={len} m={m} b={b}");
                            }
                            assert_eq!(got[m * stride + len], orig[m * stride + len], "wrote past len");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn every_backend_eliminates_alike() {
        let (k, stride) = (40, 64);
        // An echelon matrix: row p zero before p, 1 at p; some rows absent,
        // some exactly unit.
        let mut rows = bytes(k * stride, 77);
        let present: Vec<bool> = (0..k).map(|p| p % 5 != 3).collect();
        let unit: Vec<bool> = (0..k).map(|p| p % 7 == 0).collect();
        for p in 0..k {
            let row = &mut rows[p * stride..(p + 1) * stride];
            row[..p].fill(0);
            row[p] = 1;
            row[k..].fill(0);
            if unit[p] {
                row[p + 1..].fill(0);
            }
        }
        for seed in 0..20 {
            let mut v0 = bytes(stride, seed);
            v0[k..].fill(0);
            let mut results = Vec::new();
            for backend in Backend::available() {
                let mut v = v0.clone();
                let mut mult = vec![0u8; k];
                let q = eliminate_with(backend, &mut v, &rows, stride, &present, &unit, 0, &mut mult);
                // v0 = reduced + Σ mult[p]·row p, and reduced is zero before q.
                let mut rebuilt = v.clone();
                for (p, &m) in mult.iter().enumerate() {
                    for (r, &x) in rebuilt.iter_mut().zip(&rows[p * stride..(p + 1) * stride]) {
                        *r ^= ref_mul(m, x);
                    }
                }
                assert_eq!(rebuilt, v0, "{backend:?}");
                let end = q.unwrap_or(k);
                assert!(v[..end].iter().all(|&b| b == 0), "{backend:?}");
                results.push((q, v, mult));
            }
            assert!(results.windows(2).all(|w| w[0] == w[1]), "backends disagree");
        }
    }

    #[test]
    fn all_zero_coefficients_overwrite_with_zero() {
        for backend in Backend::available() {
            let mut d = vec![7u8; 77];
            combine_with(backend, &mut d, DstMode::Overwrite, &[1; 77 * 2], 77, &[0, 0]);
            assert_eq!(d, vec![0; 77], "{backend:?}");
        }
    }

    #[test]
    fn combine_rows_into_uses_other_rows_only() {
        let (stride, len) = (40, 37);
        let mut m = bytes(4 * stride, 5);
        let before = m.clone();
        let coefs = [3, 0, 9, 200];
        combine_rows_into(&mut m, stride, len, 1, 0x1D, &coefs);
        for j in 0..len {
            let mut want = ref_mul(0x1D, before[stride + j]);
            for (i, &c) in coefs.iter().enumerate() {
                want ^= ref_mul(c, before[i * stride + j]);
            }
            assert_eq!(m[stride + j], want, "byte {j}");
        }
        assert_eq!(m[..stride], before[..stride]);
        assert_eq!(m[2 * stride..], before[2 * stride..]);
        assert_eq!(m[stride + len..2 * stride], before[stride + len..2 * stride]);
    }

    #[test]
    #[should_panic(expected = "feeds itself")]
    fn combine_rows_into_rejects_self_feed() {
        let mut m = [0u8; 8];
        combine_rows_into(&mut m, 4, 4, 0, 1, &[1, 0]);
    }
}
