//! GF(2^8) arithmetic over the polynomial x⁸+x⁴+x³+x+1 (0x11B), the one
//! x86 GFNI multiplies in natively.
//!
//! Scalar helpers ([`mul`], [`inv`]) use tables; the slice kernels
//! ([`mul_acc`], [`mul_slice`], [`scale`], [`lin_comb`], [`lin_comb_multi`])
//! go through the [`Backend`] chosen once per process: the fastest the CPU
//! has (run-time detection with the `std` feature, compile-time
//! `target_feature`s without).
//!
//! Every backend computes the same thing, a matrix product over byte rows:
//! `dst[m] = mode(dst[m]) ⊕ Σᵢ c[m][i]·src[i]`. SIMD backends compute it in
//! register tiles of several outputs × several vectors: each source vector
//! is loaded once and multiplied into every output of the tile, which is
//! what makes dense coding bound by the multiplier instead of by loads.
//! Backends, slowest first: portable; SSSE3; GFNI on 16-byte vectors; AVX2;
//! AVX-512BW; GFNI on 32-byte vectors; GFNI on 64-byte vectors with
//! `vpternlogq` (one `vgf2p8affineqb` multiplies 64 bytes by a constant;
//! its 8 × 2 tiles run at about 0.9 of a register-only loop of the same
//! instructions on Zen 4, see BENCHMARKS.md). `SLUICEGATE_RLNC_KERNEL=<name>`
//! in the environment, or [`Backend::activate`], picks another available
//! one.

mod backend;
#[cfg(target_arch = "x86_64")]
mod lanes;
mod portable;
mod tables;
#[cfg(test)]
mod tests;
#[cfg(target_arch = "x86_64")]
mod x86;

pub use backend::{Backend, Unavailable};
use backend::{Kernels, active_kernels};
use tables::{EXP, LOG, MUL};

/// The field polynomial x⁸+x⁴+x³+x+1 (AES, GFNI).
pub const POLY: u16 = 0x11B;

/// a · b in GF(2^8).
#[inline]
pub fn mul(a: u8, b: u8) -> u8 {
    MUL[usize::from(a)][usize::from(b)]
}

/// The multiplicative inverse of `a`; `None` for 0, which has none.
#[inline]
pub fn inv(a: u8) -> Option<u8> {
    (a != 0).then(|| EXP[255 - usize::from(LOG[usize::from(a)])])
}

/// Bytes multiply-accumulated by `rounds` rounds of the 64-byte GFNI
/// register-only loop (no loads or stores): the multiplier's bound on this
/// machine. `None` without GFNI and AVX-512BW.
#[cfg(feature = "std")]
pub fn gfni_peak_loop(rounds: u64) -> Option<u64> {
    #[cfg(target_arch = "x86_64")]
    if Backend::available().any(|b| b == Backend::Gfni512) {
        // SAFETY: the Gfni512 backend is available only with GFNI,
        // AVX-512F and AVX-512BW.
        return Some(unsafe { x86::gfni_peak(rounds) });
    }
    let _ = rounds;
    None
}

/// What a product does with the destination's previous contents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DstMode {
    /// dst = Σ cᵢ·srcᵢ
    Overwrite,
    /// dst ^= Σ cᵢ·srcᵢ
    Accumulate,
    /// dst = d·dst ⊕ Σ cᵢ·srcᵢ
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

/// The one operation every backend implements:
/// `dst[m] = mode(dst[m]) ⊕ Σᵢ coefs[m·n + i]·src[i]` over `len` bytes for
/// every output `m < outputs`, output `m` at `dst + m·dst_stride`, source
/// `i < n` where [`Sources`] says (`n` may be 0: then only the mode
/// applies).
///
/// Contract (what makes running a kernel on it sound): `coefs.len() ==
/// outputs·n`; every output is valid for `len` reads and writes and
/// outputs do not overlap each other; a source is read only if one of its
/// coefficients in the call is non-zero, and every such source is valid for
/// `len` reads and overlaps no output.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Product<'a> {
    dst: *mut u8,
    dst_stride: usize,
    len: usize,
    mode: DstMode,
    sources: Sources<'a>,
    coefs: &'a [u8],
    n: usize,
    outputs: usize,
}

