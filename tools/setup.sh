#!/usr/bin/env bash
# Installs, idempotently and only when missing, the system packages Warren and its tests use.
# Not root: prints the exact command to run instead and exits non-zero.
set -euo pipefail

pkgs=(containerd runc golang-github-containerd-containerd-dev containernetworking-plugins
  wireguard-tools wireguard-go iptables nftables conntrack iproute2 busybox-static docker-registry
  protobuf-compiler golang-github-containerd-cgroups-dev perl)
missing=()
for pkg in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" != 0 ]; then
  echo "warren setup: missing system packages: ${missing[*]}" >&2
  echo "run as root: $cmd" >&2
  exit 1
fi
echo "warren setup: installing ${missing[*]}" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
# docker-registry's package starts a system registry on :5000 with htpasswd auth; tests run their own.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet docker-registry 2>/dev/null; then
  systemctl stop docker-registry || true
fi
