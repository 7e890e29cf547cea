//! Host-owned tables (OTP's ETS): `table` is one table's storage and access rules,
//! `owners` which tables exist and who owns them (heirs, `give_away`), `frames` the
//! byte frames of the bulk operations.

pub(crate) mod owners;
pub(crate) mod table;
