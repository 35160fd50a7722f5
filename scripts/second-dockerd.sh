#!/usr/bin/env bash
# A second Docker engine on this machine that argon reaches over TCP with TLS,
# as it would reach a Docker engine on another host (DOCKER_HOST=tcp://...,
# DOCKER_TLS_VERIFY=1, DOCKER_CERT_PATH): the tests of a remote engine host,
# and of Docker restarted under argon, use it so that restarting it never
# disturbs the tests on the main engine.
#   second-dockerd.sh start    start it unless it runs; print its DOCKER_HOST
#   second-dockerd.sh restart  stop it (as `systemctl restart docker` does) and start it again
#   second-dockerd.sh certs    print the DOCKER_CERT_PATH of its client certificate
# Its own data, exec root and pid file live under $STATE/dockerd2; it makes no
# default bridge and leaves iptables alone (the first engine owns them). It
# listens on 127.0.0.2, another address than the first engine's 127.0.0.1, as
# another machine would be: engines it runs are published there, so a client
# that still dialled 127.0.0.1 would miss them. It requires a client
# certificate from its own test CA (made here, in $STATE/dockerd2/tls).
# Its networks come from their own address pool: two engines allocating from
# the same default pool can give two bridges one subnet, and a container of one
# then answers for a container of the other.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
STATE=${ARGON_TEST_STATE:-$ROOT/target/test-services}/dockerd2
mkdir -p "$STATE"
log() { printf '[second-dockerd] %s\n' "$*" >&2; }

ADDRESS=127.0.0.2
TLS=$STATE/tls

# A CA, a server certificate for $ADDRESS and a client certificate, once.
certs() {
  [ -f "$TLS/client/cert.pem" ] && return
  command -v openssl >/dev/null || { apt-get install -y -qq openssl >&2; }
  mkdir -p "$TLS/client"
  (
    cd "$TLS"
    umask 077
    openssl genrsa -out ca-key.pem 2048 2>/dev/null
    openssl req -x509 -new -key ca-key.pem -days 3650 -subj "/CN=argon test CA" -out ca.pem
    openssl genrsa -out server-key.pem 2048 2>/dev/null
    openssl req -new -key server-key.pem -subj "/CN=$ADDRESS" -out server.csr
    printf 'subjectAltName=IP:%s\nextendedKeyUsage=serverAuth\n' "$ADDRESS" >server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial \
      -days 3650 -extfile server.ext -out server-cert.pem 2>/dev/null
    openssl genrsa -out client/key.pem 2048 2>/dev/null
    openssl req -new -key client/key.pem -subj "/CN=argon tests" -out client.csr
    printf 'extendedKeyUsage=clientAuth\n' >client.ext
    openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial \
      -days 3650 -extfile client.ext -out client/cert.pem 2>/dev/null
    cp ca.pem client/ca.pem
  )
}

# The docker CLI against this engine.
docker2() { DOCKER_HOST="tcp://$ADDRESS:$1" DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH="$TLS/client" docker "${@:2}"; }

running() { [ -f "$STATE/docker.pid" ] && kill -0 "$(cat "$STATE/docker.pid")" 2>/dev/null; }

stop() {
  if running; then
    local pid
    pid=$(cat "$STATE/docker.pid")
    kill -TERM "$pid"
    for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
}

# Another clone's second dockerd (an earlier CI run, another worktree) would
# allocate networks from the same address pool: one runs per machine.
stop_others() {
  local pid
  for pid in $(pgrep -f -- "--pidfile .*/dockerd2/docker.pid" || true); do
    grep -qF -- "$STATE/docker.pid" "/proc/$pid/cmdline" 2>/dev/null && continue
    log "stopping another checkout's second dockerd (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  done
}

start() {
  local port
  stop_others
  certs
  # One started by an earlier version of this script (no TLS, no own address pool) goes.
  if running && ! grep -q "tlsverify" "/proc/$(cat "$STATE/docker.pid")/cmdline" 2>/dev/null; then
    stop
    rm -f "$STATE/port"
    stop
  fi
  if running && [ -f "$STATE/port" ]; then
    port=$(cat "$STATE/port")
  else
    port=$(cat "$STATE/port" 2>/dev/null || python3 -c "import socket; s=socket.socket(); s.bind(('$ADDRESS', 0)); print(s.getsockname()[1])")
    echo "$port" >"$STATE/port"
    log "starting a second dockerd on tcp://$ADDRESS:$port with TLS (log: $STATE/dockerd.log)"
    # Its own containerd too: sharing the first engine's would mix their containers.
    nohup dockerd --host "tcp://$ADDRESS:$port" --data-root "$STATE/data" \
      --tlsverify --tlscacert "$TLS/ca.pem" --tlscert "$TLS/server-cert.pem" --tlskey "$TLS/server-key.pem" \
      --exec-root "$STATE/exec" --pidfile "$STATE/docker.pid" \
      --bridge none --iptables=false --ip-masq=false \
      --default-address-pool base=10.213.0.0/16,size=24 >>"$STATE/dockerd.log" 2>&1 &
  fi
  for _ in $(seq 1 120); do
    docker2 "$port" version >/dev/null 2>&1 && break
    sleep 0.5
  done
  docker2 "$port" version >/dev/null 2>&1 \
    || { log "the second dockerd did not come up; see $STATE/dockerd.log"; exit 1; }
  # Networks left by earlier runs may hold subnets of the first engine's pool.
  docker2 "$port" network prune -f >/dev/null 2>&1 || true
  echo "tcp://$ADDRESS:$port"
}

case "${1:-start}" in
  start) start ;;
  restart) stop; start ;;
  certs) certs; echo "$TLS/client" ;;
  *) log "usage: $0 start|restart|certs"; exit 2 ;;
esac
