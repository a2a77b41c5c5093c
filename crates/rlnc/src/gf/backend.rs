//! Which kernel family runs. The fastest one the CPU has is detected once,
//! on first use, and every kernel call after that goes through its table of
//! function pointers; tests and benchmarks may switch to another available
//! one ([`Backend::activate`], or `SLUICEGATE_RLNC_KERNEL=<name>` in the
//! environment at first use, with the `std` feature).

use core::sync::atomic::{AtomicU8, Ordering};

use super::{Elimination, Product, portable};

/// A kernel family. Only backends the running CPU supports are ever
/// activated, which is what makes calling their `target_feature` code sound.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Backend {
    /// Byte-at-a-time table lookups; runs anywhere.
    Portable,
    /// 16-byte `pshufb` nibble tables.
    #[cfg(target_arch = "x86_64")]
    Ssse3,
    /// 16-byte GFNI `gf2p8affineqb` (SSE encoding: CPUs with GFNI but no AVX).
    #[cfg(target_arch = "x86_64")]
    Gfni128,
    /// 32-byte `vpshufb` nibble tables.
    #[cfg(target_arch = "x86_64")]
    Avx2,
    /// 64-byte `vpshufb` nibble tables, masked tails (AVX-512 without GFNI).
    #[cfg(target_arch = "x86_64")]
    Avx512Bw,
    /// 32-byte GFNI `vgf2p8affineqb` (VEX encoding, no AVX-512).
    #[cfg(target_arch = "x86_64")]
    Gfni256,
    /// 64-byte GFNI `vgf2p8affineqb` with `vpternlogq` and masked tails.
    #[cfg(target_arch = "x86_64")]
    Gfni512,
}

/// The requested backend cannot run on this CPU (or does not exist).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("kernel backend {name:?} is not available on this CPU (available: {available})")]
pub struct Unavailable {
    /// What was asked for.
    pub name: alloc::string::String,
    /// The available names, comma-separated.
    pub available: alloc::string::String,
}

/// Every backend, slowest first: the preference order, measured on an AMD
/// EPYC (Zen 4) with all of them (see BENCHMARKS.md, rlnc codec).
const ALL: &[Backend] = &[
    Backend::Portable,
    #[cfg(target_arch = "x86_64")]
    Backend::Ssse3,
    #[cfg(target_arch = "x86_64")]
    Backend::Gfni128,
    #[cfg(target_arch = "x86_64")]
    Backend::Avx2,
    #[cfg(target_arch = "x86_64")]
    Backend::Avx512Bw,
    #[cfg(target_arch = "x86_64")]
    Backend::Gfni256,
    #[cfg(target_arch = "x86_64")]
    Backend::Gfni512,
];

