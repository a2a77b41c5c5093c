#!/usr/bin/env bash
# Every check CI runs, in one command: first the system packages the tests need, installed only when missing
# (scripts/install-deps.sh says what it does; SLUICEGATE_NO_INSTALL=1 skips the install), then formatting,
# clippy (warnings are errors), the p2 library without its I/O edge, the rlnc codec as no_std, all tests with
# doc tests, the loom model checks, and the Node.js binding (bindings/node/test.sh).
set -euo pipefail
cd "$(dirname "$0")"

step() { printf '\n== %s ==\n' "$*" >&2; }

step "system packages (scripts/install-deps.sh)"
scripts/install-deps.sh

step "format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
# Fuzz targets and other front ends use sluicegate-p2 without serialport and threads.
cargo clippy -p sluicegate-p2 --no-default-features --all-targets --locked -- -D warnings
# The rlnc codec is no_std + alloc without its std feature; its kernels are then chosen from compile-time
# target features, so it is built once as is and once with GFNI and AVX-512BW enabled.
cargo clippy -p sluicegate-rlnc --no-default-features --lib --locked -- -D warnings
RUSTFLAGS="-C target-feature=+gfni,+avx512f,+avx512bw" CARGO_TARGET_DIR=target/no-std-simd \
    cargo clippy -p sluicegate-rlnc --no-default-features --lib --locked -- -D warnings

step "tests"
cargo test --workspace --locked

step "loom models"
# The core's lock-free parts and wake-up handshakes, model-checked (separate target dir: --cfg loom rebuilds
# every crate).
RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom cargo test -p sluicegate-core --test loom --release --locked

step "Node.js binding"
# The Node.js binding (napi-rs): outside the cargo workspace, with its own lockfile and lint run.
bindings/node/test.sh
