//! The binary frames that cross between the foundation host and its guests, written
//! and read by one crate on both sides so they cannot drift apart.
//!
//! The normative description of every format is the WIT, `wit/world.wit` at the root
//! of this repository: the `handle` export of interface `actor` for batches and
//! replies, `get-many` and `insert-many` of interface `tables` for the bulk frames.
//! The docs here restate those layouts byte by byte; when they disagree, the WIT wins
//! and this crate is wrong.
//!
//! | Frame | Module | Written by | Read by |
//! |---|---|---|---|
//! | a batch of casts and calls (`handle`'s argument) | [`batch`] | host | guest |
//! | the replies given during a batch (`batch-result.replies`) | [`reply`] | guest | host |
//! | keys of `get-many`, entries of `insert-many` | [`bulk`] | guest | host |
//! | the answer of `get-many` | [`bulk`] | host | guest |
//!
//! All integers are little-endian; there is no padding, no magic number and no count:
//! a frame is its items back to back, and the empty frame holds no item.
//!
//! # Errors and panics
//!
//! Readers borrow from the frame (no copy, no allocation) and never panic: a malformed
//! frame yields one [`Error`] saying what is wrong and where (item index, byte offset),
//! after which the reader is exhausted. Writers append to a `Vec<u8>`, reserving once
//! per item; they panic only when a length does not fit the frame's `u32` (a payload
//! of 4 GiB or more), which a frame cannot express; [`reply::finish_reply`], whose
//! length is only known after the caller encoded in place, returns [`TooLong`]
//! instead.

#![no_std]

extern crate alloc;
#[cfg(test)]
extern crate std;

pub mod batch;
pub mod bulk;
mod error;
pub mod reply;

pub use error::{Error, TooLong};

/// Where a reader is in its frame: what is left to read, the frame's length (to tell
/// offsets) and the index of the next item. Every reader of this crate keeps one.
#[derive(Debug, Clone)]
struct Cursor<'a> {
    rest: &'a [u8],
    len: usize,
    index: usize,
}

impl<'a> Cursor<'a> {
    #[inline]
    fn new(frame: &'a [u8]) -> Self {
        Cursor {
            rest: frame,
            len: frame.len(),
            index: 0,
        }
    }

    /// The byte offset of `rest` (the next item's, unless `rest` is further on).
    #[inline]
    fn offset_of(&self, rest: &[u8]) -> usize {
        self.len - rest.len()
    }

    /// The byte offset of the next item (the frame's length once done).
    #[inline]
    fn offset(&self) -> usize {
        self.offset_of(self.rest)
    }

    /// An item was read, and `rest` follows it.
    #[inline]
    fn advance(&mut self, rest: &'a [u8]) {
        self.rest = rest;
        self.index += 1;
    }

    /// Ends reading after a malformed item, so the reader yields nothing more.
    #[cold]
    fn fail(&mut self, error: Error) -> Error {
        self.rest = &[];
        error
    }
}

/// `len` as a frame's `u32` length.
///
/// # Panics
///
/// When `len` does not fit a `u32`.
#[inline]
fn len_u32(len: usize) -> u32 {
    match u32::try_from(len) {
        Ok(len) => len,
        Err(_) => too_long(len),
    }
}

#[cold]
#[inline(never)]
#[track_caller]
fn too_long(len: usize) -> ! {
    panic!("{}", TooLong { len })
}

/// The little-endian `u64` at `h[at..at + 8]`.
#[inline(always)]
fn u64_at<const N: usize>(h: &[u8; N], at: usize) -> u64 {
    u64::from_le_bytes(h[at..at + 8].try_into().unwrap())
}

/// The little-endian `u32` at `h[at..at + 4]`.
#[inline(always)]
fn u32_at<const N: usize>(h: &[u8; N], at: usize) -> u32 {
    u32::from_le_bytes(h[at..at + 4].try_into().unwrap())
}
