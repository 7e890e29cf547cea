//! Reading the host's batch frames and writing reply frames. The layout is defined in
//! `wit/world.wit` on the `handle` export; the host's `host/src/frame.rs` is the other
//! side of it.

/// One envelope of a batch.
pub(crate) enum Envelope<'a> {
    Cast {
        from: u64,
        payload: &'a [u8],
    },
    Call {
        from: u64,
        handle: u64,
        payload: &'a [u8],
    },
}

pub(crate) const KIND_CAST: u8 = 0;
pub(crate) const KIND_CALL: u8 = 1;

/// Iterates a batch. A malformed batch is a host bug, so it panics with what is wrong.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }

    fn take(&mut self, n: usize) -> &'a [u8] {
        assert!(self.buf.len() >= n, "foundation: truncated batch frame");
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        head
    }

    fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.take(8).try_into().unwrap())
    }

    fn payload(&mut self) -> &'a [u8] {
        let len = u32::from_le_bytes(self.take(4).try_into().unwrap()) as usize;
        self.take(len)
    }
}

impl<'a> Iterator for Reader<'a> {
    type Item = Envelope<'a>;

    fn next(&mut self) -> Option<Envelope<'a>> {
        let kind = *self.buf.first()?;
        self.buf = &self.buf[1..];
        Some(match kind {
            KIND_CAST => {
                let from = self.u64();
                Envelope::Cast {
                    from,
                    payload: self.payload(),
                }
            }
            KIND_CALL => {
                let from = self.u64();
                let handle = self.u64();
                Envelope::Call {
                    from,
                    handle,
                    payload: self.payload(),
                }
            }
            other => panic!("foundation: unknown envelope kind {other} in batch"),
        })
    }
}

/// Room for a first reply frame or two, so a batch's replies do not grow their
/// buffer 8, 16, 32, 64 bytes.
const FIRST_REPLIES: usize = 128;

/// Appends one reply frame, encoding `reply` in place (no buffer of its own).
pub(crate) fn push_reply<R: serde::Serialize>(
    out: &mut Vec<u8>,
    handle: u64,
    reply: &R,
) -> Result<(), crate::codec::Error> {
    if out.capacity() == 0 {
        out.reserve(FIRST_REPLIES);
    }
    let start = out.len();
    out.extend_from_slice(&handle.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    if let Err(e) = crate::codec::encode_into(out, reply) {
        out.truncate(start);
        return Err(e);
    }
    let len = u32::try_from(out.len() - start - 12)
        .map_err(|_| "a reply longer than 4 GiB".to_string())?;
    out[start + 8..start + 12].copy_from_slice(&len.to_le_bytes());
    Ok(())
}
