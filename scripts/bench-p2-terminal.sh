#!/usr/bin/env bash
# The p2 terminal's benchmarks, as recorded in BENCHMARKS.md:
#  1. replay of a 100 MB mixed capture at --speed max to /dev/null (text and JSON), next to `cat` of the same
#     file as the I/O ceiling;
#  2. the terminal receiving the mixed stream over a pseudo-terminal at 2 Mbaud: CPU % of a core, and
#     arrival→delivery latency p50/p99/max from --stats; `cat` as the floor, the defaults (eager reads, JSON
#     and text), coalesced reads, and the threads left free side by side, LIVE_RUNS rounds (default 3);
#  3. display traffic: the HSV16 burst (65,539 BITMAP lines, 4.6 s at 2 Mbaud) over a pty, the terminal with
#     its displays modelled and every one written as a snapshot at the end (--snapshots) next to the same
#     without displays (--no-displays), text and JSON, LIVE_RUNS rounds.
# SECTIONS picks some of them (default "replay live displays").
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --locked -p sluicegate-cli -p sluicegate-p2 --bins --examples >&2
bin=target/release/sluicegate
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

sections=${SECTIONS:-replay live displays}
if [[ $sections == *replay* ]]; then
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
fi

# CPU of a child to the microsecond (wait4's rusage; /usr/bin/time rounds to 10 ms): "cpu_s wall_s".
cpu_of() {
    python3 -c '
import resource, subprocess, sys, time
def cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime
before, start = cpu(), time.monotonic()
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL)
print(f"{cpu() - before:.6f} {time.monotonic() - start:.3f}")' "$@"
}
# One live run: the simulator sends $SCENARIO (default mixed) at 2 Mbaud into a fresh pty; $1 labels the
# reader, the rest is the command that reads the pty (PORT stands for its path).
live() {
    local label=$1
    shift
    rm -f "$work/start" "$work/path" "$work/terminal.txt"
    mkfifo "$work/start"
    "$bin" p2 simulate "${SCENARIO:-mixed}" --pty --pace 2000000 --linger-ms 300 < "$work/start" > "$work/path" 2> "$work/simulator.txt" &
    local simulator=$!
    exec 3> "$work/start"
    until [[ -s "$work/path" ]]; do sleep 0.05; done
    local port
    port=$(head -n 1 "$work/path")
    stty -F "$port" raw -echo
    local command=("${@//PORT/$port}")
    (cpu_of "${command[@]}" 2> "$work/terminal.txt" > "$work/cpu.txt") &
    local reader=$!
    sleep 0.5
    echo >&3
    exec 3>&-
    wait "$reader" || true
    if ! wait "$simulator"; then
        echo "$label: the simulator failed: $(tail -n 1 "$work/simulator.txt"); the reader said: $(tail -n 2 "$work/terminal.txt")"
        return
    fi
    local cpu wall
    read -r cpu wall < "$work/cpu.txt"
    printf '%-38s CPU %6.3f %% of a core (%.1f ms in %.2f s)' "$label" \
        "$(echo "$cpu * 100 / $wall" | bc -l)" "$(echo "$cpu * 1000" | bc -l)" "$wall"
    python3 - "$work/terminal.txt" "$cpu" <<'PY'
import json, re, sys
text = open(sys.argv[1]).read()
cpu_us = float(sys.argv[2]) * 1e6
lines = [line for line in text.splitlines() if line.startswith('{')]
if lines:
    stats = json.loads(lines[-1])
    latency = stats["latency"]
    reads, overflows = stats["reads"], stats["overflows"]
    p50, p99, peak = latency["p50_us"], latency["p99_us"], latency["max_us"]
    displays = stats.get("displays")
    lines = None if displays is None else (displays["lines"], displays["queue_dropped"], displays["snapshots_written"])
elif "latency p50" in text:
    reads = re.search(r"reads: (\d+)", text).group(1)
    overflows = re.search(r"overflows: (\d+)", text).group(1)
    p50, p99, peak = map(float, re.search(r"latency p50 / p99 / max: ([\d.]+) / ([\d.]+) / ([\d.]+)", text).groups())
    found = re.search(r"display lines / queue-dropped: (\d+) / (\d+)", text)
    snapshots = re.search(r"snapshots written / failed: (\d+)", text)
    lines = found and (found.group(1), found.group(2), snapshots.group(1))
else:
    print()
    sys.exit()
shown = "" if not lines else f"; display lines {lines[0]}, queue-dropped {lines[1]}, snapshots {lines[2]}"
print(f"; {reads} reads ({cpu_us / int(reads):.1f} us of CPU each, start and exit included), {overflows} overflows;"
      f" read->delivery p50 {p50:.1f} / p99 {p99:.1f} / max {peak:.1f} us{shown}")
PY
    tail -n 1 "$work/simulator.txt"
}

if [[ $sections == *live* ]]; then
echo "live: the mixed stream (20,000 messages, 1.53 MB) over a pty at 2,000,000 baud, ${LIVE_RUNS:-3} rounds"
for round in $(seq "${LIVE_RUNS:-3}"); do
    echo "round $round"
    live "cat (floor: reads, does nothing)" sh -c 'exec cat < PORT'
    live "terminal (default), --json" "$bin" p2 --port PORT --stats --json
    live "terminal (default), text" "$bin" p2 --port PORT --stats
    live "terminal --no-displays, text" "$bin" p2 --port PORT --stats --no-displays
    live "coalesced (--coalesce-ms 10), --json" "$bin" p2 --port PORT --stats --json --coalesce-ms 10
    live "threads free (--cpu any), --json" "$bin" p2 --port PORT --stats --json --cpu any
done
fi

if [[ $sections == *displays* ]]; then
echo "displays: the HSV16 burst (65,539 messages, 0.9 MB) over a pty at 2,000,000 baud, ${LIVE_RUNS:-3} rounds"
for round in $(seq "${LIVE_RUNS:-3}"); do
    echo "round $round"
    rm -rf "$work/snapshots"
    SCENARIO=hsv16 live "cat (floor: reads, does nothing)" sh -c 'exec cat < PORT'
    SCENARIO=hsv16 live "no displays (--no-displays), text" "$bin" p2 --port PORT --stats --no-displays
    SCENARIO=hsv16 live "displays, --snapshots, text" "$bin" p2 --port PORT --stats --snapshots "$work/snapshots"
    SCENARIO=hsv16 live "no displays (--no-displays), --json" "$bin" p2 --port PORT --stats --json --no-displays
    SCENARIO=hsv16 live "displays, --snapshots, --json" "$bin" p2 --port PORT --stats --json --snapshots "$work/snapshots"
done
fi
