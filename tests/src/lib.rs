//! Paths of the guest components built for the integration tests (see `build.rs`).

include!(concat!(env!("OUT_DIR"), "/fixtures.rs"));
