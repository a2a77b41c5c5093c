//! Kernels written once over a SIMD vector type ([`Lanes`]) and stamped out
//! per instruction set in `x86.rs`: the register-tiled product, the
//! elimination row operation and the register-only peak loop.
//!
//! The product keeps a tile of M outputs × B vectors in registers and walks
//! the sources: each source vector is loaded once and multiplied into all M
//! outputs, so a tile needs one load per M products and the multiplier, not
//! memory, sets the pace. Sources are taken in blocks of [`SOURCE_BLOCK`]
//! whose non-zero columns (and, for lanes with few registers, prepared
//! factors) sit in small stack tables; columns with only zero coefficients
//! are skipped.

use core::array::from_fn;

use super::{DstMode, ELIMINATION_ALIGN, Elimination, Product};

/// Sources per block (a factor table of bit matrices is then 4 KiB at
/// M = 8, in L1 next to the data).
const SOURCE_BLOCK: usize = 64;

/// The widest vector any backend uses; buffers for partial vectors.
const MAX_WIDTH: usize = 64;

/// One SIMD flavour: its vector, how it multiplies by a constant, how it
/// loads and stores, and its register tile shapes.
///
/// Every `unsafe` method below executes the implementation's instructions.
/// Callers must be compiled with the implementation's target features (the
/// backend's `#[target_feature]` entry points, into which all of this is
/// inlined) and run on a CPU that has them; pointer arguments must be valid
/// for `WIDTH` bytes, or `n` bytes for the `_part` methods.
pub(super) trait Lanes: Copy {
    /// Bytes per vector.
    const WIDTH: usize;
    /// Partial vectors are loaded and stored under a mask (AVX-512); without
    /// masks the last vector of a row overlaps the one before it.
    const MASKED: bool;
    /// Sources are consumed in pairs (`mul_add2` is cheaper than two
    /// `mul_add`s and there are registers for both operands).
    const PAIRS: bool;
    /// The most outputs one tile holds.
    const OUTPUTS: usize;
    /// Prepare each tile's factors in a table before its columns, instead
    /// of looking each coefficient up where it is used: with 16 vector
    /// registers the lookups' addresses spill (GFNI on 32-byte vectors:
    /// 137 GB/s with the table, 95 without); with 32 the table costs more
    /// than it saves (64-byte GFNI: 194 → 204 GB/s without it).
    const FACTOR_TABLE: bool;
    /// A coefficient as stored in the per-block table.
    type Factor: Copy + Default;
    /// A source vector ready to be multiplied by several factors.
    type Operand: Copy;
    /// A factor ready to multiply.
    type Splat: Copy;

