#!/usr/bin/env bash
# Every check CI runs, in one command: installs the system packages the tests need when they are missing,
# then formatting, clippy (warnings are errors), all tests with doc tests, and the loom model checks.
set -euo pipefail
cd "$(dirname "$0")"

# Debian packages the build and the tests need (libpulse for the audio crate, a PulseAudio server for its tests).
packages=(pkg-config libpulse-dev pulseaudio pulseaudio-utils)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
    echo "test.sh: installing ${missing[*]}"
    sudo=()
    [[ $(id -u) -eq 0 ]] || sudo=(sudo)
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked
# The pool's cross-thread return, model-checked (separate target dir: --cfg loom rebuilds every crate).
RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom cargo test -p sluicegate-core --test loom --release --locked
