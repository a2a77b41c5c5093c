#!/usr/bin/env bash
# The rlnc transfer benchmark, as recorded in BENCHMARKS.md ("rlnc transfer over emulated links"): a 100 MB
# random file over emulated links (scripts/netem/link.sh; delay one way, loss both ways)
#   1 Gbit/s 20 ms 0 %, 1 Gbit/s 20 ms 1 %, 100 Mbit/s 50 ms 5 %, 100 Mbit/s 50 ms 20 %
# with `sluicegate rlnc send`/`recv` on default flags (encrypted: both ends hold a key file; and, to show
# what the encryption costs, --insecure), TCP with CUBIC and with BBR (a plain socket copy,
# scripts/netem/tcp_copy.py, congestion control set per socket) and uftp with its congestion control
# (TFMCC), side by side in one run: ROUNDS rounds (default 2), the tools in turn on each link. Then the
# fairness run: rlnc and one TCP CUBIC flow sharing a clean 100 Mbit/s, 20 ms link (rlnc joining the CUBIC
# flow, and the CUBIC flow joining rlnc).
# Goodput is the file's bytes over the sender's wall time. A transfer that has not finished after CAP seconds
# (default 150) is stopped: TCP is then credited with what its receiver got by then, uftp with nothing.
# Root only (namespaces); installs uftp and the netem tools when missing. One JSON line per transfer on
# stdout, a summary table on stderr. Usage: [ROUNDS=2] [CAP=150] [MB=100] scripts/bench-rlnc-links.sh
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=${ROUNDS:-2}
cap=${CAP:-150}
mb=${MB:-100}
export NETEM_NS=sgbench
netem=scripts/netem/link.sh
tcp=scripts/netem/tcp_copy.py

"$netem" deps
dpkg -s uftp >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends uftp
"$netem" check >&2
cargo build --release --locked -p sluicegate-cli >&2
bin=$PWD/target/release/sluicegate
work=$(mktemp -d)
"$netem" teardown >/dev/null 2>&1 || true
"$netem" setup
trap '"$netem" teardown; rm -rf "$work"' EXIT
# `ip netns exec` execs the command in place, so $! of a background "${in_b[@]}" ... is the command itself.
in_a=(ip netns exec "${NETEM_NS}a")
in_b=(ip netns exec "${NETEM_NS}b")

head -c "$((mb * 1000000))" /dev/urandom >"$work/in.bin"
head -c 32 /dev/urandom >"$work/key"
bytes=$(stat -c %s "$work/in.bin")
sha=$(sha256sum "$work/in.bin" | cut -d' ' -f1)
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs, $(uname -r); load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
echo "file: $bytes bytes, sha256 $sha; rounds $rounds, cap $cap s" >&2

now() { date +%s.%N; }
# One result line: tool link round seconds finished(true/false) delivered_bytes [extra json]
emit() {
    local tool=$1 link=$2 round=$3 seconds=$4 finished=$5 delivered=$6 extra=${7:-}
    printf '{"tool":"%s","link":"%s","round":%s,"seconds":%.3f,"finished":%s,"delivered":%s,"mb_per_s":%.3f%s}\n' \
        "$tool" "$link" "$round" "$seconds" "$finished" "$delivered" \
        "$(echo "$delivered / $seconds / 1000000" | bc -l)" "$extra"
}

run_rlnc() { # link round [security flags]: encrypted with the key file unless given --insecure
    local tool=rlnc security=(--key-file "$work/key")
    if [ "${3:-}" = --insecure ]; then
        tool=rlnc-insecure security=(--insecure)
    fi
    rm -f "$work/out.bin"
    "${in_b[@]}" "$bin" rlnc recv --listen 10.200.0.2:7000 "${security[@]}" --out "$work/out.bin" --wait 60 --json >"$work/recv.json" 2>"$work/recv.err" &
    local receiver=$!
    sleep 0.3
    local start end finished=false delivered=0
    start=$(now)
    if "${in_a[@]}" timeout "$cap" "$bin" rlnc send "$work/in.bin" --to 10.200.0.2:7000 "${security[@]}" --json >"$work/send.json" 2>"$work/send.err"; then
        finished=true
    fi
    end=$(now)
    wait "$receiver" || true
    if [ "$finished" = true ] && [ "$(sha256sum "$work/out.bin" | cut -d' ' -f1)" = "$sha" ]; then
        delivered=$bytes
    else
        finished=false
        kill "$receiver" 2>/dev/null || true
    fi
    local overhead
    overhead=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("overhead", 0))' "$work/send.json" 2>/dev/null || echo 0)
    emit "$tool" "$1" "$2" "$(echo "$end - $start" | bc -l)" "$finished" "$delivered" ",\"overhead\":$overhead"
}