    /// Prepare coefficient `c` for the table.
    fn factor(c: u8) -> Self::Factor;
    /// # Safety
    /// See the trait documentation.
    unsafe fn splat(f: Self::Factor) -> Self::Splat;
    /// # Safety
    /// See the trait documentation.
    unsafe fn operand(v: Self) -> Self::Operand;
    /// The product `f · x`, byte by byte.
    ///
    /// # Safety
    /// See the trait documentation.
    unsafe fn mul(x: Self::Operand, f: Self::Splat) -> Self;
    /// # Safety
    /// See the trait documentation.
    unsafe fn zero() -> Self;
    /// # Safety
    /// See the trait documentation.
    unsafe fn xor(a: Self, b: Self) -> Self;
    /// `acc ⊕ f·x`.
    ///
    /// # Safety
    /// See the trait documentation.
    #[inline(always)]
    unsafe fn mul_add(acc: Self, x: Self::Operand, f: Self::Splat) -> Self {
        // SAFETY: forwarded contract.
        unsafe { Self::xor(acc, Self::mul(x, f)) }
    }
    /// `acc ⊕ f0·x0 ⊕ f1·x1`.
    ///
    /// # Safety
    /// See the trait documentation.
    #[inline(always)]
    unsafe fn mul_add2(acc: Self, x0: Self::Operand, f0: Self::Splat, x1: Self::Operand, f1: Self::Splat) -> Self {
        // SAFETY: forwarded contract.
        unsafe { Self::mul_add(Self::mul_add(acc, x0, f0), x1, f1) }
    }
    /// # Safety
    /// See the trait documentation.
    unsafe fn load(p: *const u8) -> Self;
    /// # Safety
    /// See the trait documentation.
    unsafe fn store(p: *mut u8, v: Self);
    /// The first `n < WIDTH` bytes at `p`, the rest zero.
    ///
    /// # Safety
    /// See the trait documentation.
    #[inline(always)]
    unsafe fn load_part(p: *const u8, n: usize) -> Self {
        let mut buf = [0u8; MAX_WIDTH];
        // SAFETY: `p` is valid for `n <= WIDTH <= MAX_WIDTH` reads; the
        // buffer holds a whole vector.
        unsafe {
            core::ptr::copy_nonoverlapping(p, buf.as_mut_ptr(), n);
            Self::load(buf.as_ptr())
        }
    }
    /// Store the first `n < WIDTH` bytes of `v` at `p`.
    ///
    /// # Safety
    /// See the trait documentation.
    #[inline(always)]
    unsafe fn store_part(p: *mut u8, n: usize, v: Self) {
        let mut buf = [0u8; MAX_WIDTH];
        // SAFETY: the buffer holds a whole vector; `p` is valid for `n`
        // writes.
        unsafe {
            Self::store(buf.as_mut_ptr(), v);
            core::ptr::copy_nonoverlapping(buf.as_ptr(), p, n);
        }
    }
    /// Compute outputs `first..first + outputs` of `p` (1 ≤ outputs ≤
    /// `OUTPUTS`) in one register tile; see [`tile`].
    ///
    /// # Safety
    /// See the trait documentation, and `p` satisfies [`Product`]'s contract.
    unsafe fn tile(p: &Product<'_>, first: usize, outputs: usize);
}

/// Implements [`Lanes::tile`] from a table of outputs → vectors per tile.
macro_rules! tiles {
    ($($m:literal => $b:literal),+ $(,)?) => {
        const OUTPUTS: usize = {
            let shapes = [$($m),+];
            shapes[shapes.len() - 1]
        };

        #[inline(always)]
        unsafe fn tile(p: &Product<'_>, first: usize, outputs: usize) {
            match outputs {
                // SAFETY: forwarded contract.
                $($m => unsafe { super::lanes::tile::<Self, $m, $b>(p, first) },)+
                _ => unreachable!("no tile for {outputs} outputs"),
            }
        }
    };
}
pub(super) use tiles;

/// The whole product, in tiles of at most `L::OUTPUTS` outputs of nearly
/// equal size (9 outputs are 5 + 4, not 8 + 1: a one-output tile re-reads
/// every source for one output).
///
/// # Safety
/// See [`Lanes`]; `p` satisfies [`Product`]'s contract.
#[inline(always)]
pub(super) unsafe fn product<L: Lanes>(p: &Product<'_>) {
    // One short output: the whole row stays in registers (see `short`).
    let vectors = p.len.div_ceil(L::WIDTH);
    if p.outputs == 1 && (1..=4).contains(&vectors) && (L::MASKED || p.len.is_multiple_of(L::WIDTH)) {
        // SAFETY: forwarded contract; the row is `vectors` vectors long.
        unsafe {
            match vectors {
                1 => short::<L, 1>(p),
                2 => short::<L, 2>(p),
                3 => short::<L, 3>(p),
                _ => short::<L, 4>(p),
            }
        }
        return;
    }
    let tiles = p.outputs.div_ceil(L::OUTPUTS);
    let mut first = 0;
    for t in 0..tiles {
        let outputs = (p.outputs - first).div_ceil(tiles - t);
        // SAFETY: forwarded contract; 1 <= outputs <= OUTPUTS.
        unsafe { L::tile(p, first, outputs) };
        first += outputs;
    }
}

/// A single output of `V` vectors or fewer (a coefficient row, K ≤ 256
/// bytes) held in registers while the sources stream past, one table lookup
/// per non-zero coefficient: for such short rows the tile's factor table
/// would cost more than the multiplications. Measured at K = 128 (Zen 4):
/// the decoder's per-packet transform rows took 38 µs per generation
/// through tiles, 7 µs here.
///
/// # Safety
/// See [`Lanes`]; `p` satisfies [`Product`]'s contract with one output of
/// `(V − 1)·WIDTH < len ≤ V·WIDTH` bytes (a multiple of WIDTH unless
/// `MASKED`).
#[inline(always)]
unsafe fn short<L: Lanes, const V: usize>(p: &Product<'_>) {
    let w = L::WIDTH;
    let part = p.len - (V - 1) * w;
    // SAFETY: vectors `b < V − 1` are whole and inside `len`; the last
    // covers `part` bytes, masked when partial.
    unsafe {
        let scale = match p.mode {
            DstMode::Scale(d) => L::splat(L::factor(d)),
            _ => L::splat(L::Factor::default()),
        };
        let mut acc = [L::zero(); V];
        if p.mode != DstMode::Overwrite {
            for (b, a) in acc.iter_mut().enumerate() {
                *a = if b + 1 == V && part < w {
                    init::<L, true>(p.mode, scale, p.dst.add(b * w), part)
                } else {
                    init::<L, false>(p.mode, scale, p.dst.add(b * w), w)
                };
            }
        }
        for (i, &c) in p.coefs[..p.n].iter().enumerate() {
            if c != 0 {
                let f = L::splat(L::factor(c));
                let src = p.sources.row(i);
                for (b, a) in acc.iter_mut().enumerate() {
                    let x = if b + 1 == V && part < w {
                        load::<L, true>(src.add(b * w), part)
                    } else {
                        load::<L, false>(src.add(b * w), w)
                    };
                    *a = L::mul_add(*a, L::operand(x), f);
                }
            }
        }
        for (b, &a) in acc.iter().enumerate() {
            if b + 1 == V && part < w {
                L::store_part(p.dst.add(b * w), part, a);
            } else {
                L::store(p.dst.add(b * w), a);
            }
        }
    }
}

/// Outputs `first..first + M` of `p`, B vectors at a time.
///
/// # Safety
/// See [`Lanes`]; `p` satisfies [`Product`]'s contract and
/// `first + M <= p.outputs`.
#[inline(always)]
pub(super) unsafe fn tile<L: Lanes, const M: usize, const B: usize>(p: &Product<'_>, first: usize) {
    // SAFETY: outputs `first..first + M` exist (caller).
    let dst: [*mut u8; M] = from_fn(|m| unsafe { p.dst.add((first + m) * p.dst_stride) });
    let coefs: [&[u8]; M] = from_fn(|m| &p.coefs[(first + m) * p.n..(first + m + 1) * p.n]);
    let mut sources = [core::ptr::null::<u8>(); SOURCE_BLOCK];
    let mut table = [[L::Factor::default(); M]; SOURCE_BLOCK];
    let table = if L::FACTOR_TABLE {
        &mut table[..]
    } else {
        &mut table[..0]
    };
    let mut mode = p.mode;
    let mut start = 0;
    loop {
        let end = (start + SOURCE_BLOCK).min(p.n);
        // Which columns have a non-zero coefficient in some output: one
        // vectorised pass per output instead of M loads per column.
        let mut any = [0u8; SOURCE_BLOCK];
        for row in &coefs {
            for (a, &c) in any.iter_mut().zip(&row[start..end]) {
                *a |= c;
            }
        }
        let mut columns = [0u8; SOURCE_BLOCK];
        let mut kept = 0;
        for (i, _) in any[..end - start].iter().enumerate().filter(|(_, a)| **a != 0) {
            columns[kept] = i as u8;
            // SAFETY: `start + i < n` is a source of the product.
            sources[kept] = unsafe { p.sources.row(start + i) };
            kept += 1;
        }
        // Output by output: scalar table lookups (as a column, the compiler
        // turns the M lookups into a gather, which costs more than it saves).
        if L::FACTOR_TABLE {
            for (m, row) in coefs.iter().enumerate() {
                let row = &row[start..end];
                for (f, &i) in table.iter_mut().zip(&columns[..kept]) {
                    f[m] = L::factor(row[usize::from(i)]);
                }
            }
        }
        let factors = Factors::<L, M> {
            rows: from_fn(|m| coefs[m][start..end].as_ptr()),
            columns: &columns[..kept],
            table,
        };
        if kept > 0 || mode != DstMode::Accumulate {
            // SAFETY: the kept sources have a non-zero coefficient, so they
            // are readable and apart from the outputs (Product's contract);
            // the kept columns are inside every coefficient row.
            unsafe { columns_of_tile::<L, M, B>(&dst, p.len, mode, &sources[..kept], &factors) };
            mode = DstMode::Accumulate;
        }
        start = end;
        if start >= p.n {
            return;
        }
    }
}

/// The coefficients of a tile's kept columns: output `m`'s coefficient for
/// kept column `i` is `rows[m][columns[i]]`, prepared in `table[i][m]`
/// when the lanes use a factor table ([`Lanes::FACTOR_TABLE`]).
struct Factors<'a, L: Lanes, const M: usize> {
    rows: [*const u8; M],
    columns: &'a [u8],
    table: &'a [[L::Factor; M]],
}

