//! `--code`, `--key-file`, `--insecure`: how `rlnc send`, `recv` and `relay`
//! secure their datagrams (docs/rlnc-secure.md).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use sluicegate_rlnc::net::secure::{Security, new_code};
use sluicegate_rlnc::secure::{Code, HandshakeConfig, Secret, parse_key_file};

use crate::exit::Failure;

/// Security flags, the same on every side.
#[derive(Args, Debug, Clone)]
pub struct SecurityArgs {
    /// The code the sender printed, e.g. 417-harbor-velvet-zebra (a sender given one uses it instead of printing a new one).
    #[arg(long, value_parser = parse_code, conflicts_with_all = ["key_file", "insecure"])]
    code: Option<Code>,
    /// A file of 32 random bytes (or 64 hex digits) that both ends (and a relay) hold, instead of a code. Make one with: head -c 32 /dev/urandom > key
    #[arg(long, value_name = "FILE", conflicts_with = "insecure")]
    key_file: Option<PathBuf>,
    /// No encryption, no authentication: datagrams in the clear, accepted from anyone. For benchmarks only.
    #[arg(long)]
    insecure: bool,
}

fn parse_code(text: &str) -> Result<Code, String> {
    Code::parse(text).map_err(|e| e.to_string())
}

/// The secret, for an initiator and for a responder.
pub enum Resolved {
    /// Datagrams in the clear.
    Insecure,
    /// A code or key the user gave.
    Given(Secret),
    /// A code this side made up and must print.
    Printed(Code),
}

impl Resolved {
    /// Says on stderr what `--insecure` gives up.
    pub fn warn(&self) {
        if let Resolved::Insecure = self {
            eprintln!(
                "warning: --insecure: datagrams travel in the clear and unauthenticated; anyone on the path can read, alter or inject them"
            );
        }
    }

    pub fn security(&self) -> Security {
        match *self {
            Resolved::Insecure => Security::Insecure,
            Resolved::Given(secret) => Security::Secret(secret),
            Resolved::Printed(code) => Security::Secret(Secret::Code(code)),
        }
    }
}

impl SecurityArgs {
    /// The sender's: a fresh code unless one of the flags was given.
    pub fn for_sender(&self) -> Result<Resolved, Failure> {
        if self.code.is_none() && self.key_file.is_none() && !self.insecure {
            let code = new_code().context("cannot make a code").map_err(Failure::runtime)?;
            return Ok(Resolved::Printed(code));
        }
        self.given("")
    }

    /// A receiver's or relay's: one of the flags is required.
    pub fn for_listener(&self, what: &str) -> Result<Resolved, Failure> {
        self.given(what)
    }

    fn given(&self, what: &str) -> Result<Resolved, Failure> {
        if self.insecure {
            return Ok(Resolved::Insecure);
        }
        if let Some(code) = self.code {
            return Ok(Resolved::Given(Secret::Code(code)));
        }
        if let Some(path) = &self.key_file {
            let bytes = std::fs::read(path)
                .with_context(|| format!("cannot read the key file {}", path.display()))
                .map_err(Failure::input)?;
            let key = parse_key_file(&bytes)
                .with_context(|| format!("key file {}", path.display()))
                .map_err(Failure::input)?;
            return Ok(Resolved::Given(Secret::Key(key)));
        }
        Err(Failure::usage(anyhow::anyhow!(
            "{what} needs --code (the code the sender printed), --key-file or --insecure"
        )))
    }
}

/// Handshake timing: `timeout` for a side that speaks first; a side that
/// listens waits for its peer as long as `wait` says (for ever by default).
pub fn handshake(timeout: Option<Duration>) -> HandshakeConfig {
    HandshakeConfig {
        timeout: timeout.unwrap_or(Duration::MAX),
        ..HandshakeConfig::default()
    }
}

/// Tells the user the code to give the receiver (on stderr: stdout may
/// carry JSON).
pub fn print_code(code: &Code) {
    eprintln!("code: {code}   (give it to the receiver, and to a relay: --code {code})");
}
