//! What the p2 end-to-end tests share: the binary, the one-test-at-a-time guard, and reading `--json` output.

use std::process::Command;
use std::sync::{Mutex, MutexGuard};

use serde_json::Value;

/// The `sluicegate` binary under test.
pub fn sluicegate() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sluicegate"))
}

/// The tests of one file run one at a time: each measures loss or timing on a real line, which other tests'
/// processes would disturb.
pub fn exclusive() -> MutexGuard<'static, ()> {
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    ONE_AT_A_TIME.lock().unwrap_or_else(|poison| poison.into_inner())
}

/// `--json` output: one object per line.
pub fn json_lines(stdout: &[u8]) -> Vec<Value> {
    stdout
        .split(|&byte| byte == b'\n')
        .filter(|line| !line.is_empty())
        .map(|line| serde_json::from_slice(line).expect("one JSON object per line"))
        .collect()
}

/// A JSON message's exact bytes, from its `hex` field.
pub fn hex_bytes(value: &Value) -> Vec<u8> {
    let hex = value["hex"].as_str().expect("every JSON message has hex");
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect()
}