impl<L: Lanes, const M: usize> Factors<'_, L, M> {
    /// Output `m`'s factor for kept column `i`, ready to multiply.
    ///
    /// # Safety
    /// See [`Lanes`]; `i < columns.len()` (and `< table.len()` with a
    /// table), and `rows` point at coefficient rows holding every kept
    /// column.
    #[inline(always)]
    unsafe fn get(&self, i: usize, m: usize) -> L::Splat {
        // SAFETY: forwarded contract.
        unsafe {
            if L::FACTOR_TABLE {
                L::splat(self.table.get_unchecked(i)[m])
            } else {
                L::splat(L::factor(
                    *self.rows[m].add(usize::from(*self.columns.get_unchecked(i))),
                ))
            }
        }
    }
}

/// A tile's starting value at `at`: zero, the destination, or the
/// destination scaled.
///
/// # Safety
/// See [`Lanes`]; `at` valid for `part` reads (`part == WIDTH` when not
/// `PART`) unless the mode is `Overwrite`.
#[inline(always)]
unsafe fn init<L: Lanes, const PART: bool>(mode: DstMode, scale: L::Splat, at: *const u8, part: usize) -> L {
    // SAFETY: forwarded contract.
    unsafe {
        match mode {
            DstMode::Overwrite => L::zero(),
            DstMode::Accumulate => load::<L, PART>(at, part),
            DstMode::Scale(_) => L::mul(L::operand(load::<L, PART>(at, part)), scale),
        }
    }
}

