//! Reply frames: the replies a guest gives during one `handle` call, returned in
//! `batch-result.replies`. The guest writes them ([`begin_reply`] and
//! [`finish_reply`] to encode in place, or [`push_reply`]), the host reads them
//! ([`read`]) and delivers them in order.
//!
//! Layout (normative: the `handle` export in `wit/world.wit`): replies back to back,
//! integers little-endian.
//!
//! ```text
//! handle: u64 (8 bytes) | len: u32 (4) | payload (len bytes)
//! ```
//!
//! `handle` is the `reply-handle` of the call being answered. The empty frame holds
//! no reply.

use alloc::vec::Vec;
use core::iter::FusedIterator;

use crate::{Cursor, Error, TooLong};

/// The bytes before a reply's payload: `handle`, `len`.
pub const HEADER: usize = 8 + 4;

/// One reply; the payload is borrowed from the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reply<'a> {
    /// The call it answers.
    pub handle: u64,
    /// The reply's bytes.
    pub payload: &'a [u8],
}

/// Where a reply begun with [`begin_reply`] starts in its buffer; give it to
/// [`finish_reply`] or [`abandon_reply`].
#[derive(Debug)]
#[must_use = "a begun reply has a zero length until `finish_reply` patches it"]
pub struct ReplyStart {
    at: usize,
}

/// Appends the header of a reply to `handle`, with a length of 0 for now, so the
/// caller can encode the payload straight into `buf` (no buffer of its own); then
/// [`finish_reply`] writes the length.
#[inline]
pub fn begin_reply(buf: &mut Vec<u8>, handle: u64) -> ReplyStart {
    let at = buf.len();
    let mut header = [0u8; HEADER];
    header[..8].copy_from_slice(&handle.to_le_bytes());
    buf.extend_from_slice(&header);
    ReplyStart { at }
}

/// Ends the reply begun at `start`: everything appended to `buf` since its header is
/// its payload, and its length is patched in. When the payload is 4 GiB or longer
/// the reply is removed from `buf` (truncated to where it began) and [`TooLong`]
/// says how long it was.
///
/// # Panics
///
/// When `buf` is shorter than when the reply began (`start` is not from `buf`, or
/// the header was truncated away).
#[inline]
pub fn finish_reply(buf: &mut Vec<u8>, start: ReplyStart) -> Result<(), TooLong> {
    let at = start.at;
    let Some(len) = buf.len().checked_sub(at + HEADER) else {
        lost_header(at, buf.len())
    };
    match u32::try_from(len) {
        Ok(len) => {
            buf[at + 8..at + HEADER].copy_from_slice(&len.to_le_bytes());
            Ok(())
        }
        Err(_) => {
            buf.truncate(at);
            Err(TooLong { len })
        }
    }
}

#[cold]
#[inline(never)]
#[track_caller]
fn lost_header(at: usize, len: usize) -> ! {
    panic!("finish_reply: the reply began at byte {at}, but the buffer has {len} bytes")
}

/// Removes the reply begun at `start` (its header and whatever was encoded after
/// it), for when encoding its payload failed.
#[inline]
pub fn abandon_reply(buf: &mut Vec<u8>, start: ReplyStart) {
    buf.truncate(start.at);
}

/// Appends a reply to `handle` with `payload`, reserving room for it once.
///
/// # Panics
///
/// When `payload` is 4 GiB or longer (its length does not fit the `u32`).
#[inline]
pub fn push_reply(buf: &mut Vec<u8>, handle: u64, payload: &[u8]) {
    let len = crate::len_u32(payload.len());
    let mut header = [0u8; HEADER];
    header[..8].copy_from_slice(&handle.to_le_bytes());
    header[8..].copy_from_slice(&len.to_le_bytes());
    buf.reserve(HEADER + payload.len());
    buf.extend_from_slice(&header);
    buf.extend_from_slice(payload);
}

/// Reads the replies of `frame` in order (see [`Reader`]).
#[inline]
#[must_use]
pub fn read(frame: &[u8]) -> Reader<'_> {
    Reader::new(frame)
}