run_tcp() { # cc link round
    "${in_b[@]}" python3 "$tcp" recv 7001 --log "$work/tcp.log" >/dev/null 2>&1 &
    local receiver=$!
    sleep 0.3
    local start end finished=false delivered
    start=$(now)
    if "${in_a[@]}" timeout "$cap" python3 "$tcp" send 10.200.0.2 7001 "$work/in.bin" --cc "$1" >"$work/tcp.json" 2>/dev/null; then
        finished=true
    fi
    end=$(now)
    if [ "$finished" = true ] && grep -q "\"$sha\"" "$work/tcp.json"; then
        delivered=$bytes
        wait "$receiver" || true
    else
        finished=false
        kill "$receiver" 2>/dev/null || true
        wait "$receiver" 2>/dev/null || true
        delivered=$(tail -n 1 "$work/tcp.log" | cut -d' ' -f2)
        delivered=${delivered:-0}
    fi
    emit "tcp-$1" "$2" "$3" "$(echo "$end - $start" | bc -l)" "$finished" "$delivered"
}

run_uftp() { # link round
    rm -rf "$work/uftp" && mkdir -p "$work/uftp"
    "${in_b[@]}" uftpd -d -D "$work/uftp" >"$work/uftpd.log" 2>&1 &
    local receiver=$!
    sleep 0.5
    local start end finished=false delivered=0
    start=$(now)
    if (cd "$work" && "${in_a[@]}" timeout "$cap" uftp -M 10.200.0.2 -C tfmcc in.bin >"$work/uftp.log" 2>&1); then
        finished=true
    fi
    end=$(now)
    kill "$receiver" 2>/dev/null || true
    wait "$receiver" 2>/dev/null || true
    if [ "$finished" = true ] && [ -f "$work/uftp/in.bin" ] &&
        [ "$(sha256sum "$work/uftp/in.bin" | cut -d' ' -f1)" = "$sha" ]; then
        delivered=$bytes
    else
        finished=false
    fi
    emit uftp "$1" "$2" "$(echo "$end - $start" | bc -l)" "$finished" "$delivered"
}

results=$work/results.jsonl
for link in "1000 20 0" "1000 20 0.01" "100 50 0.05" "100 50 0.2"; do
    read -r rate delay loss <<<"$link"
    "$netem" shape "$rate" "$delay" "$loss"
    name="${rate}Mbit/${delay}ms/${loss}"
    for round in $(seq 1 "$rounds"); do
        run_rlnc "$name" "$round" | tee -a "$results"
        run_rlnc "$name" "$round" --insecure | tee -a "$results"
        run_tcp bbr "$name" "$round" | tee -a "$results"
        run_tcp cubic "$name" "$round" | tee -a "$results"
        run_uftp "$name" "$round" | tee -a "$results"
    done
done

