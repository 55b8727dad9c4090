#!/usr/bin/env bash
# Installs the Debian packages the build needs, and only those that are missing.
# As root it runs apt-get; otherwise it prints the command to run.
set -euo pipefail

packages=(
  g++ cmake ninja-build make pkg-config
  libcaf-dev            # CAF 0.17.6: the actor runtime
  librdkafka-dev        # Kafka client
  flatbuffers-compiler libflatbuffers-dev   # wire format (flatc at build time)
  liblmdb-dev           # checkpoints and state
  libboost-test-dev     # unit tests
  libxxhash-dev         # hash() and key hashing
  libsimdjson-dev       # JSON lines source (simdjson)
  libpg-query-dev       # SQL parsing (PostgreSQL's grammar)
  libcli11-dev          # the sluice command line
  kcat                  # a real Kafka client, for interoperability tests
  libzstd-dev libsnappy-dev   # Parquet compression codecs
  libcpp-httplib-dev    # metrics endpoint and dashboard
  chromium              # browser tests of the dashboard (headless)
)
# Node.js and npm run DuckDB (the oracle) and the browser tests; the machine's own Node.js
# is used when there is one (it may come from elsewhere than Debian, with npm bundled).
if ! command -v npm >/dev/null 2>&1; then
  packages+=(nodejs npm)
fi

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "Missing Debian packages: ${missing[*]}" >&2
  echo "Install them with:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y --no-install-recommends "${missing[@]}"; then
  # A fresh machine may have no package lists yet.
  apt-get update
  apt-get install -y --no-install-recommends "${missing[@]}"
fi
