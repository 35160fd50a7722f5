#!/usr/bin/env bash
# The long fault-injection run: every scenario of tests/it/faults.rs, with
# many rounds of random kills and of two machines saving and collecting at
# once. Prints the table of operations x faults (acknowledged, lost,
# leftovers).   bash scripts/faults-long.sh [ROUNDS]   (default 40)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/test-services.sh
# shellcheck disable=SC1091
source target/test-services.env
export ARGON_FAULT_ROUNDS=${1:-40}
cargo test --locked --test it faults -- --nocapture --test-threads 2 2>&1 |
  tee target/faults-long.log | grep -E 'fault-table|test result|FAILED|panicked'
