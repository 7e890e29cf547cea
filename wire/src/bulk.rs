//! Bulk table frames: the keys of `get-many` and the entries of `insert-many`, which a
//! guest writes ([`push_key`], [`push_entry`], [`push_fields`]) and the host reads
//! ([`split`]); and the answer of `get-many`, which the host writes ([`push_value`])
//! and the guest reads ([`values`]).
//!
//! Layouts (normative: `get-many` and `insert-many` of the `tables` interface in
//! `wit/world.wit`), integers little-endian.
//!
//! Key and entry frames are fields back to back, each a length and its bytes; an
//! entry is `N` consecutive fields (`N` = 1 for `get-many`'s keys, 2 for
//! `insert-many`'s key and value):
//!
//! ```text
//! field: len: u32 (4 bytes) | bytes (len)
//! entry: field 1 | ... | field N
//! ```
//!
//! The `get-many` answer has one item per key asked, in the keys' order:
//!
//! ```text
//! no value:  word = 0 (u32, 4 bytes)
//! a value:   word = len + 1 (u32, 4 bytes) | value (len bytes)
//! ```
//!
//! The empty frame holds no entry and the empty answer no value.

use alloc::vec::Vec;
use core::iter::FusedIterator;

use crate::{Cursor, Error};

/// The bytes of a field's length, and of a `get-many` answer's word.
pub const LEN: usize = 4;

/// Appends one key (an entry of one field) to a `get-many` key frame.
///
/// # Panics
///
/// When `key` is 4 GiB or longer.
#[inline]
pub fn push_key(buf: &mut Vec<u8>, key: &[u8]) {
    let len = crate::len_u32(key.len());
    buf.reserve(LEN + key.len());
    buf.extend_from_slice(&len.to_le_bytes());
    buf.extend_from_slice(key);
}

/// Appends one `(key, value)` entry (two fields) to an `insert-many` frame, reserving
/// room for both at once.
///
/// # Panics
///
/// When `key` or `value` is 4 GiB or longer.
#[inline]
pub fn push_entry(buf: &mut Vec<u8>, key: &[u8], value: &[u8]) {
    let key_len = crate::len_u32(key.len());
    let value_len = crate::len_u32(value.len());
    buf.reserve(2 * LEN + key.len() + value.len());
    buf.extend_from_slice(&key_len.to_le_bytes());
    buf.extend_from_slice(key);
    buf.extend_from_slice(&value_len.to_le_bytes());
    buf.extend_from_slice(value);
}

/// Appends one entry of any arity: each of `fields` as a length and its bytes,
/// reserving room for all of them at once. Read back with [`split`] of the same
/// arity (`fields.len()`).
///
/// # Panics
///
/// When a field is 4 GiB or longer.
#[inline]
pub fn push_fields(buf: &mut Vec<u8>, fields: &[&[u8]]) {
    buf.reserve(fields.iter().map(|f| LEN + f.len()).sum());
    for field in fields {
        buf.extend_from_slice(&crate::len_u32(field.len()).to_le_bytes());
        buf.extend_from_slice(field);
    }
}

/// Splits `frame` into entries of `N` fields (see [`Split`]): `split::<1>` for
/// `get-many`'s keys, `split::<2>` for `insert-many`'s entries. `N` must not be 0
/// (a compile-time error).
#[inline]
#[must_use]
pub fn split<const N: usize>(frame: &[u8]) -> Split<'_, N> {
    Split::new(frame)
}

/// The entries of a key or entry frame, each as its `N` fields borrowed from the
/// frame. A malformed entry (a length cut short, a field past the end, an entry
/// missing fields) yields one [`Error`] naming the entry, after which the iterator
/// yields nothing.
#[derive(Debug, Clone)]
pub struct Split<'a, const N: usize> {
    at: Cursor<'a>,
}

impl<'a, const N: usize> Split<'a, N> {
    /// An iterator at the start of `frame`.
    #[inline]
    #[must_use]
    pub fn new(frame: &'a [u8]) -> Self {
        const { assert!(N > 0, "an entry has at least one field") };
        Split {
            at: Cursor::new(frame),
        }
    }

