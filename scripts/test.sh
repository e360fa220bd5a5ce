#!/usr/bin/env bash
# The project's test command: installs what the tests need, then runs the whole workspace's tests, the
# server's integration suite under every memory-strategy combination, and the redis-benchmark / redis-cli
# compatibility smoke checks against the real binary.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || need+=(redis-tools)
command -v openssl >/dev/null 2>&1 || need+=(openssl)   # the TLS tests make their certificates with it
if [ ${#need[@]} -gt 0 ]; then
  echo "== installing ${need[*]} (reference server and tools for the compatibility and TLS tests)"
  if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

# Real clients for server/tests/real_clients.rs. A failed install prints a note; those tests then skip.
if ! command -v nutcracker >/dev/null 2>&1; then
  echo "== installing nutcracker (twemproxy, for the proxy test)"
  if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
  { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nutcracker >/dev/null; } ||
    echo "note: could not install nutcracker; the twemproxy test will be skipped"
fi
pyenv="$(realpath -m "${CARGO_TARGET_DIR:-target}")/pyenv"
venv_with_redis() {
  python3 -m venv "$pyenv" >/dev/null 2>&1 && "$pyenv/bin/python" -m pip install -q redis >/dev/null 2>&1
}
if [ -x "$pyenv/bin/python" ] && "$pyenv/bin/python" -c 'import redis' 2>/dev/null; then
  export ZEDIS_PYTHON="$pyenv/bin/python"
else
  echo "== installing redis-py into $pyenv (for the redis-py test)"
  if venv_with_redis ||
    { if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
      DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-venv python3-pip >/dev/null 2>&1 && venv_with_redis; }; then
    export ZEDIS_PYTHON="$pyenv/bin/python"
  elif python3 -m pip install -q --user redis >/dev/null 2>&1 ||
    python3 -m pip install -q --user --break-system-packages redis >/dev/null 2>&1; then
    export ZEDIS_PYTHON=python3
  else
    echo "note: could not install redis-py (pip); the redis-py test will be skipped"
  fi
fi

echo "== cargo test --workspace"
cargo test --workspace

echo "== server integration suite under every strategy combination"
for kv in pool system; do
  for req in arena heap; do
    for cl in pool heap; do
      args="--kv-allocator $kv --request-allocator $req --client-allocator $cl"
      echo "-- $args"
      ZEDIS_TEST_ARGS="$args" cargo test -q -p zedis-server --test server
    done
  done
done

echo "== redis-cli and redis-benchmark against zedis-server"
cargo build -q -p zedis-server
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"${CARGO_TARGET_DIR:-target}/debug/zedis-server" --port "$port" --save "" >/tmp/zedis-smoke.log 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
test "$(redis-cli -p "$port" set smoke ok)" = "OK"
test "$(redis-cli -p "$port" get smoke)" = "ok"
out=$(redis-benchmark -p "$port" -t ping,set,get,incr,mset -n 2000 -c 10 -q 2>&1)
echo "$out"
if echo "$out" | grep -qi "error"; then echo "redis-benchmark reported an error"; exit 1; fi
test "$(echo "$out" | grep -c 'requests per second')" -ge 5
redis-cli -p "$port" shutdown >/dev/null 2>&1 || true
wait $pid 2>/dev/null || true
trap - EXIT
echo "1 passed, 0 failed: compatibility smoke (redis-cli, redis-benchmark)"