/// Every column of an M-output tile over `sources`.
///
/// # Safety
/// See [`Lanes`]; every `dst[m]` valid for `len` reads and writes, every
/// source valid for `len` reads, no source overlapping an output.
#[inline(always)]
unsafe fn columns_of_tile<L: Lanes, const M: usize, const B: usize>(
    dst: &[*mut u8; M],
    len: usize,
    mode: DstMode,
    sources: &[*const u8],
    factors: &Factors<'_, L, M>,
) {
    let w = L::WIDTH;
    // SAFETY: all offsets below stay inside `len` bytes of each output and
    // source: full vectors end at or before `len`, the overlapping last
    // window is `[len - w, len)` with `len >= w`, partial vectors cover
    // `[off, len)`.
    unsafe {
        let scale = match mode {
            DstMode::Scale(d) => L::splat(L::factor(d)),
            _ => L::splat(L::Factor::default()),
        };
        // Without masks the last vector overlaps the one before; its
        // starting value is read before the main loop overwrites the overlap.
        let overlap = !L::MASKED && len >= w && !len.is_multiple_of(w);
        let mut tail = [L::zero(); M];
        if overlap {
            for (m, t) in tail.iter_mut().enumerate() {
                *t = init::<L, false>(mode, scale, dst[m].add(len - w), w);
            }
        }
        let mut off = 0;
        while off + B * w <= len {
            let mut acc = [[L::zero(); B]; M];
            for (m, a) in acc.iter_mut().enumerate() {
                for (b, v) in a.iter_mut().enumerate() {
                    *v = init::<L, false>(mode, scale, dst[m].add(off + b * w), w);
                }
            }
            accumulate::<L, M, B, false>(&mut acc, off, sources, factors, w);
            for (m, a) in acc.iter().enumerate() {
                for (b, &v) in a.iter().enumerate() {
                    L::store(dst[m].add(off + b * w), v);
                }
            }
            off += B * w;
        }
        while off + w <= len {
            let mut acc = [[L::zero(); 1]; M];
            for (m, a) in acc.iter_mut().enumerate() {
                a[0] = init::<L, false>(mode, scale, dst[m].add(off), w);
            }
            accumulate::<L, M, 1, false>(&mut acc, off, sources, factors, w);
            for (m, a) in acc.iter().enumerate() {
                L::store(dst[m].add(off), a[0]);
            }
            off += w;
        }
        if off == len {
            return;
        }
        if overlap {
            let mut acc = [[L::zero(); 1]; M];
            for (a, &t) in acc.iter_mut().zip(&tail) {
                a[0] = t;
            }
            accumulate::<L, M, 1, false>(&mut acc, len - w, sources, factors, w);
            for (m, a) in acc.iter().enumerate() {
                L::store(dst[m].add(len - w), a[0]);
            }
        } else {
            let part = len - off;
            let mut acc = [[L::zero(); 1]; M];
            for (m, a) in acc.iter_mut().enumerate() {
                a[0] = init::<L, true>(mode, scale, dst[m].add(off), part);
            }
            accumulate::<L, M, 1, true>(&mut acc, off, sources, factors, part);
            for (m, a) in acc.iter().enumerate() {
                L::store_part(dst[m].add(off), part, a[0]);
            }
        }
    }
}

