//! Every backend against the log/exp reference, called side by side through
//! each backend's own kernel table (no global switch, so tests running in
//! parallel cannot change which path is under test).

use super::tables::{AFFINE, xtime};
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
        EXP[usize::from(LOG[usize::from(a)]) + usize::from(LOG[usize::from(b)])]
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

fn backends() -> impl Iterator<Item = (Backend, &'static Kernels)> {
    Backend::available().map(|b| (b, b.checked_kernels().expect("available")))
}

/// What `product` must compute, byte by byte with the reference.
#[allow(clippy::too_many_arguments)]
fn reference(
    dst: &mut [u8],
    dst_stride: usize,
    len: usize,
    mode: DstMode,
    rows: &[u8],
    stride: usize,
    coefs: &[u8],
    n: usize,
    outputs: usize,
) {
    for m in 0..outputs {
        for j in 0..len {
            let d = &mut dst[m * dst_stride + j];
            let mut acc = match mode {
                DstMode::Overwrite => 0,
                DstMode::Accumulate => *d,
                DstMode::Scale(c) => ref_mul(c, *d),
            };
            for i in 0..n {
                acc ^= ref_mul(coefs[m * n + i], rows[i * stride + j]);
            }
            *d = acc;
        }
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
        assert!(!seen[usize::from(e)], "3 is not a generator");
        seen[usize::from(e)] = true;
    }
    assert_eq!(EXP[1], 3);
    assert_eq!(inv(0), None);
    for a in 1..=255u8 {
        assert_eq!(mul(a, inv(a).unwrap()), 1);
    }
}

#[test]
fn affine_matrices_multiply_as_gf2p8affineqb_reads_them() {
    // The instruction's definition: result bit i = parity(matrix byte 7 − i
    // AND x); emulated here so the table is checked on any CPU.
    for c in 0..=255u8 {
        let matrix = AFFINE[usize::from(c)].to_le_bytes();
        for x in 0..=255u8 {
            let y = (0..8).fold(0u8, |y, i| y | ((((matrix[7 - i] & x).count_ones() & 1) as u8) << i));
            assert_eq!(y, ref_mul(c, x), "{c}·{x}");
        }
    }
}

#[test]
fn every_backend_all_256x256_products_in_every_mode() {
    // One source holding all 256 byte values, multiplied by all 256
    // constants: every product, through full vectors and a masked or
    // overlapping tail (the source is 256 + 37 bytes long).
    let src: Vec<u8> = (0..=255u8).chain(0..37).collect();
    let len = src.len();
    let orig = bytes(len, 1);
    for (backend, kernels) in backends() {
        for c in 0..=255u8 {
            for mode in [DstMode::Overwrite, DstMode::Accumulate] {
                let mut got = orig.clone();
                product_with(kernels, &mut got, len, len, mode, &src, len, &[c], 1);
                let mut want = orig.clone();
                reference(&mut want, len, len, mode, &src, len, &[c], 1, 1);
                assert_eq!(got, want, "{backend:?} c={c} {mode:?}");
            }
            // Scaling in place multiplies every value of the destination.
            let mut got = src.clone();
            let p = Product {
                dst: got.as_mut_ptr(),
                dst_stride: len,
                len,
                mode: DstMode::Scale(c),
                sources: Sources::List(&[]),
                coefs: &[],
                n: 0,
                outputs: 1,
            };
            // SAFETY: one output (`got`), no sources; the kernels are an
            // available backend's.
            unsafe { p.run(kernels) };
            let want: Vec<u8> = src.iter().map(|&x| ref_mul(c, x)).collect();
            assert_eq!(got, want, "{backend:?} scale c={c}");
        }
    }
}

#[test]
fn every_backend_every_length_to_300_at_misaligned_starts() {
    // 64-byte aligned buffers, so the offsets below are true misalignments
    // for every vector width.
    #[repr(C, align(64))]
    struct Aligned([u8; 512]);
    let mut src = Aligned([0; 512]);
    src.0.copy_from_slice(&bytes(512, 7));
    let mut dst = Aligned([0; 512]);
    for len in 0..=300usize {
        for (a, b) in [(0, 0), (len % 64, (len * 7 + 1) % 64), (63, 1), (17, 45)] {
            let c = (len * 37 + a) as u8 | 1;
            for mode in [DstMode::Overwrite, DstMode::Accumulate, DstMode::Scale(c ^ 0x5A)] {
                let orig = bytes(512, len as u64);
                let window = a..a + len;
                let source = &src.0[b..b + len];
                let mut want = orig.clone();
                reference(&mut want[window.clone()], len, len, mode, source, len, &[c], 1, 1);
                for (backend, kernels) in backends() {
                    dst.0.copy_from_slice(&orig);
                    product_with(
                        kernels,
                        &mut dst.0[window.clone()],
                        len,
                        len,
                        mode,
                        source,
                        len,
                        &[c],
                        1,
                    );
                    assert_eq!(dst.0[..], want[..], "{backend:?} len={len} dst+{a} src+{b} {mode:?}");
                }
            }
        }
    }
}