    /// The byte offset of the next entry (the frame's length once done).
    #[inline]
    #[must_use]
    pub fn offset(&self) -> usize {
        self.at.offset()
    }
}

impl<'a, const N: usize> Iterator for Split<'a, N> {
    type Item = Result<[&'a [u8]; N], Error>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.at.rest.is_empty() {
            return None;
        }
        let mut fields: [&'a [u8]; N] = [&[]; N];
        let mut rest = self.at.rest;
        for field in &mut fields {
            let (entry, offset) = (self.at.index, self.at.offset_of(rest));
            let Some((word, after)) = rest.split_first_chunk::<LEN>() else {
                return Some(Err(self.at.fail(Error::TruncatedField { entry, offset })));
            };
            let len = u32::from_le_bytes(*word);
            if after.len() < len as usize {
                return Some(Err(self.at.fail(Error::FieldPastEnd {
                    entry,
                    offset,
                    len,
                })));
            }
            let (bytes, after) = after.split_at(len as usize);
            *field = bytes;
            rest = after;
        }
        self.at.advance(rest);
        Some(Ok(fields))
    }
}

impl<const N: usize> FusedIterator for Split<'_, N> {}

/// Appends one item of a `get-many` answer: the value of a key, or `None` when it has
/// none. Reserves room for it once.
///
/// # Panics
///
/// When `value` is `u32::MAX` bytes or longer (its length plus one does not fit the
/// word).
#[inline]
pub fn push_value(buf: &mut Vec<u8>, value: Option<&[u8]>) {
    match value {
        None => buf.extend_from_slice(&0u32.to_le_bytes()),
        Some(v) => {
            let word = match u32::try_from(v.len()) {
                Ok(len) if len < u32::MAX => len + 1,
                _ => crate::too_long(v.len()),
            };
            buf.reserve(LEN + v.len());
            buf.extend_from_slice(&word.to_le_bytes());
            buf.extend_from_slice(v);
        }
    }
}

/// The bytes [`push_value`] appends for `value`: the word, and the value if any. Sum
/// it to bound an answer's size before writing it.
#[inline]
#[must_use]
pub fn value_len(value: Option<&[u8]>) -> usize {
    LEN + value.map_or(0, <[u8]>::len)
}

/// Reads the values of a `get-many` answer in order (see [`Values`]).
#[inline]
#[must_use]
pub fn values(answer: &[u8]) -> Values<'_> {
    Values::new(answer)
}

/// The values of a `get-many` answer, one per key asked, in the keys' order: `None`
/// for a key with no value. A malformed item (a word cut short, a value past the
/// end) yields one [`Error`], after which the iterator yields nothing.
#[derive(Debug, Clone)]
pub struct Values<'a> {
    at: Cursor<'a>,
}

impl<'a> Values<'a> {
    /// An iterator at the start of `answer`.
    #[inline]
    #[must_use]
    pub fn new(answer: &'a [u8]) -> Self {
        Values {
            at: Cursor::new(answer),
        }
    }

    /// The byte offset of the next value (the answer's length once done).
    #[inline]
    #[must_use]
    pub fn offset(&self) -> usize {
        self.at.offset()
    }
}

impl<'a> Iterator for Values<'a> {
    type Item = Result<Option<&'a [u8]>, Error>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.at.rest.is_empty() {
            return None;
        }
        let (index, offset) = (self.at.index, self.at.offset());
        let Some((word, rest)) = self.at.rest.split_first_chunk::<LEN>() else {
            return Some(Err(self.at.fail(Error::TruncatedValue { index, offset })));
        };
        let (value, rest) = match u32::from_le_bytes(*word).checked_sub(1) {
            None => (None, rest),
            Some(len) => {
                if rest.len() < len as usize {
                    return Some(Err(self.at.fail(Error::ValuePastEnd {
                        index,
                        offset,
                        len,
                    })));
                }
                let (value, rest) = rest.split_at(len as usize);
                (Some(value), rest)
            }
        };
        self.at.advance(rest);
        Some(Ok(value))
    }
}

