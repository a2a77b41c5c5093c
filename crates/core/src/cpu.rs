//! Keeping the threads of one pipeline on one CPU.
//!
//! Why: a pipeline that hands each read from thread to thread (reader → worker → consumer) pays a wake-up per
//! hop, and on a virtual machine a wake-up that crosses to an idle vCPU is dear. On this project's 2-vCPU
//! KVM guest, the p2 terminal reading a 2 Mbaud stream eagerly used 2.75 % of a core with its threads free to
//! move and 1.03–1.28 % with the three on one CPU, and its p99 read → delivery latency fell from 66–98 µs to
//! 31–38 µs (`scripts/bench-p2-terminal.sh`, BENCHMARKS.md): the wakee runs on the waker's CPU as soon as
//! the waker sleeps, with no inter-processor interrupt. The cost is parallelism, so it suits a live link
//! whose work per read is small, not a replay at full speed.

/// Why a thread could not be pinned.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CpuError {
    /// The OS refused the affinity (a CPU outside the process's allowed set, or none such).
    #[error("cannot pin the thread to CPU {cpu}: {reason}")]
    Pin {
        /// The CPU asked for.
        cpu: usize,
        /// The OS's reason.
        reason: String,
    },
    /// Pinning is not implemented on this OS.
    #[error("pinning threads to a CPU needs Linux")]
    Unsupported,
}

/// The CPU the calling thread runs on now, if the OS tells.
pub fn current() -> Option<usize> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        nix::sched::sched_getcpu().ok()
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        None
    }
}

/// Restricts the calling thread to `cpu`.
///
/// # Errors
/// [`CpuError`] when the OS refuses; the thread then keeps its affinity.
pub fn pin_current_thread(cpu: usize) -> Result<(), CpuError> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        use nix::sched::{CpuSet, sched_setaffinity};
        let pin_error = |error: nix::Error| CpuError::Pin {
            cpu,
            reason: error.desc().to_owned(),
        };
        let mut set = CpuSet::new();
        set.set(cpu).map_err(pin_error)?;
        // Pid 0: the calling thread.
        sched_setaffinity(nix::unistd::Pid::from_raw(0), &set).map_err(pin_error)
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let _ = cpu;
        Err(CpuError::Unsupported)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_os = "linux")]
    #[test]
    fn a_pinned_thread_runs_on_its_cpu_and_a_cpu_out_of_range_is_refused() {
        use nix::sched::CpuSet;
        let allowed = nix::sched::sched_getaffinity(nix::unistd::Pid::from_raw(0)).unwrap();
        let last = (0..CpuSet::count())
            .rev()
            .find(|&cpu| allowed.is_set(cpu).unwrap())
            .unwrap();
        std::thread::spawn(move || {
            pin_current_thread(last).unwrap();
            for _ in 0..100 {
                assert_eq!(current(), Some(last));
                std::thread::yield_now();
            }
        })
        .join()
        .unwrap();
        let error = pin_current_thread(CpuSet::count()).unwrap_err();
        assert!(
            error.to_string().contains(&format!("CPU {}", CpuSet::count())),
            "{error}"
        );
    }
}
