//! Supervisors (OTP's `supervisor`): `spec` is what a supervisor is told, `wire` the
//! shapes that carry it from guests, `server` the supervisor process itself.

pub(crate) mod server;
pub(crate) mod spec;
pub(crate) mod wire;
