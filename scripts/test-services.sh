#!/usr/bin/env bash
# Installs and starts what argon's integration tests need on a fresh machine:
# a Docker engine, a local MongoDB-protocol image (built with `docker import`,
# since no registry is reachable here) and an S3-compatible server.
# Idempotent: what is already installed or running is reused.
# Prints `export ...` lines for the test environment on stdout's last lines and
# writes them to $ARGON_TEST_ENV (default: target/test-services.env).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
STATE=${ARGON_TEST_STATE:-$ROOT/target/test-services}
ENV_FILE=${ARGON_TEST_ENV:-$ROOT/target/test-services.env}
MDB_VERSION=0.5.3-beta.196
S3S_VERSION=0.14.1
# The tag changes whenever the image's contents do (a new tag is built anew).
IMAGE=${ARGON_TEST_IMAGE:-argon-test/secantus:0.5.3-cp}
S3_ACCESS_KEY=argon-test-ak
S3_SECRET_KEY=argon-test-sk
mkdir -p "$STATE"

log() { printf '[test-services] %s\n' "$*" >&2; }

apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
}

# --- Docker engine -----------------------------------------------------------
if ! docker version >/dev/null 2>&1; then
  if ! command -v dockerd >/dev/null 2>&1; then
    log "installing docker.io"
    apt_install docker.io
  fi
  log "starting dockerd (log: $STATE/dockerd.log)"
  nohup dockerd >"$STATE/dockerd.log" 2>&1 &
  for _ in $(seq 1 120); do
    docker version >/dev/null 2>&1 && break
    sleep 0.5
  done
  docker version >/dev/null 2>&1 || { log "dockerd did not come up; see $STATE/dockerd.log"; exit 1; }
fi

# --- FUSE userspace tools (for mount tests) ----------------------------------
if ! command -v fusermount3 >/dev/null 2>&1; then
  log "installing fuse3"
  apt_install fuse3
fi

# --- tmux (tests of the confirmation prompts run argon in a real terminal) ----
if ! command -v tmux >/dev/null 2>&1; then
  log "installing tmux"
  apt_install tmux
fi

# --- A real browser (tests of argon web drive it through chromedriver) --------
if ! command -v chromedriver >/dev/null 2>&1 || ! command -v chromium >/dev/null 2>&1; then
  log "installing chromium and chromium-driver"
  apt_install chromium chromium-driver
fi

# --- MongoDB-protocol server binary and image --------------------------------
export PATH="$HOME/.cargo/bin:$PATH"
if ! command -v secantusd-rs >/dev/null 2>&1; then
  command -v cmake >/dev/null 2>&1 || apt_install cmake
  log "building secantus-mdb $MDB_VERSION (a few minutes)"
  cargo install secantus-mdb --version "$MDB_VERSION" --ignore-rust-version --locked >&2
fi
IMAGE_NO_CP="$IMAGE-nocp"
if ! docker image inspect "$IMAGE" >/dev/null 2>&1 || ! docker image inspect "$IMAGE_NO_CP" >/dev/null 2>&1; then
  log "building image $IMAGE from secantusd-rs"
  rootfs=$(mktemp -d)
  bin=$(command -v secantusd-rs)
  mkdir -p "$rootfs/usr/local/bin" "$rootfs/data/db" "$rootfs/tmp"
  cp "$bin" "$rootfs/usr/local/bin/secantusd-rs"
  CMD='["/usr/local/bin/secantusd-rs","--host","0.0.0.0","--port","27017","--storage-path","/data/db","--log-file-max","2MB","--cache-size","256M"]'
  # GNU cp too, as official MongoDB images have it: argon copies volumes with
  # it (and falls back to Docker's archive API in images without one).
  mkdir -p "$rootfs/bin"
  cp "$(command -v cp)" "$rootfs/bin/cp"
  # the binaries' shared libraries, and the dynamic loader itself
  for b in "$bin" "$(command -v cp)"; do
    ldd "$b" | awk '/=>/ {print $3} $1 ~ /^\// {print $1}' | while read -r lib; do
      [ -n "$lib" ] && [ -e "$lib" ] || continue
      mkdir -p "$rootfs$(dirname "$lib")"
      cp -L "$lib" "$rootfs$lib"
    done
  done
  tar -C "$rootfs" -c . | docker import -c "CMD $CMD" - "$IMAGE" >&2
  # The same without cp, to test the other way argon copies volumes.
  rm "$rootfs/bin/cp"
  tar -C "$rootfs" -c . | docker import -c "CMD $CMD" - "$IMAGE_NO_CP" >&2
  rm -rf "$rootfs"