/// One backend's kernels. The function pointers are only reachable through
/// [`Backend::kernels`] of an available backend.
pub(super) struct Kernels {
    pub(super) backend: Backend,
    /// # Safety
    /// As [`Product`]'s contract; the backend must be available.
    pub(super) product: unsafe fn(&Product<'_>),
    /// # Safety
    /// The backend must be available.
    pub(super) eliminate: unsafe fn(&mut Elimination<'_>) -> Option<usize>,
}

static PORTABLE: Kernels = Kernels {
    backend: Backend::Portable,
    product: portable::product,
    eliminate: portable::eliminate,
};

/// Index into [`ALL`] of the active backend; `u8::MAX` until first use.
static ACTIVE: AtomicU8 = AtomicU8::new(u8::MAX);

impl Backend {
    /// Every backend this CPU can run, slowest first.
    pub fn available() -> impl Iterator<Item = Backend> {
        ALL.iter().copied().filter(|b| b.is_supported())
    }

    /// The backend kernel calls use: the fastest available, detected on
    /// first use, unless [`Backend::activate`] or `SLUICEGATE_RLNC_KERNEL`
    /// chose another.
    #[inline]
    pub fn active() -> Backend {
        active_kernels().backend
    }

    /// Make every later kernel call in this process use `self`: for tests
    /// and benchmarks that compare backends. Results never depend on the
    /// backend, only speed does.
    ///
    /// # Errors
    /// [`Unavailable`] if this CPU cannot run `self`.
    pub fn activate(self) -> Result<(), Unavailable> {
        self.checked_kernels()?;
        ACTIVE.store(self.index(), Ordering::Relaxed);
        Ok(())
    }

    pub(super) fn checked_kernels(self) -> Result<&'static Kernels, Unavailable> {
        if self.is_supported() {
            // SAFETY: supported, as just checked.
            Ok(unsafe { self.kernels() })
        } else {
            Err(Unavailable::new(self.name()))
        }
    }

    /// A short lowercase name, for reports and `SLUICEGATE_RLNC_KERNEL`.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Portable => "portable",
            #[cfg(target_arch = "x86_64")]
            Backend::Ssse3 => "ssse3",
            #[cfg(target_arch = "x86_64")]
            Backend::Gfni128 => "gfni128",
            #[cfg(target_arch = "x86_64")]
            Backend::Avx2 => "avx2",
            #[cfg(target_arch = "x86_64")]
            Backend::Avx512Bw => "avx512bw",
            #[cfg(target_arch = "x86_64")]
            Backend::Gfni256 => "gfni256",
            #[cfg(target_arch = "x86_64")]
            Backend::Gfni512 => "gfni512",
        }
    }

    /// What the kernels of this backend are, in a few words, for reports.
    pub fn describe(self) -> &'static str {
        match self {
            Backend::Portable => "256×256 product table, one byte at a time",
            #[cfg(target_arch = "x86_64")]
            Backend::Ssse3 => "pshufb nibble tables, 16-byte vectors, 4×2 register tiles",
            #[cfg(target_arch = "x86_64")]
            Backend::Gfni128 => "gf2p8affineqb bit matrices, 16-byte vectors, 6×2 register tiles",
            #[cfg(target_arch = "x86_64")]
            Backend::Avx2 => "vpshufb nibble tables, 32-byte vectors, 4×2 register tiles",
            #[cfg(target_arch = "x86_64")]
            Backend::Avx512Bw => "vpshufb nibble tables, 64-byte vectors, 8×2 register tiles, masked tails",
            #[cfg(target_arch = "x86_64")]
            Backend::Gfni256 => "vgf2p8affineqb bit matrices, 32-byte vectors, 6×2 register tiles",
            #[cfg(target_arch = "x86_64")]
            Backend::Gfni512 => {
                "vgf2p8affineqb bit matrices + vpternlogq, 64-byte vectors, 8×2 register tiles, masked tails"
            }
        }
    }

    fn index(self) -> u8 {
        ALL.iter().position(|&b| b == self).expect("every backend is listed") as u8
    }

    fn is_supported(self) -> bool {
        match self {
            Backend::Portable => true,
            #[cfg(target_arch = "x86_64")]
            Backend::Ssse3 => cpu::ssse3(),
            #[cfg(target_arch = "x86_64")]
            Backend::Gfni128 => cpu::gfni(),
            #[cfg(target_arch = "x86_64")]
            Backend::Avx2 => cpu::avx2(),
            #[cfg(target_arch = "x86_64")]
            Backend::Avx512Bw => cpu::avx512bw(),
            #[cfg(target_arch = "x86_64")]
            Backend::Gfni256 => cpu::gfni() && cpu::avx2(),
            #[cfg(target_arch = "x86_64")]
            Backend::Gfni512 => cpu::gfni() && cpu::avx512bw(),
        }
    }

    /// This backend's kernels.
    ///
    /// # Safety
    /// The backend must be supported by the CPU (`is_supported`): the
    /// returned kernels execute its instructions.
    unsafe fn kernels(self) -> &'static Kernels {
        match self {
            Backend::Portable => &PORTABLE,
            #[cfg(target_arch = "x86_64")]
            Backend::Ssse3 => &super::x86::SSSE3,
            #[cfg(target_arch = "x86_64")]
            Backend::Gfni128 => &super::x86::GFNI128,
            #[cfg(target_arch = "x86_64")]
            Backend::Avx2 => &super::x86::AVX2,
            #[cfg(target_arch = "x86_64")]
            Backend::Avx512Bw => &super::x86::AVX512BW,
            #[cfg(target_arch = "x86_64")]
            Backend::Gfni256 => &super::x86::GFNI256,
            #[cfg(target_arch = "x86_64")]
            Backend::Gfni512 => &super::x86::GFNI512,
        }
    }
}

impl core::str::FromStr for Backend {
    type Err = Unavailable;

    /// The available backend called `name` (as [`Backend::name`] spells it).
    fn from_str(name: &str) -> Result<Backend, Unavailable> {
        Backend::available()
            .find(|b| b.name() == name)
            .ok_or_else(|| Unavailable::new(name))
    }
}

impl Unavailable {
    fn new(name: &str) -> Unavailable {
        Unavailable {
            name: name.into(),
            available: Backend::available()
                .map(Backend::name)
                .collect::<alloc::vec::Vec<_>>()
                .join(", "),
        }
    }
}

/// The active backend's kernels, choosing them on first use.
#[inline]
pub(super) fn active_kernels() -> &'static Kernels {
    let backend = match ACTIVE.load(Ordering::Relaxed) {
        u8::MAX => {
            let chosen = requested().unwrap_or_else(|| Backend::available().last().unwrap_or(Backend::Portable));
            // Two threads racing here choose alike; either store is fine.
            ACTIVE.store(chosen.index(), Ordering::Relaxed);
            chosen
        }
        index => ALL[usize::from(index)],
    };
    // SAFETY: ACTIVE only ever holds the index of a supported backend: the
    // detected best, an available one named in the environment, or one
    // `activate` checked.
    unsafe { backend.kernels() }
}

/// An available backend named by `SLUICEGATE_RLNC_KERNEL`, if any.
#[cfg(feature = "std")]
fn requested() -> Option<Backend> {
    std::env::var("SLUICEGATE_RLNC_KERNEL").ok()?.parse().ok()
}

#[cfg(not(feature = "std"))]
fn requested() -> Option<Backend> {
    None
}

/// CPU feature queries: run-time detection with `std`, compile-time
/// `target_feature`s without.
#[cfg(target_arch = "x86_64")]
mod cpu {
    macro_rules! feature {
        ($name:ident, $($feature:tt),+) => {
            #[cfg(feature = "std")]
            pub(super) fn $name() -> bool {
                $(std::is_x86_feature_detected!($feature))&&+
            }
            #[cfg(not(feature = "std"))]
            pub(super) fn $name() -> bool {
                $(cfg!(target_feature = $feature))&&+
            }
        };
    }
    feature!(ssse3, "ssse3");
    feature!(avx2, "avx2");
    feature!(avx512bw, "avx512f", "avx512bw");
    feature!(gfni, "gfni");
}
