#!/usr/bin/env bash
# The audio tests make their spoken words with Debian's espeak-ng (tests/support/spoken_words.py).
# Install it when missing and we may (root with apt); otherwise say in one line how to.
set -euo pipefail
command -v espeak-ng >/dev/null 2>&1 && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing espeak-ng for the audio tests (apt-get install espeak-ng)..."
  (apt-get install -y -q espeak-ng >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q espeak-ng >/dev/null; }) && exit 0
fi
echo "The audio tests need espeak-ng: run 'sudo apt-get install espeak-ng', then 'make test' again." >&2
exit 1
