//! Real-time scheduling for the few threads that must never fall behind a wire (a serial reader, a simulated
//! UART), when the OS allows it.
//!
//! Why: at 2 Mbaud a pseudo-terminal or USB serial driver buffers about 256 ms of input. With both cores busy,
//! a reader at normal priority was measured losing 35 % of the HSV16 burst on this workplace's 2-core machine,
//! and none under `SCHED_FIFO` (p2 terminal test `hsv16_over_a_pty_at_2_mbaud…`).

/// The `SCHED_FIFO` priority used: above ordinary threads, below the kernel's own real-time threads.
const PRIORITY: u8 = 50;

/// Why the thread kept its ordinary priority.
#[derive(Debug, thiserror::Error)]
#[error("cannot raise the thread to real-time priority: {0:?}")]
pub struct RealtimeError(thread_priority::Error);

/// Moves the calling thread to `SCHED_FIFO` (Linux/Unix). Needs `CAP_SYS_NICE` or an `rtprio` limit; callers
/// carry on at normal priority when it fails.
///
/// # Errors
/// [`RealtimeError`] when the OS refuses.
pub fn raise_current_thread() -> Result<(), RealtimeError> {
    #[cfg(unix)]
    {
        use thread_priority::{
            RealtimeThreadSchedulePolicy, ThreadPriority, ThreadPriorityValue, ThreadSchedulePolicy,
            set_thread_priority_and_policy, thread_native_id,
        };
        let value = ThreadPriorityValue::try_from(PRIORITY)
            .map_err(|_| RealtimeError(thread_priority::Error::Priority("priority value out of range")))?;
        set_thread_priority_and_policy(
            thread_native_id(),
            ThreadPriority::Crossplatform(value),
            ThreadSchedulePolicy::Realtime(RealtimeThreadSchedulePolicy::Fifo),
        )
        .map_err(RealtimeError)
    }
    #[cfg(not(unix))]
    {
        Err(RealtimeError(thread_priority::Error::Priority(
            "real-time scheduling needs Unix",
        )))
    }
}
