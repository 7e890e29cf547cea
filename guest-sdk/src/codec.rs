//! The message encoding shared by every foundation actor: MessagePack with named
//! struct fields, enums externally tagged (as serde_json does), so JSON converts to
//! it and back without loss of structure. Why MessagePack: docs/semantics.md.

use serde::Serialize;
use serde::de::DeserializeOwned;

/// An encoding or decoding failure, with serde's description of what did not fit.
pub type Error = String;

/// Encodes a value as MessagePack.
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, Error> {
    rmp_serde::to_vec_named(value).map_err(|e| e.to_string())
}

/// Decodes MessagePack bytes into `T`.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    rmp_serde::from_slice(bytes).map_err(|e| e.to_string())
}
