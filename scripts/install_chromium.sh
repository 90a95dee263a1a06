#!/usr/bin/env bash
# Install Debian's chromium for the simulator's real-browser tests (Playwright drives it through
# its executable path; no browser is downloaded). Idempotent: returns at once when installed.
# Needs root (or sudo) and Debian's package lists; a machine without apt-get is told what to do.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install_chromium: no apt-get here; install chromium yourself (the browser tests need it)" >&2
  exit 1
fi
sudo=()
if [[ $(id -u) -ne 0 ]]; then
  sudo=(sudo)
fi
echo "installing Debian's chromium (browser tests of the simulator)"
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends chromium >/dev/null
command -v chromium >/dev/null
