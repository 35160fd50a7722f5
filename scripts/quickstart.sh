#!/usr/bin/env bash
# Installs argon and starts a first branch on defaults (Docker + a local store):
#   bash scripts/quickstart.sh [APP_DIR]
# Installs and starts a Docker engine when none answers (Debian/Ubuntu, as root),
# installs the argon binary with cargo, then in APP_DIR (default: the current
# folder) runs `argon init` and `argon checkout -b main` and shows the result.
# Offline machines: set ARGON_IMAGE (and ARGON_ENGINE_COMMAND) to a local image.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
APP=${1:-$PWD}

if ! docker version >/dev/null 2>&1; then
  if ! command -v dockerd >/dev/null 2>&1; then
    echo "[quickstart] installing Docker (docker.io)" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >&2
  fi
  echo "[quickstart] starting dockerd" >&2
  mkdir -p "${XDG_STATE_HOME:-$HOME/.local/state}/argon"
  nohup dockerd >"${XDG_STATE_HOME:-$HOME/.local/state}/argon/dockerd.log" 2>&1 &
  for _ in $(seq 1 120); do docker version >/dev/null 2>&1 && break; sleep 0.5; done
  docker version >/dev/null 2>&1 || { echo "[quickstart] dockerd did not start" >&2; exit 1; }
fi

echo "[quickstart] installing argon (cargo install)" >&2
cargo install --path "$ROOT" --locked --quiet
cargo install --path "$ROOT/plugins/argon-seed" --locked --quiet
cargo install --path "$ROOT/plugins/argon-web" --locked --quiet
install -m 755 "$ROOT/plugins/argon-exec" "$HOME/.cargo/bin/argon-exec"
export PATH="$HOME/.cargo/bin:$PATH"

mkdir -p "$APP" && cd "$APP"
[ -f argon.toml ] || argon init
if argon branch --format json | grep -q '"name": "main"'; then
  argon checkout main
else
  argon checkout -b main
fi
argon status
