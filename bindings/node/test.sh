#!/usr/bin/env bash
# The Node binding's checks, run by the root test.sh: formatting and clippy (warnings are errors) on its own
# lockfile, the addon built by @napi-rs/cli with the local cargo (a debug build: quicker on CI, and it keeps
# napi-rs's assertion that no two live Buffers share a data pointer), the TypeScript types compiled against a
# usage file, then the tests with Node's runner.
set -euo pipefail
cd "$(dirname "$0")"

# Shares the workspace's target directory, so the sluicegate crates are not built twice.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/../../target}"

cargo fmt -- --check
cargo clippy --all-targets --locked -- -D warnings
npm ci --ignore-scripts --no-audit --no-fund
npx napi build --platform --js native.js --dts native.d.ts
npx tsc --noEmit --strict --types node test/types/usage.ts
node --test --expose-gc test/*.test.js