#[test]
fn every_backend_every_tile_shape_and_source_count() {
    // Outputs 1..=9, 12, 16, 17 cover every tile size and the splitting
    // into tiles; 0..=70 sources cross the 64-source factor blocks; lengths
    // cover empty, sub-vector, whole vectors, the short single-output path,
    // the tile width and ragged tails; padding in both strides must stay
    // untouched.
    let shapes = [
        (0, 1),
        (1, 1),
        (31, 2),
        (64, 3),
        (65, 4),
        (129, 5),
        (200, 7),
        (1500, 3),
        (1501, 1),
    ];
    for outputs in [1usize, 2, 3, 4, 5, 6, 7, 8, 9, 12, 16, 17] {
        for n in [0usize, 1, 2, 3, 7, 64, 65, 70] {
            for &(len, pad) in &shapes {
                if len > 65 && outputs * n > 64 {
                    continue; // long rows: the small shapes are enough
                }
                let (stride, dst_stride) = (len + pad, len + 2 * pad);
                let rows = bytes(n.max(1) * stride, (n * 1000 + len) as u64);
                let mut coefs = bytes(outputs * n, (outputs + len) as u64);
                // A source column of zeros and some single zeros: skipped or
                // multiplied, the result must be the same.
                for m in 0..outputs {
                    if n > 1 {
                        coefs[m * n + 1] = 0;
                    }
                    if n > 0 && m % 3 == 0 {
                        coefs[m * n] = 0;
                    }
                }
                let mode = [DstMode::Overwrite, DstMode::Accumulate, DstMode::Scale(0x8E)][(outputs + n) % 3];
                let orig = bytes(outputs * dst_stride, 3);
                let mut want = orig.clone();
                reference(&mut want, dst_stride, len, mode, &rows, stride, &coefs, n, outputs);
                for (backend, kernels) in backends() {
                    let mut got = orig.clone();
                    let p = Product {
                        dst: got.as_mut_ptr(),
                        dst_stride,
                        len,
                        mode,
                        sources: Sources::Strided {
                            base: rows.as_ptr(),
                            stride,
                        },
                        coefs: &coefs,
                        n,
                        outputs,
                    };
                    // SAFETY: `outputs` rows of `dst_stride >= len` bytes in
                    // `got`, `n` rows of `stride >= len` bytes in `rows`, two
                    // distinct buffers; the kernels are an available backend's.
                    unsafe { p.run(kernels) };
                    assert_eq!(got, want, "{backend:?} M={outputs} n={n} len={len} {mode:?}");
                }
            }
        }
    }
}

#[test]
fn every_backend_eliminates_alike() {
    let (k, stride) = (100, 128);
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
        let from = (seed as usize * 3) % 8;
        let mut results = Vec::new();
        // Identity companions: the companion vector collects each row's
        // multiplier.
        let mut identity = vec![0u8; k * stride];
        for p in 0..k {
            identity[p * stride + p] = 1;
        }
        for (backend, kernels) in backends() {
            let mut v = v0.clone();
            let mut mult = vec![0u8; stride];
            let q =
                Elimination::new(&mut v, &rows, stride, &present, &unit, from, &mut mult, &identity).run_with(kernels);
            // v0 = reduced + Σ mult[p]·row p, and reduced is zero from
            // `from` up to q.
            let mut rebuilt = v.clone();
            for (p, &m) in mult[..k].iter().enumerate() {
                for (r, &x) in rebuilt.iter_mut().zip(&rows[p * stride..(p + 1) * stride]) {
                    *r ^= ref_mul(m, x);
                }
            }
            assert_eq!(rebuilt, v0, "{backend:?}");
            let end = q.unwrap_or(k);
            assert!(v[from..end].iter().all(|&b| b == 0), "{backend:?}");
            if let Some(q) = q {
                assert!(v[q] != 0 && !present[q], "{backend:?}");
            }
            results.push((q, v, mult));
        }
        assert!(results.windows(2).all(|w| w[0] == w[1]), "backends disagree");
    }
}

#[test]
fn slice_helpers_follow_the_active_backend() {
    let src = bytes(1000, 5);
    let mut d = bytes(1000, 6);
    let orig = d.clone();
    mul_acc(&mut d, &src, 0x1D);
    let want: Vec<u8> = orig.iter().zip(&src).map(|(&o, &s)| o ^ ref_mul(0x1D, s)).collect();
    assert_eq!(d, want);
    mul_slice(&mut d, &src, 7);
    assert_eq!(d, src.iter().map(|&s| ref_mul(7, s)).collect::<Vec<_>>());
    scale(&mut d, 0);
    assert!(d.iter().all(|&b| b == 0));
    lin_comb(&mut d, &[], 1000, &[]);
    assert!(d.iter().all(|&b| b == 0));
}

