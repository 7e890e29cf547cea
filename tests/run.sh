#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: installs the wasm target, checks
# formatting and lints, then builds the guest fixtures (tests/build.rs does it on the
# way) and runs every test. `.ci/run` calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

rustup target add wasm32-wasip2
rustup component add rustfmt clippy

# The store tests start their own PostgreSQL server (initdb in a temporary
# directory, a free loopback port) from Debian's package; nothing else is used.
if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql
fi

cargo fmt --all -- --check
cargo test
# The embedding example, on the counter guest that the test build made.
cargo run -p embed-example -- target/guests/wasm32-wasip2/release/counter_guest.wasm
cargo clippy --workspace --all-targets -- -D warnings
# The API docs: every intra-doc link resolves, no broken markup.
RUSTDOCFLAGS=-Dwarnings cargo doc --no-deps -p foundation-host -p foundation-sdk -p foundation-wire
