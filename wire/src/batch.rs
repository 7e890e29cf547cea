//! Batch frames: the casts and calls of one `handle` call. The host writes them
//! ([`push_cast`], [`push_call`]), the guest reads them ([`read`]).
//!
//! Layout (normative: the `handle` export in `wit/world.wit`): envelopes back to back,
//! each starting with a one-byte kind; integers little-endian.
//!
//! ```text
//! cast: kind = 0 (1 byte) | from: u64 (8) | len: u32 (4)                  | payload (len bytes)
//! call: kind = 1 (1 byte) | from: u64 (8) | handle: u64 (8) | len: u32 (4) | payload (len bytes)
//! ```
//!
//! `from` is the sender's actor id, 0 for the host; `handle` is the call's
//! `reply-handle`. The empty frame is the empty batch.

use alloc::vec::Vec;
use core::iter::FusedIterator;

use crate::{Cursor, Error};

/// The kind byte of a cast.
pub const KIND_CAST: u8 = 0;
/// The kind byte of a call.
pub const KIND_CALL: u8 = 1;
/// The bytes before a cast's payload: kind, `from`, `len`.
pub const CAST_HEADER: usize = 1 + 8 + 4;
/// The bytes before a call's payload: kind, `from`, `handle`, `len`.
pub const CALL_HEADER: usize = 1 + 8 + 8 + 4;

/// One message of a batch; the payload is borrowed from the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Envelope<'a> {
    /// A cast from `from` (0: the host).
    Cast { from: u64, payload: &'a [u8] },
    /// A call from `from` (0: the host), answered with `handle`.
    Call {
        from: u64,
        handle: u64,
        payload: &'a [u8],
    },
}

impl<'a> Envelope<'a> {
    /// The sender (0: the host).
    #[inline]
    #[must_use]
    pub fn from(&self) -> u64 {
        match *self {
            Envelope::Cast { from, .. } | Envelope::Call { from, .. } => from,
        }
    }

    /// The message's bytes.
    #[inline]
    #[must_use]
    pub fn payload(&self) -> &'a [u8] {
        match *self {
            Envelope::Cast { payload, .. } | Envelope::Call { payload, .. } => payload,
        }
    }

    /// The bytes this envelope takes in a frame.
    #[inline]
    #[must_use]
    pub fn encoded_len(&self) -> usize {
        match *self {
            Envelope::Cast { payload, .. } => CAST_HEADER + payload.len(),
            Envelope::Call { payload, .. } => CALL_HEADER + payload.len(),
        }
    }
}

/// Appends a cast envelope to `buf`, reserving room for it once.
///
/// # Panics
///
/// When `payload` is 4 GiB or longer (its length does not fit the `u32`).
#[inline]
pub fn push_cast(buf: &mut Vec<u8>, from: u64, payload: &[u8]) {
    let len = crate::len_u32(payload.len());
    let mut header = [0u8; CAST_HEADER];
    header[0] = KIND_CAST;
    header[1..9].copy_from_slice(&from.to_le_bytes());
    header[9..13].copy_from_slice(&len.to_le_bytes());
    buf.reserve(CAST_HEADER + payload.len());
    buf.extend_from_slice(&header);
    buf.extend_from_slice(payload);
}

/// Appends a call envelope to `buf`, reserving room for it once.
///
/// # Panics
///
/// When `payload` is 4 GiB or longer (its length does not fit the `u32`).
#[inline]
pub fn push_call(buf: &mut Vec<u8>, from: u64, handle: u64, payload: &[u8]) {
    let len = crate::len_u32(payload.len());
    let mut header = [0u8; CALL_HEADER];
    header[0] = KIND_CALL;
    header[1..9].copy_from_slice(&from.to_le_bytes());
    header[9..17].copy_from_slice(&handle.to_le_bytes());
    header[17..21].copy_from_slice(&len.to_le_bytes());
    buf.reserve(CALL_HEADER + payload.len());
    buf.extend_from_slice(&header);
    buf.extend_from_slice(payload);
}

/// Appends `envelope` to `buf` ([`push_cast`] or [`push_call`]).
///
/// # Panics
///
/// When the payload is 4 GiB or longer.
#[inline]
pub fn push(buf: &mut Vec<u8>, envelope: &Envelope<'_>) {
    match *envelope {
        Envelope::Cast { from, payload } => push_cast(buf, from, payload),
        Envelope::Call {
            from,
            handle,
            payload,
        } => push_call(buf, from, handle, payload),
    }
}

/// Reads the envelopes of `frame` in order (see [`Reader`]).
#[inline]
#[must_use]
pub fn read(frame: &[u8]) -> Reader<'_> {
    Reader::new(frame)
}

