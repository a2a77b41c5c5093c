#!/usr/bin/env bash
# Soak benchmark for `sluicegate audio capture`: starts a private PulseAudio server with a null sink, plays
# noise into it with pacat, captures its monitor for SECONDS (default 600) at 48 kHz stereo f32 and prints
# RSS at the start and the end and the CPU use (see BENCHMARKS.md). PulseAudio's own `parec` records the same
# monitor at the same time, as the peer: its CPU, and each sluicegate thread's, are measured over the same
# span (from 10 s in to 2 s before the end) from /proc/PID/task/TID/schedstat, with the load average.
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
    # Clients first, so that they do not report the server's end.
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
        kill "${pids[i]}" 2>/dev/null || true
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

parec --raw --format=float32le --rate=48000 --channels=2 --latency-msec=10 -d soak.monitor >/dev/null &
peer="$!"
pids+=("$peer")

echo "soak: $seconds s on $(nproc) cores: $(lscpu | sed -n 's/^Model name: *//p'), started $(date -u '+%F %T') UTC" >&2
target/release/sluicegate audio capture --server "$server" --soak "$seconds" --stats "$@" &
capture="$!"
pids+=("$capture")

# Nanoseconds on a CPU, per thread: "PID TID NAME NANOSECONDS" lines (proc(5): schedstat).
threads() {
    for task in /proc/"$1"/task/*; do
        echo "$1 ${task##*/} $(cat "$task/comm") $(cut -d' ' -f1 "$task/schedstat")"
    done
}
sample() {
    { threads "$capture"; threads "$peer"; } 2>/dev/null
    echo "load $(cut -d' ' -f1 /proc/loadavg)"
    echo "at $(date +%s.%N)"
}
measured=$((seconds > 20 ? seconds - 12 : 0))
if [ "$measured" -gt 0 ]; then
    sleep 10
    before="$(sample)"
    sleep "$measured"
    after="$(sample)"
    awk -v capture="$capture" '
        $1 == "at" { t[FILENAME == ARGV[1]] = $2; next }
        $1 == "load" { load[FILENAME == ARGV[1]] = $2; next }
        FILENAME == ARGV[1] { start[$1 ":" $2] = $4; next }
        ($1 ":" $2) in start {
            who = ($1 == capture) ? "sluicegate" : "parec (peer)"
            used[++n] = $4 - start[$1 ":" $2]; label[n] = who " " $3; group[n] = who
        }
        END {
            wall = t[0] - t[1]
            printf "soak: per thread over %.0f s (load average %s at its start, %s at its end):\n", wall, load[1], load[0]
            for (i = 1; i <= n; i++) {
                printf "soak:   %-32s %.3f %% of a core\n", label[i], used[i] / wall / 1e7
                total[group[i]] += used[i]
            }
            for (g in total) printf "soak:   %-32s %.3f %% of a core\n", g " (all threads)", total[g] / wall / 1e7
        }' <(echo "$before") <(echo "$after") >&2
fi
wait "$capture"
