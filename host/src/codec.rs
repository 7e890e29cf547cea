//! The message encoding, shared with the guest SDK: MessagePack with named struct
//! fields and externally tagged enums, so JSON converts to it and back. Why
//! MessagePack: docs/semantics.md, "Message encoding".

use serde::Serialize;
use serde::de::DeserializeOwned;

/// A value that does not encode, or bytes that do not decode as the expected type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CodecError(String);

/// Room for a typical message, so encoding one allocates once (`to_vec_named` starts
/// empty and grows 8, 16, 32, 64 bytes); the buffer becomes the queued message.
const FIRST_ALLOCATION: usize = 64;

/// Encodes a value as MessagePack.
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, CodecError> {
    let mut out = Vec::with_capacity(FIRST_ALLOCATION);
    rmp_serde::encode::write_named(&mut Fallible(&mut out), value)
        .map_err(|e| CodecError(e.to_string()))?;
    Ok(out)
}

/// Decodes MessagePack bytes into `T`.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
    rmp_serde::from_slice(bytes).map_err(|e| CodecError(e.to_string()))
}

/// Writes into a `Vec`, failing with `OutOfMemory` instead of aborting when the
/// buffer cannot grow, as `rmp_serde::to_vec_named` does.
struct Fallible<'a>(&'a mut Vec<u8>);

impl std::io::Write for Fallible<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .try_reserve(buf.len())
            .map_err(|_| std::io::ErrorKind::OutOfMemory)?;
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde::{Deserialize, Serialize};

    use super::{decode, encode};

    /// The shapes messages take: unit, newtype, tuple and struct variants.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    enum Msg {
        Get,
        Add(i64),
        Pair(u64, String),
        Put { key: Vec<u8>, value: Option<String> },
    }

    fn msg() -> impl Strategy<Value = Msg> {
        prop_oneof![
            Just(Msg::Get),
            any::<i64>().prop_map(Msg::Add),
            (any::<u64>(), ".{0,8}").prop_map(|(n, s)| Msg::Pair(n, s)),
            (
                proptest::collection::vec(any::<u8>(), 0..16),
                proptest::option::of(".{0,8}")
            )
                .prop_map(|(key, value)| Msg::Put { key, value }),
        ]
    }

    proptest! {
        /// Any bytes: a value or an error, never a panic (the host decodes what
        /// guests send it: supervisor requests, table values, replies).
        #[test]
        fn decoding_any_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = decode::<Msg>(&bytes);
            let _ = decode::<serde_json::Value>(&bytes);
            let _ = decode::<(u64, Option<String>, Vec<u8>)>(&bytes);
            let _ = decode::<Vec<Vec<String>>>(&bytes);
        }

        #[test]
        fn messages_round_trip(m in msg()) {
            prop_assert_eq!(decode::<Msg>(&encode(&m).unwrap()).unwrap(), m);
        }

        /// A valid message cut short or with a byte changed still decodes to a value or
        /// an error, never a panic.
        #[test]
        fn damaged_messages_never_panic(m in msg(), at in any::<prop::sample::Index>(), byte in any::<u8>()) {
            let mut bytes = encode(&m).unwrap();
            let i = at.index(bytes.len());
            let _ = decode::<Msg>(&bytes[..i]);
            bytes[i] = byte;
            let _ = decode::<Msg>(&bytes);
        }
    }
}
