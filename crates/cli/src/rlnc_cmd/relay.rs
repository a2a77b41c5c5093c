//! `sluicegate rlnc relay`: a recoding relay between a sender and a receiver.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use sluicegate_rlnc::net::relay::{RelayOptions, relay};
use sluicegate_rlnc::net::{Socket, SocketOptions};

use super::security::{self, SecurityArgs};
use super::transfer::{LossArgs, cancel_on_signals, hex, net_failure, note_capped_buffers};
use crate::exit::Failure;

/// `sluicegate rlnc relay` arguments.
#[derive(Args, Debug)]
pub struct RelayArgs {
    /// Address the sender sends to, e.g. 0.0.0.0:7000 (port 0: any free port). Printed on stderr as
    /// `listening on ADDRESS` once bound.
    #[arg(long)]
    listen: SocketAddr,
    /// The receiver's address, e.g. 10.0.0.2:7000.
    #[arg(long)]
    to: SocketAddr,
    #[command(flatten)]
    security: SecurityArgs,
    /// Give up after this many seconds without progress from either side once the transfer started.
    #[arg(long, default_value_t = 10)]
    timeout: u64,
    /// Give up if a hop's handshake (the sender's, the receiver's) is not done within this many seconds.
    #[arg(long, default_value_t = 120)]
    handshake_timeout: u64,
    /// After the receiver's done, keep passing it to the sender this many milliseconds.
    #[arg(long, default_value_t = 1000)]
    linger_ms: u64,
    #[command(flatten)]
    loss: LossArgs,
    /// One JSON object on stdout instead of the summary.
    #[arg(long)]
    json: bool,
}

/// `sluicegate rlnc relay`.
pub fn run(args: RelayArgs) -> Result<(), Failure> {
    let resolved = args.security.for_listener("rlnc relay")?;
    let mut socket = Socket::bind(args.listen, SocketOptions::receiver())
        .with_context(|| format!("cannot listen on {}", args.listen))
        .map_err(Failure::device)?;
    let local = socket.local_addr().map_err(Failure::device)?;
    // The first line, as `rlnc recv` prints it: scripts read the port from it.
    eprintln!("listening on {local}");
    eprintln!("relaying to {}", args.to);
    resolved.warn();
    note_capped_buffers(socket.tuning());
    let mut options = RelayOptions::new(resolved.security());
    options.handshake = security::handshake(Some(Duration::from_secs(args.handshake_timeout)));
    options.cancel = Some(cancel_on_signals()?);
    options.loss = args.loss.model();
    options.seed = args.loss.seed;
    options.timeout = Duration::from_secs(args.timeout);
    options.linger = Duration::from_millis(args.linger_ms);
    let report = relay(&mut socket, args.to, &options).map_err(net_failure)?;
    let s = report.stats;
    let (up, down) = (report.upstream, report.downstream);
    if args.json {
        let line = serde_json::json!({
            "session": report.session,
            "seconds": report.elapsed.as_secs_f64(),
            "receiver_bytes": report.receiver_digest.0,
            "receiver_sha256": hex(&report.receiver_digest.1),
            "stats": s,
            "upstream": up,
            "downstream": down,
            "injected_losses": report.injected_losses,
        });
        println!("{line}");
    } else {
        eprintln!(
            "relayed session {:016x} in {:.2} s: {} data datagrams in ({} innovative, {} redundant), {} recoded out ({} repairs)",
            report.session,
            report.elapsed.as_secs_f64(),
            s.data_in,
            s.innovative,
            s.redundant,
            s.data_out,
            s.boosted
        );
        eprintln!(
            "refused: {} upstream, {} downstream (not authentic, replayed or malformed)",
            up.rejected(),
            down.rejected()
        );
        eprintln!(
            "sha256 {}  (receiver, {} bytes)",
            hex(&report.receiver_digest.1),
            report.receiver_digest.0
        );
    }
    Ok(())
}
