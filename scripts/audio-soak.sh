#!/usr/bin/env bash
# Soak benchmark for `sluicegate audio capture`: starts a private PulseAudio server with a null sink, plays
# noise into it with pacat, captures its monitor for SECONDS (default 600) at 48 kHz stereo f32 and prints
# RSS at the start and the end and the CPU use (see BENCHMARKS.md).
# Usage: scripts/audio-soak.sh [SECONDS] [extra `audio capture` arguments...]
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-600}"
shift || true
./scripts/install-deps.sh
cargo build --release --locked -p sluicegate-cli

dir="$(mktemp -d)"
mkdir -p "$dir/home" "$dir/config" "$dir/runtime"
export XDG_RUNTIME_DIR="$dir/runtime" HOME="$dir/home" XDG_CONFIG_HOME="$dir/config"
server="unix:$dir/runtime/pulse/native"
export PULSE_SERVER="$server"

pids=()
cleanup() {
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    rm -rf "$dir"
}
trap cleanup EXIT

pulseaudio -n --daemonize=no --exit-idle-time=-1 --system=false --realtime=false --high-priority=false \
    -L "module-native-protocol-unix auth-anonymous=1" -L "module-null-sink sink_name=soak rate=48000" \
    2>"$dir/pulseaudio.log" &
pids+=("$!")
for _ in $(seq 100); do
    pactl info >/dev/null 2>&1 && break
    sleep 0.1
done
pactl info >/dev/null

# Noise at about -20 dB: the content does not matter to the capture's cost, only its rate.
pacat --playback --raw --format=s16le --rate=48000 --channels=2 --latency-msec=50 --volume=30000 \
    --device=soak --property=application.name=soak-noise </dev/urandom &
pids+=("$!")

echo "soak: $seconds s on $(nproc) cores: $(lscpu | sed -n 's/^Model name: *//p')" >&2
target/release/sluicegate audio capture --server "$server" --soak "$seconds" --stats "$@"
