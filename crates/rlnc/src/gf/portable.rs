//! Portable kernels: one 256-byte product-table row per coefficient, one
//! output at a time. Correct everywhere, and the fallback when no SIMD
//! backend is available.

use super::tables::MUL;
use super::{DstMode, Elimination, Product};

/// # Safety
/// As [`Product`]'s contract.
pub(super) unsafe fn product(p: &Product<'_>) {
    for m in 0..p.outputs {
        // SAFETY: output `m` is valid for `len` bytes and overlaps neither
        // another output nor any source read for it (Product's contract);
        // this exclusive slice lives only for this iteration.
        let dst = unsafe { core::slice::from_raw_parts_mut(p.dst.add(m * p.dst_stride), p.len) };
        let mut overwrite = false;
        match p.mode {
            DstMode::Overwrite => overwrite = true,
            DstMode::Accumulate => {}
            DstMode::Scale(d) => {
                let row = &MUL[usize::from(d)];
                dst.iter_mut().for_each(|b| *b = row[usize::from(*b)]);
            }
        }
        for (i, &c) in p.coefs[m * p.n..(m + 1) * p.n].iter().enumerate() {
            if c == 0 {
                continue;
            }
            // SAFETY: a source with a non-zero coefficient is valid for `len`
            // reads and does not overlap the outputs (Product's contract).
            let src = unsafe { core::slice::from_raw_parts(p.sources.row(i), p.len) };
            let row = &MUL[usize::from(c)];
            if overwrite {
                dst.iter_mut().zip(src).for_each(|(d, s)| *d = row[usize::from(*s)]);
                overwrite = false;
            } else {
                dst.iter_mut().zip(src).for_each(|(d, s)| *d ^= row[usize::from(*s)]);
            }
        }
        if overwrite {
            dst.fill(0);
        }
    }
}

/// Safe: the portable kernel needs no CPU feature; `unsafe` only to share
/// the kernel table's signature.
///
/// # Safety
/// None beyond [`Elimination`]'s checked invariants.
pub(super) unsafe fn eliminate(e: &mut Elimination<'_>) -> Option<usize> {
    e.reduce(|vector, row, c| {
        let mul = &MUL[usize::from(c)];
        vector.iter_mut().zip(row).for_each(|(v, r)| *v ^= mul[usize::from(*r)]);
    })
}
