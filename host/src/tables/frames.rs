//! The frames of the bulk table operations, as the host reads them.

/// Splits `frame` into entries of `arity` fields; a malformed frame is an
/// error saying where.
pub(crate) fn split(
    mut frame: &[u8],
    arity: usize,
) -> impl Iterator<Item = Result<[&[u8]; 2], String>> {
    let mut entry = 0usize;
    std::iter::from_fn(move || {
        if frame.is_empty() {
            return None;
        }
        let mut fields: [&[u8]; 2] = [&[], &[]];
        for field in fields.iter_mut().take(arity) {
            let Some((len, rest)) = frame.split_first_chunk::<4>() else {
                frame = &[];
                return Some(Err(format!(
                    "entry {entry} of the frame is truncated (a length needs 4 bytes)"
                )));
            };
            let len = u32::from_le_bytes(*len) as usize;
            if rest.len() < len {
                frame = &[];
                return Some(Err(format!(
                    "entry {entry} of the frame claims {len} bytes past its end"
                )));
            }
            let (bytes, rest) = rest.split_at(len);
            *field = bytes;
            frame = rest;
        }
        entry += 1;
        Some(Ok(fields))
    })
}
