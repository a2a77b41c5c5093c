#!/usr/bin/env bash
# Installs the Debian packages sluicegate builds and tests with, only when one is missing, and says which:
# libpulse-dev and pkg-config for the audio crate, a PulseAudio server and pactl/pacat for its integration
# tests, Node.js and npm for the Node binding, Chromium for the p2 browser UI's tests (driven headless), and
# for the rlnc transfer tests on emulated links (scripts/netem) iproute2, iptables, ethtool, gcc and
# libnetfilter-queue-dev. With SLUICEGATE_NO_INSTALL=1 it installs nothing and only names what is missing.
set -euo pipefail

packages=(pkg-config libpulse-dev pulseaudio pulseaudio-utils iproute2 iptables ethtool gcc libnetfilter-queue-dev)
# The Node binding's tests need Node.js and npm; a machine that has them from elsewhere (nvm, NodeSource) keeps
# its own.
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)
# The p2 UI's browser tests drive a headless Chromium over the DevTools protocol; nothing is downloaded at test time.
command -v chromium >/dev/null 2>&1 || packages+=(chromium)
missing=()
for package in "${packages[@]}"; do
    if ! dpkg -s "$package" >/dev/null 2>&1; then
        missing+=("$package")
    fi
done

if [ "${#missing[@]}" -eq 0 ]; then
    echo "install-deps: every package is present (${packages[*]})" >&2
    exit 0
fi

if [ "${SLUICEGATE_NO_INSTALL:-0}" = 1 ]; then
    echo "install-deps: missing ${missing[*]}; not installing (SLUICEGATE_NO_INSTALL=1): tests that need them will fail" >&2
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    sudo=()
else
    sudo=(sudo)
fi

echo "install-deps: installing ${missing[*]} with apt-get (SLUICEGATE_NO_INSTALL=1 skips this)" >&2
# Lists left from an earlier update can name versions the mirror no longer has, so refresh them whenever
# something must be installed (and only then).
"${sudo[@]}" apt-get update
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
