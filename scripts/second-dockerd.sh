#!/usr/bin/env bash
# A second Docker engine on this machine that argon reaches over TCP, as it
# would reach a Docker engine on another host (DOCKER_HOST=tcp://...): the
# tests of a remote engine host, and of Docker restarted under argon, use it
# so that restarting it never disturbs the tests on the main engine.
#   second-dockerd.sh start    start it unless it runs; print its DOCKER_HOST
#   second-dockerd.sh restart  stop it (as `systemctl restart docker` does) and start it again
# Its own data, exec root and pid file live under $STATE/dockerd2; it makes no
# default bridge and leaves iptables alone (the first engine owns them), and
# listens on 127.0.0.1 only, without TLS: never expose such a socket further.
# Its networks come from their own address pool: two engines allocating from
# the same default pool can give two bridges one subnet, and a container of one
# then answers for a container of the other.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
STATE=${ARGON_TEST_STATE:-$ROOT/target/test-services}/dockerd2
mkdir -p "$STATE"
log() { printf '[second-dockerd] %s\n' "$*" >&2; }

running() { [ -f "$STATE/docker.pid" ] && kill -0 "$(cat "$STATE/docker.pid")" 2>/dev/null; }

stop() {
  if running; then
    local pid
    pid=$(cat "$STATE/docker.pid")
    kill -TERM "$pid"
    for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
}

start() {
  local port
  # One started by an earlier version of this script (no own address pool) goes.
  if running && ! grep -q "default-address-pool" "/proc/$(cat "$STATE/docker.pid")/cmdline" 2>/dev/null; then
    stop
  fi
  if running && [ -f "$STATE/port" ]; then
    port=$(cat "$STATE/port")
  else
    port=$(cat "$STATE/port" 2>/dev/null || python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    echo "$port" >"$STATE/port"
    log "starting a second dockerd on tcp://127.0.0.1:$port (log: $STATE/dockerd.log)"
    # Its own containerd too: sharing the first engine's would mix their containers.
    nohup dockerd --host "tcp://127.0.0.1:$port" --data-root "$STATE/data" \
      --exec-root "$STATE/exec" --pidfile "$STATE/docker.pid" \
      --bridge none --iptables=false --ip-masq=false \
      --default-address-pool base=10.213.0.0/16,size=24 >>"$STATE/dockerd.log" 2>&1 &
  fi
  for _ in $(seq 1 120); do
    DOCKER_HOST="tcp://127.0.0.1:$port" docker version >/dev/null 2>&1 && break
    sleep 0.5
  done
  DOCKER_HOST="tcp://127.0.0.1:$port" docker version >/dev/null 2>&1 \
    || { log "the second dockerd did not come up; see $STATE/dockerd.log"; exit 1; }
  # Networks left by earlier runs may hold subnets of the first engine's pool.
  DOCKER_HOST="tcp://127.0.0.1:$port" docker network prune -f >/dev/null 2>&1 || true
  echo "tcp://127.0.0.1:$port"
}

case "${1:-start}" in
  start) start ;;
  restart) stop; start ;;
  *) log "usage: $0 start|restart"; exit 2 ;;
esac