impl FusedIterator for Values<'_> {}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    fn frame(fields: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for f in fields {
            push_key(&mut out, f);
        }
        out
    }

    /// The host's own test of its `frames::split`, with the texts it asserts.
    #[test]
    fn frames_split_into_entries_and_malformed_ones_say_where() {
        let keys = frame(&[b"a", b"", b"ccc"]);
        let got: Vec<_> = split::<1>(&keys).map(|e| e.unwrap()[0]).collect();
        assert_eq!(got, [&b"a"[..], b"", b"ccc"]);
        let entries = frame(&[b"k1", b"v1", b"k2", b"v2"]);
        let got: Vec<_> = split::<2>(&entries).map(|e| e.unwrap()).collect();
        assert_eq!(got, [[&b"k1"[..], b"v1"], [b"k2", b"v2"]]);
        assert_eq!(split::<1>(&[]).count(), 0);

        let mut short = frame(&[b"a"]);
        short.extend_from_slice(&[9, 0]);
        let errs: Vec<_> = split::<1>(&short).collect();
        assert_eq!(errs.len(), 2);
        assert_eq!(
            errs[1],
            Err(Error::TruncatedField {
                entry: 1,
                offset: 5
            })
        );
        assert_eq!(
            errs[1].as_ref().unwrap_err().to_string(),
            "entry 1 of the frame is truncated (a length needs 4 bytes)"
        );
        let mut long = frame(&[b"a"]);
        long.extend_from_slice(&100u32.to_le_bytes());
        long.extend_from_slice(b"xy");
        let e = split::<1>(&long).nth(1).unwrap().unwrap_err();
        assert_eq!(
            e.to_string(),
            "entry 1 of the frame claims 100 bytes past its end"
        );
        assert_eq!((e.index(), e.offset()), (1, 5));
        // A key without its value: the error is at the missing value's length.
        let odd = frame(&[b"k1", b"v1", b"k2"]);
        let e = split::<2>(&odd).nth(1).unwrap().unwrap_err();
        assert_eq!(
            e,
            Error::TruncatedField {
                entry: 1,
                offset: 18
            }
        );
    }

    #[test]
    fn entry_writers_write_fields() {
        let mut a = Vec::new();
        push_entry(&mut a, b"k", b"vv");
        assert_eq!(a, [1, 0, 0, 0, b'k', 2, 0, 0, 0, b'v', b'v']);
        let mut b = Vec::new();
        push_fields(&mut b, &[b"k", b"vv"]);
        assert_eq!(a, b);
        let mut c = Vec::new();
        push_fields(&mut c, &[b"a", b"", b"c"]);
        let got: Vec<_> = split::<3>(&c).map(Result::unwrap).collect();
        assert_eq!(got, [[&b"a"[..], b"", b"c"]]);
    }

    #[test]
    fn get_many_answers_read_back() {
        let mut answer = Vec::new();
        push_value(&mut answer, Some(b"one"));
        push_value(&mut answer, None);
        push_value(&mut answer, Some(b""));
        assert_eq!(
            answer,
            [4, 0, 0, 0, b'o', b'n', b'e', 0, 0, 0, 0, 1, 0, 0, 0]
        );
        assert_eq!(
            value_len(Some(b"one")) + value_len(None) + value_len(Some(b"")),
            answer.len()
        );
        let got: Vec<_> = values(&answer).map(Result::unwrap).collect();
        assert_eq!(got, [Some(&b"one"[..]), None, Some(b"")]);
        assert_eq!(values(&[]).count(), 0);

        let mut short = answer.clone();
        short.extend_from_slice(&[0, 0]);
        let e = values(&short).nth(3).unwrap().unwrap_err();
        assert_eq!(
            e.to_string(),
            "value 3 of the get-many answer (byte 15) is truncated (a length needs 4 bytes)"
        );
        let mut long = answer.clone();
        push_value(&mut long, Some(b"four"));
        long.pop();
        let e = values(&long).nth(3).unwrap().unwrap_err();
        assert_eq!(
            e,
            Error::ValuePastEnd {
                index: 3,
                offset: 15,
                len: 4
            }
        );
        assert_eq!(
            e.to_string(),
            "value 3 of the get-many answer (byte 15) claims 4 bytes past its end"
        );
    }
}