/// The envelopes of a batch frame, in order. A malformed envelope yields one
/// [`Error`] (unknown kind, truncated header, payload past the end), after which the
/// reader yields nothing.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    at: Cursor<'a>,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `frame`.
    #[inline]
    #[must_use]
    pub fn new(frame: &'a [u8]) -> Self {
        Reader {
            at: Cursor::new(frame),
        }
    }

    /// The byte offset of the next envelope (the frame's length once done).
    #[inline]
    #[must_use]
    pub fn offset(&self) -> usize {
        self.at.offset()
    }

    /// Takes `len` payload bytes from `rest` (what follows the header).
    #[inline]
    fn payload(&mut self, rest: &'a [u8], len: u32) -> Result<&'a [u8], Error> {
        let n = len as usize;
        if rest.len() < n {
            return Err(self.past_end(len, rest.len()));
        }
        let (payload, rest) = rest.split_at(n);
        self.at.advance(rest);
        Ok(payload)
    }

    #[cold]
    fn unknown(&mut self, kind: u8) -> Error {
        let (index, offset) = (self.at.index, self.at.offset());
        self.at.fail(Error::UnknownKind {
            index,
            offset,
            kind,
        })
    }

    #[cold]
    fn truncated(&mut self, needed: usize) -> Error {
        let (index, offset, remaining) = (self.at.index, self.at.offset(), self.at.rest.len());
        self.at.fail(Error::TruncatedEnvelope {
            index,
            offset,
            needed,
            remaining,
        })
    }

    #[cold]
    fn past_end(&mut self, len: u32, remaining: usize) -> Error {
        let (index, offset) = (self.at.index, self.at.offset());
        self.at.fail(Error::EnvelopePastEnd {
            index,
            offset,
            len,
            remaining,
        })
    }
}

impl<'a> Iterator for Reader<'a> {
    type Item = Result<Envelope<'a>, Error>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let kind = *self.at.rest.first()?;
        Some(match kind {
            KIND_CAST => match self.at.rest.split_first_chunk::<CAST_HEADER>() {
                Some((h, rest)) => {
                    let from = crate::u64_at(h, 1);
                    let len = crate::u32_at(h, 9);
                    self.payload(rest, len)
                        .map(|payload| Envelope::Cast { from, payload })
                }
                None => Err(self.truncated(CAST_HEADER)),
            },
            KIND_CALL => match self.at.rest.split_first_chunk::<CALL_HEADER>() {
                Some((h, rest)) => {
                    let from = crate::u64_at(h, 1);
                    let handle = crate::u64_at(h, 9);
                    let len = crate::u32_at(h, 17);
                    self.payload(rest, len).map(|payload| Envelope::Call {
                        from,
                        handle,
                        payload,
                    })
                }
                None => Err(self.truncated(CALL_HEADER)),
            },
            other => Err(self.unknown(other)),
        })
    }
}

impl FusedIterator for Reader<'_> {}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec;

    #[test]
    fn writes_the_documented_bytes() {
        let mut buf = Vec::new();
        push_cast(&mut buf, 0x0102, b"ab");
        push_call(&mut buf, 7, 0x0a0b, b"");
        assert_eq!(
            buf,
            [
                0, 2, 1, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, b'a', b'b', //
                1, 7, 0, 0, 0, 0, 0, 0, 0, 0x0b, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            ]
        );
        let got: Vec<_> = read(&buf).map(Result::unwrap).collect();
        assert_eq!(
            got,
            [
                Envelope::Cast {
                    from: 0x0102,
                    payload: b"ab"
                },
                Envelope::Call {
                    from: 7,
                    handle: 0x0a0b,
                    payload: b""
                }
            ]
        );
        assert_eq!(got[0].encoded_len() + got[1].encoded_len(), buf.len());
        assert_eq!(got[1].from(), 7);
        assert_eq!(got[0].payload(), b"ab");
        assert_eq!(read(&[]).count(), 0);
    }

    #[test]
    fn malformed_batches_say_what_and_where() {
        let mut ok = Vec::new();
        push_cast(&mut ok, 1, b"xyz");

        let mut unknown = ok.clone();
        unknown.extend_from_slice(&[7, 1, 2]);
        let mut r = read(&unknown);
        assert!(r.next().unwrap().is_ok());
        let e = r.next().unwrap().unwrap_err();
        assert_eq!(
            e,
            Error::UnknownKind {
                index: 1,
                offset: 16,
                kind: 7
            }
        );
        assert_eq!(
            e.to_string(),
            "envelope 1 of the batch (byte 16) has unknown kind 7"
        );
        assert!(r.next().is_none(), "an error ends the reader");

        let mut short = ok.clone();
        short.extend_from_slice(&[KIND_CALL, 1, 2, 3]);
        let e = read(&short).nth(1).unwrap().unwrap_err();
        assert_eq!(
            e.to_string(),
            "envelope 1 of the batch (byte 16) is truncated: its header needs 21 bytes, 4 remain"
        );

        let mut long = ok.clone();
        push_cast(&mut long, 2, b"0123456789");
        long.truncate(long.len() - 3);
        let e = read(&long).nth(1).unwrap().unwrap_err();
        assert_eq!(
            e,
            Error::EnvelopePastEnd {
                index: 1,
                offset: 16,
                len: 10,
                remaining: 7
            }
        );
        assert_eq!(
            e.to_string(),
            "envelope 1 of the batch (byte 16) claims 10 payload bytes past the end (7 remain)"
        );
        assert_eq!((e.index(), e.offset()), (1, 16));

        let lone = vec![KIND_CAST];
        assert!(matches!(
            read(&lone).next(),
            Some(Err(Error::TruncatedEnvelope {
                index: 0,
                offset: 0,
                needed: 13,
                remaining: 1
            }))
        ));
    }
}