/// `acc[m][b] ^= Σᵢ factor(i, m) · sources[i][off + b·WIDTH ..]`, each
/// source vector loaded once for all M outputs.
///
/// # Safety
/// See [`Lanes`]; every `sources[i] + off` valid for `B·WIDTH` reads
/// (`part` reads if `PART`, then `B == 1`); `factors` holds a column for
/// every source.
#[inline(always)]
unsafe fn accumulate<L: Lanes, const M: usize, const B: usize, const PART: bool>(
    acc: &mut [[L; B]; M],
    off: usize,
    sources: &[*const u8],
    factors: &Factors<'_, L, M>,
    part: usize,
) {
    // SAFETY: forwarded contract; `i` runs over the sources.
    unsafe {
        let mut i = 0;
        if L::PAIRS {
            while i + 2 <= sources.len() {
                let x0 = operands::<L, B, PART>(*sources.get_unchecked(i), off, part);
                let x1 = operands::<L, B, PART>(*sources.get_unchecked(i + 1), off, part);
                for (m, a) in acc.iter_mut().enumerate() {
                    let (s0, s1) = (factors.get(i, m), factors.get(i + 1, m));
                    for (v, (&y0, &y1)) in a.iter_mut().zip(x0.iter().zip(&x1)) {
                        *v = L::mul_add2(*v, y0, s0, y1, s1);
                    }
                }
                i += 2;
            }
        }
        while i < sources.len() {
            let x = operands::<L, B, PART>(*sources.get_unchecked(i), off, part);
            for (m, a) in acc.iter_mut().enumerate() {
                let s = factors.get(i, m);
                for (v, &y) in a.iter_mut().zip(&x) {
                    *v = L::mul_add(*v, y, s);
                }
            }
            i += 1;
        }
    }
}

/// The B vectors at `source + off`, ready to multiply.
///
/// # Safety
/// See [`Lanes`]; `source + off` valid for `B·WIDTH` reads (`part` reads
/// if `PART`, then `B == 1`).
#[inline(always)]
unsafe fn operands<L: Lanes, const B: usize, const PART: bool>(
    source: *const u8,
    off: usize,
    part: usize,
) -> [L::Operand; B] {
    // SAFETY: forwarded contract.
    unsafe {
        let at = source.add(off);
        let mut x = [L::operand(load::<L, PART>(at, part)); B];
        for (b, x) in x.iter_mut().enumerate().skip(1) {
            *x = L::operand(load::<L, PART>(at.add(b * L::WIDTH), part));
        }
        x
    }
}

