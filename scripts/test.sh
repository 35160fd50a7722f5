#!/usr/bin/env bash
# The whole test suite, on a fresh machine: installs and starts the test
# services (Docker engine, MongoDB-protocol image, S3-compatible server), then
# runs formatting and lint checks, unit tests and integration tests.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/test-services.sh
# shellcheck disable=SC1091
source target/test-services.env

cargo fmt --all -- --check
cargo clippy --all-targets --locked -- -D warnings
# The plugins are their own crates: the tests run their binaries.
cargo build --workspace --locked
# Integration tests start containers; a few at a time fit 2 cores.
cargo test --workspace --locked -- --test-threads "${ARGON_TEST_THREADS:-4}"