/// Where a product's sources are.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Sources<'a> {
    /// Source `i` at `base + i·stride`.
    Strided { base: *const u8, stride: usize },
    /// Source `i` at `list[i]`.
    List(&'a [*const u8]),
}

impl Sources<'_> {
    /// Where source `i` starts.
    ///
    /// # Safety
    /// `i` must be a source of the product (`i < n`).
    #[inline(always)]
    unsafe fn row(&self, i: usize) -> *const u8 {
        match *self {
            // Wrapping: only sources with a non-zero coefficient are
            // guaranteed to exist.
            Sources::Strided { base, stride } => base.wrapping_add(i * stride),
            // SAFETY: `i < n == list.len()` (caller).
            Sources::List(list) => unsafe { *list.get_unchecked(i) },
        }
    }
}

impl Product<'_> {
    /// Run `kernels`' product.
    ///
    /// # Safety
    /// `self` must satisfy the contract in the type's documentation, and
    /// `kernels` belong to an available backend.
    #[inline]
    unsafe fn run(&self, kernels: &Kernels) {
        // SAFETY: forwarded contract.
        unsafe { (kernels.product)(self) }
    }
}

/// Checks a slice-level product and returns the number of outputs: `n`
/// sources of `len` bytes `stride` apart inside `rows`, `coefs.len() / n`
/// outputs `dst_stride` apart inside `dst`.
fn check_product(
    dst_len: usize,
    dst_stride: usize,
    len: usize,
    rows_len: usize,
    stride: usize,
    coefs: &[u8],
    n: usize,
) -> usize {
    let outputs = check_outputs(dst_len, dst_stride, len, coefs, n);
    if outputs > 0 {
        assert!(len <= stride || n == 1, "len {len} exceeds stride {stride}");
        assert!(rows_len >= (n - 1) * stride + len, "rows too short");
    }
    outputs
}

/// Checks the outputs of a slice-level product and returns how many:
/// `coefs.len() / n` of `len` bytes, `dst_stride` apart inside `dst`.
fn check_outputs(dst_len: usize, dst_stride: usize, len: usize, coefs: &[u8], n: usize) -> usize {
    assert!(
        n > 0 && coefs.len().is_multiple_of(n),
        "coefficients are not M rows of n"
    );
    let outputs = coefs.len() / n;
    if outputs > 0 {
        assert!(
            len <= dst_stride || outputs == 1,
            "len {len} exceeds dst_stride {dst_stride}"
        );
        assert!(dst_len >= (outputs - 1) * dst_stride + len, "dst too short");
    }
    outputs
}

/// `dst[m·dst_stride ..][..len] = mode(…) ⊕ Σᵢ coefs[m·n + i] ·
/// rows[i·stride ..][..len]`, for every `m < coefs.len() / n`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn product(
    dst: &mut [u8],
    dst_stride: usize,
    len: usize,
    mode: DstMode,
    rows: &[u8],
    stride: usize,
    coefs: &[u8],
    n: usize,
) {
    product_with(active_kernels(), dst, dst_stride, len, mode, rows, stride, coefs, n);
}

/// [`product`] on given kernels (tests compare backends side by side).
#[allow(clippy::too_many_arguments)]
fn product_with(
    kernels: &Kernels,
    dst: &mut [u8],
    dst_stride: usize,
    len: usize,
    mode: DstMode,
    rows: &[u8],
    stride: usize,
    coefs: &[u8],
    n: usize,
) {
    let outputs = check_product(dst.len(), dst_stride, len, rows.len(), stride, coefs, n);
    let p = Product {
        dst: dst.as_mut_ptr(),
        dst_stride,
        len,
        mode,
        sources: Sources::Strided {
            base: rows.as_ptr(),
            stride,
        },
        coefs,
        n,
        outputs,
    };
    // SAFETY: `check_product` proved every output inside `dst` and every
    // source inside `rows`, outputs `dst_stride >= len` apart; `dst` is an
    // exclusive borrow and `rows` a shared one, so no source overlaps an
    // output; `kernels` come from an available backend.
    unsafe { p.run(kernels) }
}

