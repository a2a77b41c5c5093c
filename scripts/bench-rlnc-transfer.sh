#!/usr/bin/env bash
# The rlnc transfer over loopback, as recorded in BENCHMARKS.md ("rlnc transfer"): a SIZE_MB random file
# (default 100) sent by `rlnc send` to `rlnc recv` on 127.0.0.1 without injected loss, RUNS rounds (default 3)
# of each configuration, next to a TCP copy over loopback in the same round (the kernel's TCP, a plain
# socket copy: sendfile out, recv_into in, with and without SHA-256 at both ends as rlnc does). Prints per
# run goodput (input bytes over the sender's wall time), packets sent over the minimum, datagrams dropped in
# the receiver's socket, and CPU seconds per GB (user + system, all threads) of the sender and the receiver.
# Extra `rlnc send` flags per configuration come from CONFIGS (";"-separated), default: the defaults, and
# unpaced with a 64-generation window. Each configuration runs sealed (both ends given one key file: the
# ChaCha20-Poly1305 channel) and in the clear (`--insecure`), side by side in the same round.
set -euo pipefail
cd "$(dirname "$0")/.."

size_mb=${SIZE_MB:-100}
runs=${RUNS:-3}
IFS=';' read -r -a configs <<< "${CONFIGS:-;--rate 0 --window 64}"

cargo build --release --locked -p sluicegate-cli >&2
bin=$PWD/target/release/sluicegate
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
head -c "$((size_mb * 1000000))" /dev/urandom > "$work/in.bin"
head -c 32 /dev/urandom > "$work/key"

# One transfer: prints "goodput_mb_s overhead socket_drops sender_cpu_per_gb receiver_cpu_per_gb".
rlnc_run() {
    local flags=$1 security=$2 addr
    rm -f "$work/out.bin" "$work/recv.err"
    # shellcheck disable=SC2086 # security is words
    "$bin" rlnc recv --listen 127.0.0.1:0 --out "$work/out.bin" --json --linger-ms 100 $security \
        > "$work/recv.json" 2> "$work/recv.err" &
    local receiver=$!
    for _ in $(seq 100); do
        addr=$(sed -n 's/^listening on //p' "$work/recv.err")
        [ -n "$addr" ] && break
        sleep 0.05
    done
    # shellcheck disable=SC2086 # flags are words
    "$bin" rlnc send "$work/in.bin" --to "$addr" --json $flags $security > "$work/send.json" 2> "$work/send.err"
    wait "$receiver"
    cmp -s "$work/in.bin" "$work/out.bin" || { echo "output differs" >&2; exit 1; }
    python3 - "$work/send.json" "$work/recv.json" <<'EOF'
import json, sys
send, recv = (json.load(open(p)) for p in sys.argv[1:3])
print(f"{send['mb_per_s']:.0f} {send['overhead']:.4f} {recv['socket_drops']} "
      f"{send['cpu_seconds_per_gb']:.2f} {recv['cpu_seconds_per_gb']:.2f}")
EOF
}

# The peer: a TCP copy over loopback; HASH=1 hashes with SHA-256 on both ends. Prints goodput in MB/s.
tcp_run() {
    HASH=$1 python3 - "$work/in.bin" "$work/tcp.bin" <<'EOF'
import hashlib, os, socket, sys, threading, time
src, dst = sys.argv[1:3]
hashing = os.environ["HASH"] == "1"
server = socket.create_server(("127.0.0.1", 0))
port = server.getsockname()[1]
def receive():
    conn, _ = server.accept()
    h, buf = hashlib.sha256(), bytearray(1 << 20)
    view = memoryview(buf)
    with open(dst, "wb") as out:
        while (n := conn.recv_into(buf)) > 0:
            out.write(view[:n])
            if hashing:
                h.update(view[:n])
receiver = threading.Thread(target=receive)
receiver.start()
start = time.perf_counter()
with socket.create_connection(("127.0.0.1", port)) as conn, open(src, "rb") as f:
    if hashing:
        h = hashlib.sha256()
        while chunk := f.read(1 << 20):
            h.update(chunk)
        f.seek(0)
    conn.sendfile(f)
    conn.shutdown(socket.SHUT_WR)
    receiver.join()
print(f"{os.path.getsize(src) / (time.perf_counter() - start) / 1e6:.0f}")
EOF
}

echo "# $(date -u +%FT%TZ), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) vCPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# ${size_mb} MB, loopback, no injected loss; rmem_max $(cat /proc/sys/net/core/rmem_max), wmem_max $(cat /proc/sys/net/core/wmem_max)"
printf '%-4s %-40s %9s %9s %6s %12s %12s\n' run config "MB/s" overhead drops "send s/GB" "recv s/GB"
for run in $(seq "$runs"); do
    for flags in "${configs[@]}"; do
        for security in "--key-file $work/key" "--insecure"; do
            read -r mbs overhead drops send_cpu recv_cpu <<< "$(rlnc_run "$flags" "$security")"
            label="rlnc ${flags:-(defaults)} ${security%% *}"
            printf '%-4s %-40s %9s %9s %6s %12s %12s\n' "$run" "$label" "$mbs" "$overhead" "$drops" "$send_cpu" "$recv_cpu"
        done
    done
    printf '%-4s %-40s %9s\n' "$run" "tcp copy" "$(tcp_run 0)"
    printf '%-4s %-40s %9s\n' "$run" "tcp copy + sha256 both ends" "$(tcp_run 1)"
done
