#!/usr/bin/env bash
# Installs what replicate needs on Debian/Ubuntu (only what is missing), then builds the release binary.
# Usage (as root, or with sudo available): bash scripts/setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
for pkg in libopenblas-dev dataset-fashion-mnist pkg-config zlib1g-dev; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}"
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}"
fi
command -v swift >/dev/null || { echo "setup: Swift 6 is required (https://www.swift.org/install/)" >&2; exit 2; }
swift build -c release
echo "setup: done; run .build/release/replicate all"
