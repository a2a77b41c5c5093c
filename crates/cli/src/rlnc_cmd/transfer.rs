//! What `rlnc send` and `rlnc recv` share: loss flags, the progress bar,
//! exit codes, Ctrl-C, notes about the socket.

use std::io::{self, IsTerminal};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use sluicegate_rlnc::net::{NetError, Progress, Tuning};
use sluicegate_rlnc::transfer::link::LossModel;

use crate::exit::Failure;

/// Loss injection flags, on either side.
#[derive(Args, Debug, Clone, Copy)]
pub struct LossArgs {
    /// Drop this fraction (0..1) of outgoing datagrams, for testing.
    #[arg(long, default_value_t = 0.0, value_parser = fraction)]
    loss: f64,
    /// Drop in bursts (Gilbert–Elliott, same average as --loss) instead of independently.
    #[arg(long)]
    burst: bool,
    /// Mean burst length in datagrams, with --burst.
    #[arg(long, default_value_t = 4.0)]
    burst_len: f64,
    /// Seed of the loss process.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

fn fraction(s: &str) -> Result<f64, String> {
    let p: f64 = s.parse().map_err(|e| format!("{e}"))?;
    if (0.0..0.95).contains(&p) {
        Ok(p)
    } else {
        Err("must be in 0..0.95".into())
    }
}

impl LossArgs {
    pub fn model(&self) -> LossModel {
        if self.loss == 0.0 {
            LossModel::None
        } else if self.burst {
            LossModel::bursty(self.loss, self.burst_len)
        } else {
            LossModel::Independent(self.loss)
        }
    }
}

pub fn hex(digest: &[u8; 32]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A progress bar with rate and ETA on stderr, only when stderr is a
/// terminal and the output is not JSON.
pub struct Bar(Option<ProgressBar>);

impl Bar {
    pub fn new(json: bool, total: Option<u64>) -> Bar {
        let shown = !json && io::stderr().is_terminal();
        Bar(shown.then(|| {
            let bar = ProgressBar::new(0);
            bar.set_style(Self::style(total.is_some()));
            if let Some(total) = total {
                bar.set_length(total);
            }
            bar
        }))
    }

    fn style(total_known: bool) -> ProgressStyle {
        let template = if total_known {
            "{bytes}/{total_bytes} [{wide_bar}] {bytes_per_sec}, ETA {eta}"
        } else {
            "{bytes} {bytes_per_sec} (total not known yet)"
        };
        ProgressStyle::with_template(template).expect("valid template")
    }

    pub fn update(&self, p: Progress) {
        let Some(bar) = &self.0 else { return };
        if let Some(total) = p.total
            && bar.length() != Some(total)
        {
            bar.set_style(Self::style(true));
            bar.set_length(total);
        }
        bar.set_position(p.bytes);
    }

    pub fn finish(self) {
        if let Some(bar) = self.0 {
            bar.finish_and_clear();
        }
    }
}

/// Exit codes: a peer that refuses, goes away, restarts, closes the
/// session, falls silent or fails the handshake (a wrong code) is 4 (a peer that cannot be used), unreadable input 3, bad coding parameters 2,
/// anything else while running (a full disk, Ctrl-C) 1.
pub fn net_failure(error: NetError) -> Failure {
    match error {
        NetError::Refused { .. }
        | NetError::ReceiverGone { .. }
        | NetError::SenderGone { .. }
        | NetError::PeerSilent { .. }
        | NetError::NoTransfer { .. }
        | NetError::Session(_)
        | NetError::Handshake(_) => Failure::device(error),
        NetError::Input(_) => Failure::input(error),
        NetError::Config(_) => Failure::usage(error),
        _ => Failure::runtime(error),
    }
}

/// A flag raised by SIGINT and SIGTERM, so that a transfer ends through its
/// error path (a partial output removed) instead of dying mid-write.
pub fn cancel_on_signals() -> Result<Arc<AtomicBool>, Failure> {
    let flag = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&flag)).map_err(Failure::runtime)?;
    }
    Ok(flag)
}

fn mib(bytes: usize) -> String {
    format!("{:.1} MiB", bytes as f64 / f64::from(1 << 20))
}

/// Says on stderr which socket buffer the system limit capped, and how to raise it.
pub fn note_capped_buffers(tuning: &Tuning) {
    for (name, size) in [("receive", tuning.receive_buffer), ("send", tuning.send_buffer)] {
        if size.is_capped() {
            eprintln!(
                "note: {name} buffer {} instead of {}: capped by {} ({} raises it)",
                mib(size.granted),
                mib(size.requested),
                size.limit,
                size.raise_command()
            );
        }
    }
}

/// CPU seconds this process used so far (user + system, all threads).
pub fn cpu_seconds() -> f64 {
    cpu_time::ProcessTime::now().as_duration().as_secs_f64()
}
