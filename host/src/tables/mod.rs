//! Host-owned tables (OTP's ETS): `table` is one table's storage and access rules,
//! `owners` which tables exist and who owns them (heirs, `give_away`), `durable` what
//! a durable table adds (its rows written through to a store).

pub(crate) mod durable;
pub(crate) mod owners;
pub(crate) mod table;
