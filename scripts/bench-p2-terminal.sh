#!/usr/bin/env bash
# The p2 terminal's benchmarks (issue 6), as recorded in BENCHMARKS.md:
#  1. replay of a 100 MB mixed capture at --speed max to /dev/null (text and JSON), next to `cat` of the same
#     file as the I/O ceiling;
#  2. the terminal receiving the mixed stream over a pseudo-terminal at 2 Mbaud: CPU % of a core, and
#     arrival→delivery latency p50/p99/max from --stats.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --locked -p sluicegate-cli -p sluicegate-p2 --bins --examples >&2
bin=target/release/sluicegate
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

target/release/examples/mixed_capture 100 "$work/mixed.sgrec"
bytes=$(stat -c %s "$work/mixed.sgrec")
measure() { # label, command...: best wall time of 3 runs
    local label=$1 best=999999
    shift
    for _ in 1 2 3; do
        local start end
        start=$(date +%s.%N)
        "$@" > /dev/null
        end=$(date +%s.%N)
        best=$(echo "if ($end - $start < $best) $end - $start else $best" | bc -l)
    done
    printf '%-28s %8.3f s  %8.1f MB/s\n' "$label" "$best" "$(echo "$bytes / $best / 1000000" | bc -l)"
}
echo "replay of $bytes bytes, best of 3:"
measure "cat (ceiling)" cat "$work/mixed.sgrec"
measure "replay --speed max (text)" "$bin" p2 --replay "$work/mixed.sgrec" --speed max
measure "replay --speed max --json" "$bin" p2 --replay "$work/mixed.sgrec" --speed max --json

echo "live: the mixed stream over a pty at 2,000,000 baud"
mkfifo "$work/start"
"$bin" p2 simulate mixed --pty --pace 2000000 --linger-ms 300 < "$work/start" > "$work/path" 2> "$work/simulator.txt" &
exec 3> "$work/start"
until [[ -s "$work/path" ]]; do sleep 0.05; done
port=$(head -n 1 "$work/path")
/usr/bin/time -f '%e %U %S' -o "$work/time.txt" "$bin" p2 --port "$port" --stats --json > /dev/null 2> "$work/terminal.txt" &
terminal=$!
until grep -q listening "$work/terminal.txt"; do sleep 0.05; done
echo >&3
exec 3>&-
wait "$terminal"
wait
read -r wall user system < "$work/time.txt"
tail -n 1 "$work/simulator.txt"
echo "terminal CPU: $(echo "($user + $system) * 100 / $wall" | bc -l | cut -c1-5) % of a core over $wall s"
python3 - "$work/terminal.txt" <<'PY'
import json, sys
stats = json.loads([line for line in open(sys.argv[1]) if line.startswith('{')][-1])
latency = stats["latency"]
print(f"messages {stats['messages']}, bytes in {stats['bytes_in']}, overflows {stats['overflows']}")
print(f"arrival->delivery latency: p50 {latency['p50_us']:.1f} us, p99 {latency['p99_us']:.1f} us, max {latency['max_us']:.1f} us")
PY