/// The replies of a reply frame, in order. A malformed reply (truncated header,
/// payload past the end) yields one [`Error`], after which the reader yields
/// nothing.
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

    /// The byte offset of the next reply (the frame's length once done).
    #[inline]
    #[must_use]
    pub fn offset(&self) -> usize {
        self.at.offset()
    }

    #[cold]
    fn truncated(&mut self) -> Error {
        let (index, offset, remaining) = (self.at.index, self.at.offset(), self.at.rest.len());
        self.at.fail(Error::TruncatedReply {
            index,
            offset,
            remaining,
        })
    }

    #[cold]
    fn past_end(&mut self, handle: u64, len: u32, remaining: usize) -> Error {
        let (index, offset) = (self.at.index, self.at.offset());
        self.at.fail(Error::ReplyPastEnd {
            index,
            offset,
            handle,
            len,
            remaining,
        })
    }
}

impl<'a> Iterator for Reader<'a> {
    type Item = Result<Reply<'a>, Error>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.at.rest.is_empty() {
            return None;
        }
        let Some((h, rest)) = self.at.rest.split_first_chunk::<HEADER>() else {
            return Some(Err(self.truncated()));
        };
        let handle = crate::u64_at(h, 0);
        let len = crate::u32_at(h, 8);
        let n = len as usize;
        if rest.len() < n {
            return Some(Err(self.past_end(handle, len, rest.len())));
        }
        let (payload, rest) = rest.split_at(n);
        self.at.advance(rest);
        Some(Ok(Reply { handle, payload }))
    }
}

impl FusedIterator for Reader<'_> {}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn writes_the_documented_bytes_both_ways() {
        let mut a = Vec::new();
        push_reply(&mut a, 0x0102, b"hi");
        assert_eq!(a, [2, 1, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, b'h', b'i']);

        let mut b = Vec::new();
        let start = begin_reply(&mut b, 0x0102);
        b.extend_from_slice(b"hi");
        finish_reply(&mut b, start).unwrap();
        assert_eq!(a, b);

        push_reply(&mut b, 9, b"");
        let got: Vec<_> = read(&b).map(Result::unwrap).collect();
        assert_eq!(
            got,
            [
                Reply {
                    handle: 0x0102,
                    payload: b"hi"
                },
                Reply {
                    handle: 9,
                    payload: b""
                }
            ]
        );
        assert_eq!(read(&[]).count(), 0);
    }

    #[test]
    fn an_abandoned_reply_leaves_nothing() {
        let mut buf = Vec::new();
        push_reply(&mut buf, 1, b"kept");
        let before = buf.clone();
        let start = begin_reply(&mut buf, 2);
        buf.extend_from_slice(b"half-encoded");
        abandon_reply(&mut buf, start);
        assert_eq!(buf, before);
    }

    #[test]
    #[should_panic(expected = "the reply began at byte 0")]
    fn finishing_a_reply_whose_header_is_gone_panics() {
        let mut buf = Vec::new();
        let start = begin_reply(&mut buf, 2);
        buf.clear();
        let _ = finish_reply(&mut buf, start);
    }

    #[test]
    fn malformed_replies_say_what_and_where() {
        let mut buf = Vec::new();
        push_reply(&mut buf, 1, b"ok");
        let mut short = buf.clone();
        short.extend_from_slice(&[1, 2, 3]);
        let mut r = read(&short);
        assert!(r.next().unwrap().is_ok());
        let e = r.next().unwrap().unwrap_err();
        assert_eq!(
            e.to_string(),
            "reply 1 of the frame (byte 14) is truncated: its header needs 12 bytes, 3 remain"
        );
        assert!(r.next().is_none());

        let mut long = buf.clone();
        push_reply(&mut long, 42, b"0123456789");
        long.truncate(long.len() - 1);
        let e = read(&long).nth(1).unwrap().unwrap_err();
        assert_eq!(
            e,
            Error::ReplyPastEnd {
                index: 1,
                offset: 14,
                handle: 42,
                len: 10,
                remaining: 9
            }
        );
        assert_eq!(
            e.to_string(),
            "reply 1 of the frame (byte 14), for handle 42, claims 10 bytes past the end (9 remain)"
        );
    }
}
