#!/usr/bin/env bash
# Every check CI runs, in one command: installs the system packages the tests need when they are missing
# (scripts/install-deps.sh), then formatting, clippy (warnings are errors), all tests with doc tests, and
# the loom model checks, then the Node.js binding (bindings/node/test.sh).
set -euo pipefail
cd "$(dirname "$0")"

scripts/install-deps.sh

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked
# The pool's cross-thread return, model-checked (separate target dir: --cfg loom rebuilds every crate).
RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom cargo test -p sluicegate-core --test loom --release --locked
# The Node.js binding (napi-rs): outside the cargo workspace, with its own lockfile and lint run.
bindings/node/test.sh
