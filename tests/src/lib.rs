//! Paths of the guest components built for the integration tests (see `build.rs`),
//! and a PostgreSQL server of the test or benchmark binary's own (`postgres`).

include!(concat!(env!("OUT_DIR"), "/fixtures.rs"));

pub mod postgres;
