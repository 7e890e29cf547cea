//! Property tests: every frame a writer produces reads back as what was written, and
//! no input, however malformed, makes a reader panic, loop or read past its frame.

use foundation_wire::{Error, batch, bulk, reply};
use proptest::collection::vec;
use proptest::prelude::*;

/// A message of a batch, owned (the reader's `Envelope` borrows).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Msg {
    Cast(u64, Vec<u8>),
    Call(u64, u64, Vec<u8>),
}

fn payload() -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 0..64)
}

fn msg() -> impl Strategy<Value = Msg> {
    prop_oneof![
        (any::<u64>(), payload()).prop_map(|(f, p)| Msg::Cast(f, p)),
        (any::<u64>(), any::<u64>(), payload()).prop_map(|(f, h, p)| Msg::Call(f, h, p)),
    ]
}

fn batch_of(msgs: &[Msg]) -> Vec<u8> {
    let mut buf = Vec::new();
    for m in msgs {
        match m {
            Msg::Cast(from, p) => batch::push_cast(&mut buf, *from, p),
            Msg::Call(from, handle, p) => batch::push_call(&mut buf, *from, *handle, p),
        }
    }
    buf
}

fn owned(e: batch::Envelope<'_>) -> Msg {
    match e {
        batch::Envelope::Cast { from, payload } => Msg::Cast(from, payload.to_vec()),
        batch::Envelope::Call {
            from,
            handle,
            payload,
        } => Msg::Call(from, handle, payload.to_vec()),
    }
}

/// What every reader promises on any input: items, then at most one error, then
/// nothing; at most one item per byte (so it cannot loop), and an error's offset
/// inside the frame.
fn check_reader<T>(frame: &[u8], items: impl Iterator<Item = Result<T, Error>>) {
    let mut count = 0usize;
    let mut failed = false;
    for item in items {
        assert!(!failed, "an item after an error");
        count += 1;
        assert!(count <= frame.len(), "more items than bytes");
        if let Err(e) = item {
            assert!(e.offset() < frame.len(), "{e}: offset past the frame");
            assert!(!e.to_string().is_empty());
            failed = true;
        }
    }
}

