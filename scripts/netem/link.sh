#!/usr/bin/env bash
# An emulated link between two network namespaces, for the rlnc transfer tests and benchmark on a kernel
# without sch_netem:
#   ns ${NETEM_NS}a (10.200.0.1) -- ns ${NETEM_NS}r (router) -- ns ${NETEM_NS}b (10.200.0.2)
#   loss : iptables-legacy -m statistic --mode random in r's FORWARD chain, both ways
#   delay: an NFQUEUE delay line (delayline.c, built on first use) holding every forwarded packet DELAY_MS,
#          both ways
#   rate : tc tbf on r's egress both ways, queue limit one bandwidth-delay product (at least 100 kB)
# TSO/GSO/GRO are off on every veth so loss hits single packets. NETEM_NS (default "sg") names the
# namespaces, so parallel runs use their own. Needs root, iproute2, iptables, ethtool, gcc and
# libnetfilter-queue-dev (`link.sh deps` installs them). Nothing leaves the machine.
# usage: link.sh check | deps | setup | shape RATE_MBIT DELAY_MS_ONE_WAY LOSS_FRACTION | teardown
#        then: ip netns exec ${NETEM_NS}b <receiver on 10.200.0.2>; ip netns exec ${NETEM_NS}a <sender>
set -euo pipefail
IPT=iptables-legacy
here=$(cd "$(dirname "$0")" && pwd)
P=${NETEM_NS:-sg}
a=${P}a r=${P}r b=${P}b
work=${TMPDIR:-/tmp}/sluicegate-netem-$P
cmd=${1:-}
shift || true

# Says why emulated links cannot be built here (and exits 1), or nothing.
check() {
    [ "$(id -u)" -eq 0 ] || { echo "not root"; exit 1; }
    for tool in ip tc ethtool gcc $IPT; do
        command -v "$tool" >/dev/null 2>&1 || { echo "$tool is missing (link.sh deps installs it)"; exit 1; }
    done
    [ -e /usr/include/libnetfilter_queue/libnetfilter_queue.h ] ||
        { echo "libnetfilter-queue-dev is missing (link.sh deps installs it)"; exit 1; }
    local probe=${P}probe$$
    ip netns add "$probe" 2>/dev/null || { echo "cannot create network namespaces"; exit 1; }
    ip netns del "$probe"
}

case "$cmd" in
check)
    check
    ;;
deps)
    missing=()
    for p in iproute2 iptables ethtool gcc libnetfilter-queue-dev; do
        dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] || {
        apt-get update -qq &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
    }
    ;;
setup)
    mkdir -p "$work"
    ip netns add "$a"
    ip netns add "$r"
    ip netns add "$b"
    ip link add va netns "$a" type veth peer name ra netns "$r"
    ip link add vb netns "$b" type veth peer name rb netns "$r"
    for ns_if in "$a:va" "$r:ra" "$r:rb" "$b:vb"; do
        ns=${ns_if%%:*} ifc=${ns_if##*:}
        ip -n "$ns" link set "$ifc" up
        ip netns exec "$ns" ethtool -K "$ifc" tso off gso off gro off >/dev/null 2>&1 || true
    done
    for ns in "$a" "$b" "$r"; do ip -n "$ns" link set lo up; done
    ip -n "$a" addr add 10.200.0.1/32 dev va
    ip -n "$b" addr add 10.200.0.2/32 dev vb
    ip -n "$a" route add 10.200.0.2/32 dev va
    ip -n "$b" route add 10.200.0.1/32 dev vb
    ip -n "$r" route add 10.200.0.1/32 dev ra
    ip -n "$r" route add 10.200.0.2/32 dev rb
    mac() { ip netns exec "$1" cat "/sys/class/net/$2/address"; }
    ip -n "$a" neigh add 10.200.0.2 lladdr "$(mac "$r" ra)" dev va nud permanent
    ip -n "$b" neigh add 10.200.0.1 lladdr "$(mac "$r" rb)" dev vb nud permanent
    ip -n "$r" neigh add 10.200.0.1 lladdr "$(mac "$a" va)" dev ra nud permanent
    ip -n "$r" neigh add 10.200.0.2 lladdr "$(mac "$b" vb)" dev rb nud permanent
    ip netns exec "$r" sysctl -qw net.ipv4.ip_forward=1
    for ns in "$a" "$b"; do # long-fat-network buffers, the usual tuning for TCP peers
        ip netns exec "$ns" sysctl -qw net.ipv4.tcp_rmem="4096 131072 67108864"
        ip netns exec "$ns" sysctl -qw net.ipv4.tcp_wmem="4096 16384 67108864"
        ip netns exec "$ns" sysctl -qw net.core.rmem_max=67108864 2>/dev/null || true
        ip netns exec "$ns" sysctl -qw net.core.wmem_max=67108864 2>/dev/null || true
    done
    ;;
shape)
    rate=$1 delay=$2 loss=$3
    mkdir -p "$work"
    [ -x "$work/delayline" ] || gcc -O2 -o "$work/delayline" "$here/delayline.c" -lnetfilter_queue
    ip netns exec "$r" $IPT -F FORWARD
    [ "$loss" = "0" ] || ip netns exec "$r" $IPT -A FORWARD -m statistic --mode random --probability "$loss" -j DROP
    ip netns exec "$r" $IPT -A FORWARD -j NFQUEUE --queue-num 0
    bytes_per_s=$((rate * 125000))
    limit=$((bytes_per_s * delay * 2 / 1000))
    [ $limit -lt 100000 ] && limit=100000
    burst=$((rate * 125000 / 250))
    [ $burst -lt 16000 ] && burst=16000
    for ifc in ra rb; do
        ip netns exec "$r" tc qdisc replace dev "$ifc" root tbf rate "${rate}mbit" burst "$burst" limit "$limit"
    done
    if [ -f "$work/delayline.pid" ]; then
        kill "$(cat "$work/delayline.pid")" 2>/dev/null || true
        sleep 0.3
    fi
    ip netns exec "$r" "$work/delayline" "$delay" 0 </dev/null >/dev/null 2>>"$work/delayline.log" &
    echo $! >"$work/delayline.pid"
    sleep 0.5
    ;;
teardown)
    if [ -f "$work/delayline.pid" ]; then
        kill "$(cat "$work/delayline.pid")" 2>/dev/null || true
        rm -f "$work/delayline.pid"
    fi
    for ns in "$a" "$b" "$r"; do ip netns del "$ns" 2>/dev/null || true; done
    rm -rf "$work"
    ;;
*)
    sed -n 2,13p "$0"
    exit 2
    ;;
esac