/// [`product`] with each source its own slice (up to 256 of them):
/// `dst[m·dst_stride ..][..len] = mode(…) ⊕ Σᵢ coefs[m·n + i] · sources[i][..len]`,
/// `n = sources.len()`.
///
/// # Panics
/// If a source is shorter than `len`, there are more than 256, or `dst` and
/// `coefs` do not hold `coefs.len() / n` outputs.
pub(crate) fn product_of_slices(
    dst: &mut [u8],
    dst_stride: usize,
    len: usize,
    mode: DstMode,
    sources: &[&[u8]],
    coefs: &[u8],
) {
    let n = sources.len();
    assert!(n <= 256, "at most 256 sources");
    assert!(sources.iter().all(|s| s.len() >= len), "a source is shorter than {len}");
    let outputs = check_outputs(dst.len(), dst_stride, len, coefs, n);
    let mut list = [core::ptr::null::<u8>(); 256];
    for (l, s) in list.iter_mut().zip(sources) {
        *l = s.as_ptr();
    }
    let p = Product {
        dst: dst.as_mut_ptr(),
        dst_stride,
        len,
        mode,
        sources: Sources::List(&list[..n]),
        coefs,
        n,
        outputs,
    };
    // SAFETY: every source is a shared slice of at least `len` bytes, so it
    // is readable and cannot overlap the exclusive `dst`, which holds every
    // output (`check_product`); the active backend is available.
    unsafe { p.run(active_kernels()) }
}

/// `dst ^= c · src`.
///
/// # Panics
/// If the lengths differ.
pub fn mul_acc(dst: &mut [u8], src: &[u8], c: u8) {
    assert_eq!(dst.len(), src.len(), "mul_acc length mismatch");
    let len = dst.len();
    product(dst, len, len, DstMode::Accumulate, src, len, &[c], 1);
}

/// `dst = c · src`.
///
/// # Panics
/// If the lengths differ.
pub fn mul_slice(dst: &mut [u8], src: &[u8], c: u8) {
    assert_eq!(dst.len(), src.len(), "mul_slice length mismatch");
    let len = dst.len();
    product(dst, len, len, DstMode::Overwrite, src, len, &[c], 1);
}

/// `buf = c · buf`, in place.
pub fn scale(buf: &mut [u8], c: u8) {
    if c == 1 {
        return;
    }
    let len = buf.len();
    let p = Product {
        dst: buf.as_mut_ptr(),
        dst_stride: len,
        len,
        mode: DstMode::for_coefficient(c),
        sources: Sources::List(&[]),
        coefs: &[],
        n: 0,
        outputs: 1,
    };
    // SAFETY: one output, the exclusive `buf`; no sources are read; the
    // active backend is available.
    unsafe { p.run(active_kernels()) }
}

/// `dst = Σ coefs[i] · rows[i·stride ..][..dst.len()]`: one coded symbol,
/// each destination vector loaded and stored once however many sources feed
/// it; zero coefficients are skipped.
///
/// # Panics
/// If `dst.len() > stride` with more than one row, or `rows` is too short for
/// `coefs.len()` rows.
pub fn lin_comb(dst: &mut [u8], rows: &[u8], stride: usize, coefs: &[u8]) {
    let len = dst.len();
    if coefs.is_empty() {
        dst.fill(0);
        return;
    }
    product(dst, len, len, DstMode::Overwrite, rows, stride, coefs, coefs.len());
}

/// Outputs the coders batch per [`lin_comb_multi`] call: two 8-output GFNI
/// register tiles, with their coefficient table (up to 255 bytes per output)
/// still on the stack.
pub(crate) const MULTI_BATCH: usize = 16;

