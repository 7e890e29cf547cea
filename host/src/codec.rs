//! The message encoding, shared with the guest SDK: MessagePack with named struct
//! fields and externally tagged enums, so JSON converts to it and back. Why
//! MessagePack: docs/semantics.md, "Message encoding".

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Encodes a value as MessagePack.
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, String> {
    rmp_serde::to_vec_named(value).map_err(|e| e.to_string())
}

/// Decodes MessagePack bytes into `T`.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    rmp_serde::from_slice(bytes).map_err(|e| e.to_string())
}