proptest! {
    #[test]
    fn batches_round_trip(msgs in vec(msg(), 0..16)) {
        let buf = batch_of(&msgs);
        let back: Vec<Msg> = batch::read(&buf).map(|e| owned(e.unwrap())).collect();
        prop_assert_eq!(&back, &msgs);
        // `push` writes what the typed writers write.
        let mut again = Vec::new();
        for e in batch::read(&buf) {
            batch::push(&mut again, &e.unwrap());
        }
        prop_assert_eq!(again, buf);
    }

    #[test]
    fn a_cut_batch_reads_its_whole_envelopes_then_one_error(
        msgs in vec(msg(), 1..8),
        cut in any::<prop::sample::Index>(),
    ) {
        let buf = batch_of(&msgs);
        let at = cut.index(buf.len());
        let mut reader = batch::read(&buf[..at]);
        let mut whole = 0;
        let mut end = 0;
        for m in &msgs {
            let len = match m {
                Msg::Cast(_, p) => batch::CAST_HEADER + p.len(),
                Msg::Call(_, _, p) => batch::CALL_HEADER + p.len(),
            };
            if end + len > at {
                break;
            }
            end += len;
            prop_assert_eq!(owned(reader.next().unwrap().unwrap()), m.clone());
            whole += 1;
        }
        if whole < msgs.len() && end < at {
            let e = reader.next().unwrap().unwrap_err();
            prop_assert_eq!((e.index(), e.offset()), (whole, end));
        }
        prop_assert!(reader.next().is_none());
    }

    #[test]
    fn any_bytes_as_a_batch(frame in vec(any::<u8>(), 0..256)) {
        check_reader(&frame, batch::read(&frame));
    }

    #[test]
    fn replies_round_trip(replies in vec((any::<u64>(), payload()), 0..16), in_place in any::<bool>()) {
        let mut buf = Vec::new();
        for (handle, p) in &replies {
            if in_place {
                let start = reply::begin_reply(&mut buf, *handle);
                buf.extend_from_slice(p);
                reply::finish_reply(&mut buf, start).unwrap();
            } else {
                reply::push_reply(&mut buf, *handle, p);
            }
        }
        let back: Vec<(u64, Vec<u8>)> = reply::read(&buf)
            .map(|r| r.map(|r| (r.handle, r.payload.to_vec())).unwrap())
            .collect();
        prop_assert_eq!(back, replies);
    }

    #[test]
    fn an_abandoned_reply_leaves_no_trace(
        before in vec((any::<u64>(), payload()), 0..4),
        handle in any::<u64>(),
        partial in payload(),
    ) {
        let mut buf = Vec::new();
        for (h, p) in &before {
            reply::push_reply(&mut buf, *h, p);
        }
        let kept = buf.clone();
        let start = reply::begin_reply(&mut buf, handle);
        buf.extend_from_slice(&partial);
        reply::abandon_reply(&mut buf, start);
        prop_assert_eq!(buf, kept);
    }

    #[test]
    fn any_bytes_as_replies(frame in vec(any::<u8>(), 0..256)) {
        check_reader(&frame, reply::read(&frame));
    }

    #[test]
    fn key_and_entry_frames_round_trip(
        keys in vec(payload(), 0..16),
        entries in vec((payload(), payload()), 0..16),
        triples in vec((payload(), payload(), payload()), 0..8),
    ) {
        let mut kf = Vec::new();
        for k in &keys {
            bulk::push_key(&mut kf, k);
        }
        let back: Vec<Vec<u8>> = bulk::split::<1>(&kf).map(|e| e.unwrap()[0].to_vec()).collect();
        prop_assert_eq!(back, keys);

        let mut ef = Vec::new();
        let mut ff = Vec::new();
        for (k, v) in &entries {
            bulk::push_entry(&mut ef, k, v);
            bulk::push_fields(&mut ff, &[k, v]);
        }
        prop_assert_eq!(&ef, &ff);
        let back: Vec<(Vec<u8>, Vec<u8>)> = bulk::split::<2>(&ef)
            .map(|e| e.map(|[k, v]| (k.to_vec(), v.to_vec())).unwrap())
            .collect();
        prop_assert_eq!(back, entries);

        let mut tf = Vec::new();
        for (a, b, c) in &triples {
            bulk::push_fields(&mut tf, &[a, b, c]);
        }
        let back: Vec<_> = bulk::split::<3>(&tf)
            .map(|e| e.map(|[a, b, c]| (a.to_vec(), b.to_vec(), c.to_vec())).unwrap())
            .collect();
        prop_assert_eq!(back, triples);
    }

    #[test]
    fn an_entry_frame_cut_anywhere_is_an_error_not_a_shorter_frame(
        entries in vec((payload(), payload()), 1..8),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut ef = Vec::new();
        let mut ends = vec![0usize];
        for (k, v) in &entries {
            bulk::push_entry(&mut ef, k, v);
            ends.push(ef.len());
        }
        let at = cut.index(ef.len());
        let whole = ends.iter().filter(|&&e| e <= at).count() - 1;
        let read: Vec<_> = bulk::split::<2>(&ef[..at]).collect();
        prop_assert!(read[..whole].iter().all(Result::is_ok));
        if ends.contains(&at) {
            prop_assert_eq!(read.len(), whole);
        } else {
            prop_assert_eq!(read.len(), whole + 1);
            let e = read[whole].clone().unwrap_err();
            prop_assert_eq!(e.index(), whole);
        }
    }

    #[test]
    fn any_bytes_as_key_or_entry_frames(frame in vec(any::<u8>(), 0..256)) {
        check_reader(&frame, bulk::split::<1>(&frame));
        check_reader(&frame, bulk::split::<2>(&frame));
    }

    #[test]
    fn get_many_answers_round_trip(values in vec(prop::option::of(payload()), 0..16)) {
        let mut answer = Vec::new();
        let mut size = 0;
        for v in &values {
            bulk::push_value(&mut answer, v.as_deref());
            size += bulk::value_len(v.as_deref());
        }
        prop_assert_eq!(size, answer.len());
        let back: Vec<Option<Vec<u8>>> = bulk::values(&answer)
            .map(|v| v.unwrap().map(<[u8]>::to_vec))
            .collect();
        prop_assert_eq!(back, values);
    }

    #[test]
    fn any_bytes_as_a_get_many_answer(answer in vec(any::<u8>(), 0..256)) {
        check_reader(&answer, bulk::values(&answer));
    }
}
