#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: installs the wasm target, checks
# formatting and lints, then builds the guest fixtures (tests/build.rs does it on the
# way) and runs every test. `.ci/run` calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

rustup target add wasm32-wasip2
rustup component add rustfmt clippy

cargo fmt --all -- --check
cargo test
# The embedding example, on the counter guest that the test build made.
cargo run -p embed-example -- target/guests/wasm32-wasip2/release/counter_guest.wasm
cargo clippy --workspace --all-targets -- -D warnings
# The API docs: every intra-doc link resolves, no broken markup.
RUSTDOCFLAGS=-Dwarnings cargo doc --no-deps -p foundation-host -p foundation-sdk -p foundation-wire