fi

# --- S3-compatible server (checks credentials) -------------------------------
if ! command -v s3s-fs >/dev/null 2>&1; then
  log "building s3s-fs $S3S_VERSION"
  cargo install "s3s-fs@$S3S_VERSION" --features binary --locked >&2
fi
# One server per state folder: reuse it while its process lives, else start
# one on a free port (another checkout's server may hold any fixed port).
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
S3_PORT=""
if [ -f "$STATE/s3s-fs.pid" ] && kill -0 "$(cat "$STATE/s3s-fs.pid")" 2>/dev/null; then
  S3_PORT=$(cat "$STATE/s3s-fs.port")
fi
if [ -z "$S3_PORT" ] || ! port_open "$S3_PORT"; then
  S3_PORT=${ARGON_TEST_S3_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
  mkdir -p "$STATE/s3"
  log "starting s3s-fs on 127.0.0.1:$S3_PORT"
  nohup s3s-fs --host 127.0.0.1 --port "$S3_PORT" --access-key "$S3_ACCESS_KEY" \
    --secret-key "$S3_SECRET_KEY" "$STATE/s3" >"$STATE/s3s-fs.log" 2>&1 &
  echo $! >"$STATE/s3s-fs.pid"
  echo "$S3_PORT" >"$STATE/s3s-fs.port"
  for _ in $(seq 1 100); do
    port_open "$S3_PORT" && break
    sleep 0.1
  done
  port_open "$S3_PORT" || { log "s3s-fs did not start; see $STATE/s3s-fs.log"; exit 1; }
fi

# --- A second Docker engine, reached over TCP (remote engine host, restarts) --
REMOTE_DOCKER_HOST=$(bash "$ROOT/scripts/second-dockerd.sh" start)
REMOTE_DOCKER_CERT_PATH=$(bash "$ROOT/scripts/second-dockerd.sh" certs)
remote_docker() {
  DOCKER_HOST=$REMOTE_DOCKER_HOST DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=$REMOTE_DOCKER_CERT_PATH docker "$@"
}
for image in "$IMAGE" "$IMAGE_NO_CP"; do
  if ! remote_docker image inspect "$image" >/dev/null 2>&1; then
    log "loading $image into the second dockerd"
    docker save "$image" | remote_docker load >&2
  fi
done

mkdir -p "$(dirname "$ENV_FILE")"
umask 077
cat >"$ENV_FILE" <<ENV
export ARGON_TEST_IMAGE=$IMAGE
export ARGON_TEST_IMAGE_NO_CP=$IMAGE_NO_CP
export ARGON_TEST_ENGINE_COMMAND='/usr/local/bin/secantusd-rs --host 0.0.0.0 --port 27017 --storage-path /data/db --log-file-max 2MB --cache-size 256M'
export ARGON_TEST_S3_ENDPOINT=http://127.0.0.1:$S3_PORT
export ARGON_TEST_S3_ACCESS_KEY=$S3_ACCESS_KEY
export ARGON_TEST_S3_SECRET_KEY=$S3_SECRET_KEY
export ARGON_TEST_S3_DIR=$STATE/s3
export ARGON_TEST_REMOTE_DOCKER_HOST=$REMOTE_DOCKER_HOST
export ARGON_TEST_REMOTE_DOCKER_CERT_PATH=$REMOTE_DOCKER_CERT_PATH
ENV
log "ready; environment in $ENV_FILE"
