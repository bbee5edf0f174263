#!/usr/bin/env bash
# Installs the real servers and tools the test suite drives, when missing. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v redis-server >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing redis-server (Debian)"
    (apt-get install -y -qq redis-server >/dev/null 2>&1) || \
      (apt-get update -qq >/dev/null && apt-get install -y -qq redis-server >/dev/null)
  else
    echo "redis-server missing and cannot be installed here: Redis tests will skip" >&2
  fi
fi

# Headless Chromium and its driver for the dashboard's browser tests (Debian packages; no
# driver download at test time).
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing chromium + chromium-driver (Debian)"
    (apt-get install -y -qq chromium chromium-driver >/dev/null 2>&1) || \
      (apt-get update -qq >/dev/null && apt-get install -y -qq chromium chromium-driver >/dev/null)
  else
    echo "chromium/chromedriver missing and cannot be installed here: dashboard tests will fail" >&2
  fi
fi

# PostgreSQL (Debian's server binaries; the ledger tests run initdb/pg_ctl themselves).
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing postgresql (Debian)"
    (apt-get install -y -qq postgresql >/dev/null 2>&1) || \
      (apt-get update -qq >/dev/null && apt-get install -y -qq postgresql >/dev/null)
  else
    echo "PostgreSQL missing and cannot be installed here: the ledger tests will fail" >&2
  fi
fi

for script in tests/packaging/install-tools.sh tests/packaging/install-tf-tools.sh \
  tests/e2e/install-agents.sh; do
  if [ -f "$script" ]; then bash "$script"; fi
done