# Fairness: a clean 100 Mbit/s, 20 ms link. A CUBIC flow of zeros runs 40 s; rlnc sends the file from 5 s on
# (or first, the CUBIC flow joining 2 s later). Each one's goodput over the stretch both ran, from the TCP
# receiver's log and the size of rlnc's output polled every 100 ms.
"$netem" shape 100 20 0
fair() { # order: cubic-first | rlnc-first
    rm -rf "$work/fair" "$work/tcp.log" && mkdir -p "$work/fair"
    "${in_b[@]}" python3 "$tcp" recv 7001 --log "$work/tcp.log" >/dev/null 2>&1 &
    local tcp_receiver=$!
    "${in_b[@]}" "$bin" rlnc recv --listen 10.200.0.2:7000 --key-file "$work/key" --out "$work/fair/out.bin" --wait 60 >/dev/null 2>&1 &
    local rlnc_receiver=$!
    while kill -0 "$rlnc_receiver" 2>/dev/null; do
        echo "$(now) $(du -sb "$work/fair" | cut -f1)"
        sleep 0.1
    done >"$work/rlnc.log" &
    local poller=$!
    sleep 0.3
    local tcp_sender rlnc_sender start end
    if [ "$1" = cubic-first ]; then
        "${in_a[@]}" python3 "$tcp" send 10.200.0.2 7001 --seconds 40 --cc cubic >/dev/null &
        tcp_sender=$!
        sleep 5
        start=$(now)
        "${in_a[@]}" "$bin" rlnc send "$work/in.bin" --to 10.200.0.2:7000 --key-file "$work/key" >/dev/null 2>&1
        end=$(now)
    else
        "${in_a[@]}" "$bin" rlnc send "$work/in.bin" --to 10.200.0.2:7000 --key-file "$work/key" >/dev/null 2>&1 &
        rlnc_sender=$!
        sleep 2
        start=$(now)
        "${in_a[@]}" python3 "$tcp" send 10.200.0.2 7001 --seconds 40 --cc cubic >/dev/null &
        tcp_sender=$!
        wait "$rlnc_sender"
        end=$(now)
    fi
    wait "$rlnc_receiver" || true
    wait "$poller" || true
    wait "$tcp_sender" || true
    wait "$tcp_receiver" || true
    python3 - "$work/tcp.log" "$work/rlnc.log" "$start" "$end" "$1" <<'EOF'
import json, sys
tcp_log, rlnc_log, start, end, order = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
def rate(path):
    points = [tuple(map(float, line.split())) for line in open(path) if len(line.split()) == 2]
    def at(t):
        before = [b for (s, b) in points if s <= t]
        return before[-1] if before else 0.0
    return (at(end) - at(start)) / (end - start)
tcp, rlnc = (rate(tcp_log), rate(rlnc_log)) if end > start else (0.0, 0.0)
share = rlnc / (rlnc + tcp) if rlnc + tcp > 0 else None
print(json.dumps({"tool": "fairness", "order": order, "seconds": end - start, "tcp_mb_per_s": tcp / 1e6,
                  "rlnc_mb_per_s": rlnc / 1e6, "rlnc_share": share}))
EOF
}
fair cubic-first | tee -a "$results"
fair rlnc-first | tee -a "$results"

python3 - "$results" >&2 <<'EOF'
import json, sys, collections
rows = [json.loads(l) for l in open(sys.argv[1])]
links = ["1000Mbit/20ms/0", "1000Mbit/20ms/0.01", "100Mbit/50ms/0.05", "100Mbit/50ms/0.2"]
tools = ["rlnc", "rlnc-insecure", "tcp-bbr", "tcp-cubic", "uftp"]
by = collections.defaultdict(list)
for r in rows:
    if r["tool"] in tools:
        by[(r["link"], r["tool"])].append(r)
print("\n| link | goal 90 % of rate × (1 − loss) | " + " | ".join(tools) + " |")
print("|---|---:|" + "---:|" * len(tools))
for link in links:
    rate, _, loss = link.split("/")
    target = 0.9 * float(rate[:-4]) / 8 * (1 - float(loss))
    cells = []
    for tool in tools:
        mbs = sorted(r["mb_per_s"] for r in by[(link, tool)])
        unfinished = any(not r["finished"] for r in by[(link, tool)])
        if not mbs:
            cells.append("–")
            continue
        text = f"{mbs[0]:.1f}" if len(mbs) == 1 or abs(mbs[-1] - mbs[0]) < 0.05 else f"{mbs[0]:.1f}–{mbs[-1]:.1f}"
        cells.append(text + (" (cap)" if unfinished else ""))
    print(f"| {link} | {target:.1f} MB/s | " + " | ".join(c + " MB/s" if c != "–" else c for c in cells) + " |")
for r in rows:
    if r["tool"] == "fairness" and r["rlnc_share"] is None:
        print(f"fairness ({r['order']}): the flows did not overlap")
    elif r["tool"] == "fairness":
        print(f"fairness ({r['order']}, {r['seconds']:.1f} s together): rlnc {r['rlnc_mb_per_s']:.2f} MB/s, "
              f"CUBIC {r['tcp_mb_per_s']:.2f} MB/s, rlnc share {r['rlnc_share']:.0%}")
EOF
