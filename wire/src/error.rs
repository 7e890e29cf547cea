//! What a reader says about a malformed frame, and what a writer says about a length
//! that does not fit.

use core::fmt;

/// A malformed frame: what is wrong, and where.
///
/// `index` counts items (envelopes, replies, entries, values) from 0 and names the
/// one that is malformed: as many items came before it, well formed. `offset` is a
/// byte offset from the start of the frame: where the malformed envelope or reply
/// starts, or where the length word that is cut short or claims too much starts.
///
/// The bulk variants ([`Error::TruncatedField`], [`Error::FieldPastEnd`]) display as
/// the host has always reported them to guests (`entry 1 of the frame is truncated (a
/// length needs 4 bytes)`), without the offset.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// Batch: the envelope's kind byte is neither
    /// [`KIND_CAST`](crate::batch::KIND_CAST) nor [`KIND_CALL`](crate::batch::KIND_CALL).
    UnknownKind {
        index: usize,
        offset: usize,
        kind: u8,
    },
    /// Batch: the frame ends inside the envelope's header, which needs `needed`
    /// bytes (kind byte included) where `remaining` are left.
    TruncatedEnvelope {
        index: usize,
        offset: usize,
        needed: usize,
        remaining: usize,
    },
    /// Batch: the envelope's payload length `len` is more than the `remaining` bytes
    /// after its header.
    EnvelopePastEnd {
        index: usize,
        offset: usize,
        len: u32,
        remaining: usize,
    },
    /// Replies: the frame ends inside the reply's 12-byte header, `remaining` bytes
    /// left.
    TruncatedReply {
        index: usize,
        offset: usize,
        remaining: usize,
    },
    /// Replies: the reply for `handle` claims `len` bytes, more than the `remaining`
    /// bytes after its header.
    ReplyPastEnd {
        index: usize,
        offset: usize,
        handle: u64,
        len: u32,
        remaining: usize,
    },
    /// Bulk frame: entry `entry` has a field whose 4-byte length is cut short;
    /// `offset` is where that length starts.
    TruncatedField { entry: usize, offset: usize },
    /// Bulk frame: a field of entry `entry` claims `len` bytes past the frame's end;
    /// `offset` is where its length starts.
    FieldPastEnd {
        entry: usize,
        offset: usize,
        len: u32,
    },
    /// `get-many` answer: the 4-byte word of value `index` is cut short.
    TruncatedValue { index: usize, offset: usize },
    /// `get-many` answer: value `index` claims `len` bytes (its word is `len + 1`)
    /// past the answer's end.
    ValuePastEnd {
        index: usize,
        offset: usize,
        len: u32,
    },
}

impl Error {
    /// The malformed item's index (envelope, reply, entry or value), from 0.
    #[must_use]
    pub fn index(&self) -> usize {
        match *self {
            Error::UnknownKind { index, .. }
            | Error::TruncatedEnvelope { index, .. }
            | Error::EnvelopePastEnd { index, .. }
            | Error::TruncatedReply { index, .. }
            | Error::ReplyPastEnd { index, .. }
            | Error::TruncatedValue { index, .. }
            | Error::ValuePastEnd { index, .. } => index,
            Error::TruncatedField { entry, .. } | Error::FieldPastEnd { entry, .. } => entry,
        }
    }

    /// The byte offset of the problem in the frame (see [`Error`]).
    #[must_use]
    pub fn offset(&self) -> usize {
        match *self {
            Error::UnknownKind { offset, .. }
            | Error::TruncatedEnvelope { offset, .. }
            | Error::EnvelopePastEnd { offset, .. }
            | Error::TruncatedReply { offset, .. }
            | Error::ReplyPastEnd { offset, .. }
            | Error::TruncatedField { offset, .. }
            | Error::FieldPastEnd { offset, .. }
            | Error::TruncatedValue { offset, .. }
            | Error::ValuePastEnd { offset, .. } => offset,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::UnknownKind {
                index,
                offset,
                kind,
            } => write!(
                f,
                "envelope {index} of the batch (byte {offset}) has unknown kind {kind}"
            ),
            Error::TruncatedEnvelope {
                index,
                offset,
                needed,
                remaining,
            } => write!(
                f,
                "envelope {index} of the batch (byte {offset}) is truncated: \
                 its header needs {needed} bytes, {remaining} remain"
            ),
            Error::EnvelopePastEnd {
                index,
                offset,
                len,
                remaining,
            } => write!(
                f,
                "envelope {index} of the batch (byte {offset}) claims {len} payload bytes \
                 past the end ({remaining} remain)"
            ),
            Error::TruncatedReply {
                index,
                offset,
                remaining,
            } => write!(
                f,
                "reply {index} of the frame (byte {offset}) is truncated: \
                 its header needs 12 bytes, {remaining} remain"
            ),
            Error::ReplyPastEnd {
                index,
                offset,
                handle,
                len,
                remaining,
            } => write!(
                f,
                "reply {index} of the frame (byte {offset}), for handle {handle}, \
                 claims {len} bytes past the end ({remaining} remain)"
            ),
            // These two texts are what the host has always answered `get-many` and
            // `insert-many` with (guests and tests see them): keep them as they are.
            Error::TruncatedField { entry, .. } => write!(
                f,
                "entry {entry} of the frame is truncated (a length needs 4 bytes)"
            ),
            Error::FieldPastEnd { entry, len, .. } => write!(
                f,
                "entry {entry} of the frame claims {len} bytes past its end"
            ),
            Error::TruncatedValue { index, offset } => write!(
                f,
                "value {index} of the get-many answer (byte {offset}) is truncated \
                 (a length needs 4 bytes)"
            ),
            Error::ValuePastEnd { index, offset, len } => write!(
                f,
                "value {index} of the get-many answer (byte {offset}) claims {len} bytes \
                 past its end"
            ),
        }
    }
}

impl core::error::Error for Error {}

/// A length that does not fit a frame's `u32`: `len` is 4 GiB or more.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TooLong {
    /// The length, in bytes.
    pub len: usize,
}

impl fmt::Display for TooLong {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} bytes do not fit a frame's u32 length (4 GiB - 1 at most)",
            self.len
        )
    }
}

impl core::error::Error for TooLong {}