#[test]
fn the_gfni_peak_loop_counts_its_bytes() {
    if let Some(bytes) = gfni_peak_loop(10) {
        assert_eq!(bytes, 10 * 2 * 8 * 2 * 64);
    }
}

#[test]
fn backends_parse_by_name_and_unknown_names_list_the_choices() {
    for backend in Backend::available() {
        assert_eq!(backend.name().parse::<Backend>(), Ok(backend));
    }
    let err = "gfni1024".parse::<Backend>().unwrap_err();
    assert_eq!(err.name, "gfni1024");
    assert!(err.available.starts_with("portable"), "{err}");
}

#[test]
#[should_panic(expected = "rows too short")]
fn short_rows_panic_before_any_kernel_runs() {
    let mut d = [0u8; 10];
    lin_comb(&mut d, &[1; 15], 10, &[1, 1]);
}

/// Rows that end where an unreadable page begins, so that a kernel reading
/// or writing one byte past a row faults (the tests above compare values;
/// this proves tails and masks stay inside the slice).
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod guarded {
    use super::*;
    use core::num::NonZeroUsize;
    use nix::sys::mman::{MapFlags, ProtFlags, mmap, mprotect, munmap};

    const PAGE: usize = 4096;

    /// `len` bytes ending at a guard page.
    struct Guarded {
        base: *mut u8,
        /// Readable bytes before the guard page.
        size: usize,
        len: usize,
    }

    impl Guarded {
        fn new(len: usize, fill: &[u8]) -> Guarded {
            assert_eq!(fill.len(), len);
            let size = len.div_ceil(PAGE).max(1) * PAGE;
            // SAFETY: a fresh private anonymous mapping of `size` bytes and
            // one page more, which becomes inaccessible; the row is written
            // at the end of the readable part.
            unsafe {
                let base = mmap(
                    None,
                    NonZeroUsize::new(size + PAGE).unwrap(),
                    ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
                    MapFlags::MAP_PRIVATE | MapFlags::MAP_ANONYMOUS,
                    -1,
                    0,
                )
                .expect("mmap")
                .cast::<u8>();
                mprotect(base.add(size).cast(), PAGE, ProtFlags::PROT_NONE).expect("mprotect");
                core::ptr::copy_nonoverlapping(fill.as_ptr(), base.add(size - len), len);
                Guarded { base, size, len }
            }
        }

        fn bytes(&mut self) -> &mut [u8] {
            // SAFETY: the last `len` readable bytes of the mapping, borrowed
            // mutably through `self`.
            unsafe { core::slice::from_raw_parts_mut(self.base.add(self.size - self.len), self.len) }
        }
    }

    impl Drop for Guarded {
        fn drop(&mut self) {
            // SAFETY: the mapping made in `new`, unmapped once.
            unsafe { munmap(self.base.cast(), self.size + PAGE).expect("munmap") };
        }
    }

    #[test]
    fn every_backend_stays_inside_rows_that_end_at_a_guard_page() {
        for len in (0..=300).chain([1500, 1501, 2047]) {
            let c = (len * 29 + 3) as u8 | 1;
            for mode in [DstMode::Overwrite, DstMode::Accumulate, DstMode::Scale(c ^ 0x77)] {
                let (src_bytes, orig) = (bytes(len, len as u64), bytes(len, 99));
                let mut want = orig.clone();
                reference(&mut want, len, len, mode, &src_bytes, len, &[c], 1, 1);
                // Three outputs from two sources, rows `len` apart: the tile
                // path, whose last row ends at the guard.
                let rows3 = bytes(2 * len, len as u64 + 1);
                let coefs3 = [c, 7, 0, c ^ 1, 9, 200];
                let orig3 = bytes(3 * len, 7);
                let mut want3 = orig3.clone();
                reference(&mut want3, len, len, mode, &rows3, len, &coefs3, 2, 3);
                for (backend, kernels) in backends() {
                    let mut src = Guarded::new(len, &src_bytes);
                    let mut dst = Guarded::new(len, &orig);
                    product_with(kernels, dst.bytes(), len, len, mode, src.bytes(), len, &[c], 1);
                    assert_eq!(dst.bytes(), &want[..], "{backend:?} len={len} {mode:?}");

                    let mut rows = Guarded::new(2 * len, &rows3);
                    let mut out = Guarded::new(3 * len, &orig3);
                    product_with(kernels, out.bytes(), len, len, mode, rows.bytes(), len, &coefs3, 2);
                    assert_eq!(out.bytes(), &want3[..], "{backend:?} 3x2 len={len} {mode:?}");
                }
            }
        }
    }
}
