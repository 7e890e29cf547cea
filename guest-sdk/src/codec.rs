//! The message encoding shared by every foundation actor: MessagePack with named
//! struct fields, enums externally tagged (as serde_json does), so JSON converts to
//! it and back without loss of structure. Why MessagePack: docs/semantics.md.

use serde::Serialize;
use serde::de::DeserializeOwned;

/// An encoding or decoding failure, with serde's description of what did not fit.
pub type Error = String;

/// Room for a typical message, so encoding one allocates once (`to_vec_named` starts
/// empty and grows 8, 16, 32, 64 bytes).
const FIRST_ALLOCATION: usize = 64;

/// The most a kept send buffer may hold between sends: one large message does not
/// keep its memory for the rest of the actor's life.
const KEEP_AT_MOST: usize = 64 * 1024;

/// Encodes a value as MessagePack.
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, Error> {
    let mut out = Vec::with_capacity(FIRST_ALLOCATION);
    encode_into(&mut out, value)?;
    Ok(out)
}

/// Encodes a value as MessagePack at the end of `out`.
pub(crate) fn encode_into<T: Serialize + ?Sized>(
    out: &mut Vec<u8>,
    value: &T,
) -> Result<(), Error> {
    rmp_serde::encode::write_named(&mut Fallible(out), value).map_err(|e| e.to_string())
}

std::thread_local! {
    /// The buffer `with_encoded` encodes outgoing messages into, kept between sends.
    static SEND_BUFFER: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
}

/// Encodes `value` into a buffer kept between calls and hands the bytes to `send`:
/// a cast or call (the host copies the bytes) allocates nothing in the steady state.
/// A `Serialize` impl that itself sends gets a fresh buffer.
pub(crate) fn with_encoded<T: Serialize + ?Sized, R>(
    value: &T,
    send: impl FnOnce(&[u8]) -> R,
) -> Result<R, Error> {
    let mut buf = SEND_BUFFER.take();
    buf.clear();
    let result = encode_into(&mut buf, value).map(|()| send(&buf));
    if buf.capacity() <= KEEP_AT_MOST {
        SEND_BUFFER.set(buf);
    }
    result
}

/// Decodes MessagePack bytes into `T`.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    rmp_serde::from_slice(bytes).map_err(|e| e.to_string())
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
