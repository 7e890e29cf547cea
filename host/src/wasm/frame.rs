//! Batch frames between host and guest; the layout is documented on the `handle`
//! export in `wit/world.wit`, and `guest-sdk/src/frame.rs` is the other side.

pub(crate) const KIND_CAST: u8 = 0;
pub(crate) const KIND_CALL: u8 = 1;

pub(crate) fn push_cast(buf: &mut Vec<u8>, from: u64, payload: &[u8]) {
    buf.reserve(13 + payload.len());
    buf.push(KIND_CAST);
    buf.extend_from_slice(&from.to_le_bytes());
    buf.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    buf.extend_from_slice(payload);
}

pub(crate) fn push_call(buf: &mut Vec<u8>, from: u64, handle: u64, payload: &[u8]) {
    buf.reserve(21 + payload.len());
    buf.push(KIND_CALL);
    buf.extend_from_slice(&from.to_le_bytes());
    buf.extend_from_slice(&handle.to_le_bytes());
    buf.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    buf.extend_from_slice(payload);
}

/// Splits a guest's reply frames. A malformed frame is the guest's fault: the error
/// says where it went wrong, and the actor is stopped with it.
pub(crate) fn replies(mut buf: &[u8]) -> impl Iterator<Item = Result<(u64, &[u8]), String>> {
    std::iter::from_fn(move || {
        if buf.is_empty() {
            return None;
        }
        if buf.len() < 12 {
            buf = &[];
            return Some(Err("truncated reply frame header".to_string()));
        }
        let handle = u64::from_le_bytes(buf[..8].try_into().unwrap());
        let len = u32::from_le_bytes(buf[8..12].try_into().unwrap()) as usize;
        if buf.len() - 12 < len {
            buf = &[];
            return Some(Err(format!(
                "reply frame for handle {handle} claims {len} bytes past the end"
            )));
        }
        let payload = &buf[12..12 + len];
        buf = &buf[12 + len..];
        Some(Ok((handle, payload)))
    })
}
