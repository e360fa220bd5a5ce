#!/usr/bin/env bash
# The long differential fuzz run (issue 26): 100,000 seeded random commands against zedis-server and a real
# redis-server, replies compared byte for byte (server/tests/differential.rs). Release build.
# Usage: scripts/fuzz-diff.sh [seed]   (ZEDIS_FUZZ_OPS overrides the count; a failure prints its seed)
set -euo pipefail
cd "$(dirname "$0")/.."
export ZEDIS_FUZZ_OPS="${ZEDIS_FUZZ_OPS:-100000}"
if [ $# -ge 1 ]; then export ZEDIS_FUZZ_SEED="$1"; fi
exec cargo test --release -p zedis-server --test differential -- --nocapture
