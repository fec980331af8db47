#!/usr/bin/env bash
# install-deps.sh — install segdb's build and test dependencies from Debian.
# Skips apt-get when every package is already installed (unless FORCE=1);
# CI always runs it (fresh machines have nothing).
set -euo pipefail
PKGS=(build-essential cmake pkg-config clang libroaring-dev libxxhash-dev liblz4-dev
      libcriterion-dev libedit-dev libutf8proc-dev redis-tools redis-server python3
      python3-redis procps)
missing=()
for p in "${PKGS[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ] && [ "${FORCE:-0}" != 1 ]; then
  echo "install-deps: all packages present"
  exit 0
fi
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${PKGS[@]}" >/dev/null
echo "install-deps: installed ${missing[*]:-(forced)}"