/// Several outputs at once: `dst[m·dst_stride ..][..len] =
/// Σᵢ coefs[m·n + i] · rows[i·stride ..][..len]` for `m < coefs.len() / n`.
/// Much faster than one [`lin_comb`] per output: each source vector is
/// loaded once for a whole register tile of outputs.
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
    product(dst, dst_stride, len, DstMode::Overwrite, rows, stride, coefs, n);
}

/// Forward elimination of one coefficient vector against a row-echelon
/// matrix, as the decoder needs it, with every row operation also applied
/// to a second vector and matrix alongside (the decoder's transform: which
/// packets make each row); built only through [`Elimination::new`], which
/// checks the shapes the kernels rely on.
#[derive(Debug)]
pub(crate) struct Elimination<'a> {
    vector: &'a mut [u8],
    rows: &'a [u8],
    stride: usize,
    present: &'a [bool],
    unit: &'a [bool],
    from: usize,
    alongside: &'a mut [u8],
    alongside_rows: &'a [u8],
}

/// Row strides of an [`Elimination`] are whole multiples of the widest
/// vector, so row operations never need a tail.
pub(crate) const ELIMINATION_ALIGN: usize = 64;

impl<'a> Elimination<'a> {
    /// Row `p` (at `p·stride` in `rows`) exists if `present[p]`, is zero
    /// before column `p` and 1 at `p`, and is exactly eₚ if `unit[p]`; row
    /// `p` of `alongside_rows` is its companion.
    ///
    /// # Panics
    /// If `stride` is not a multiple of [`ELIMINATION_ALIGN`] or more than
    /// 256, either vector's length is not `stride`, `present.len() > stride`,
    /// `unit` is shorter than `present`, or either matrix holds fewer than
    /// `present.len()` rows.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        vector: &'a mut [u8],
        rows: &'a [u8],
        stride: usize,
        present: &'a [bool],
        unit: &'a [bool],
        from: usize,
        alongside: &'a mut [u8],
        alongside_rows: &'a [u8],
    ) -> Elimination<'a> {
        let k = present.len();
        assert!(stride.is_multiple_of(ELIMINATION_ALIGN) && stride <= 256 && k <= stride);
        assert!(vector.len() == stride && alongside.len() == stride && unit.len() >= k);
        assert!(rows.len() >= k * stride && alongside_rows.len() >= k * stride);
        Elimination {
            vector,
            rows,
            stride,
            present,
            unit,
            from,
            alongside,
            alongside_rows,
        }
    }

    /// Visit columns `from..` in order; at each existing row p meeting a
    /// non-zero entry c, subtract c·row p from the vector
    /// (`row_op(vector[start..], row[start..], c)`, `start` the pivot
    /// rounded down to [`ELIMINATION_ALIGN`]) and c·companion p from the
    /// companion (`row_op(alongside, companion, c)`). Returns the first
    /// non-zero column with no row, or `None` if the vector reduced to zero.
    #[inline(always)]
    fn reduce(&mut self, mut row_op: impl FnMut(&mut [u8], &[u8], u8)) -> Option<usize> {
        let stride = self.stride;
        for p in self.from..self.present.len() {
            let c = self.vector[p];
            if c == 0 {
                continue;
            }
            if !self.present[p] {
                return Some(p);
            }
            let row = p * stride..(p + 1) * stride;
            row_op(self.alongside, &self.alongside_rows[row.clone()], c);
            if self.unit[p] {
                self.vector[p] = 0;
            } else {
                let start = p & !(ELIMINATION_ALIGN - 1);
                row_op(&mut self.vector[start..], &self.rows[row.start + start..row.end], c);
            }
        }
        None
    }

    /// Run the active backend's elimination; see [`Elimination::reduce`].
    pub(crate) fn run(self) -> Option<usize> {
        self.run_with(active_kernels())
    }

    /// Run `kernels`' elimination.
    fn run_with(mut self, kernels: &Kernels) -> Option<usize> {
        // SAFETY: every `Kernels` reachable belongs to an available backend.
        unsafe { (kernels.eliminate)(&mut self) }
    }
}