/// Forward elimination with the row operations done in vectors (the
/// control flow of `Elimination::reduce`, written out so that nothing but
/// inlined code runs between the vector instructions).
///
/// # Safety
/// See [`Lanes`].
#[inline(always)]
pub(super) unsafe fn eliminate<L: Lanes>(e: &mut Elimination<'_>) -> Option<usize> {
    let stride = e.stride;
    for p in e.from..e.present.len() {
        let c = e.vector[p];
        if c == 0 {
            continue;
        }
        if !e.present[p] {
            return Some(p);
        }
        // SAFETY: both vectors hold `stride` bytes and row `p` of either
        // matrix another `stride` (Elimination's checks); `stride` and the
        // start rounded down to ELIMINATION_ALIGN are multiples of WIDTH.
        unsafe {
            let f = L::splat(L::factor(c));
            row_op::<L>(
                e.alongside.as_mut_ptr(),
                e.alongside_rows.as_ptr().add(p * stride),
                stride,
                f,
            );
            if e.unit[p] {
                e.vector[p] = 0;
            } else {
                let start = p & !(ELIMINATION_ALIGN - 1);
                let row = e.rows.as_ptr().add(p * stride + start);
                row_op::<L>(e.vector.as_mut_ptr().add(start), row, stride - start, f);
            }
        }
    }
    None
}

/// `v[..len] ^= f · row[..len]`, `len` a multiple of WIDTH.
///
/// # Safety
/// See [`Lanes`]; `v` valid for `len` reads and writes, `row` for `len`
/// reads.
#[inline(always)]
unsafe fn row_op<L: Lanes>(v: *mut u8, row: *const u8, len: usize, f: L::Splat) {
    let mut off = 0;
    while off < len {
        // SAFETY: `off + WIDTH <= len` (caller).
        unsafe {
            let x = L::mul_add(L::load(v.add(off)), L::operand(L::load(row.add(off))), f);
            L::store(v.add(off), x);
        }
        off += L::WIDTH;
    }
}

/// A whole vector at `at`, or its first `part` bytes (the rest zero).
///
/// # Safety
/// See [`Lanes`]; `at` valid for WIDTH reads, or `part` if `PART`.
#[inline(always)]
unsafe fn load<L: Lanes, const PART: bool>(at: *const u8, part: usize) -> L {
    // SAFETY: forwarded contract.
    unsafe { if PART { L::load_part(at, part) } else { L::load(at) } }
}

/// The register-only multiply-add rate: an M × B tile of accumulators fed
/// from registers, no loads or stores, as many rounds as asked. Returns the
/// bytes multiply-accumulated and a value that depends on every product.
///
/// # Safety
/// See [`Lanes`].
#[cfg(feature = "std")]
#[inline(always)]
pub(super) unsafe fn peak<L: Lanes, const M: usize, const B: usize>(rounds: u64) -> (u64, L) {
    // SAFETY: registers only.
    unsafe {
        let seed = |k: usize| {
            let bytes: [u8; MAX_WIDTH] = from_fn(|j| (j * 31 + k * 17 + 1) as u8);
            L::load(bytes.as_ptr())
        };
        let bump = seed(99);
        let mut x: [[L; B]; 2] = from_fn(|j| from_fn(|b| seed(j * B + b)));
        let splats: [[L::Splat; M]; 2] = from_fn(|j| from_fn(|m| L::splat(L::factor(((j * M + m) * 29 + 3) as u8))));
        let mut acc: [[L; B]; M] = from_fn(|_| from_fn(|_| L::zero()));
        for _ in 0..rounds {
            // Fresh sources every round, as loads would bring them.
            for v in x.iter_mut().flatten() {
                *v = L::xor(*v, bump);
            }
            let ops: [[L::Operand; B]; 2] = x.map(|row| row.map(|v| L::operand(v)));
            for (a, (&s0, &s1)) in acc.iter_mut().zip(splats[0].iter().zip(&splats[1])) {
                for (v, (&y0, &y1)) in a.iter_mut().zip(ops[0].iter().zip(&ops[1])) {
                    *v = L::mul_add2(*v, y0, s0, y1, s1);
                }
            }
        }
        let folded = acc.iter().flatten().fold(L::zero(), |f, &v| L::xor(f, v));
        (rounds * (2 * M * B * L::WIDTH) as u64, folded)
    }
}
