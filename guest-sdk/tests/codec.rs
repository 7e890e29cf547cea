//! The SDK's decoder takes whatever another actor, a timer or the host sends: any
//! bytes give a value or an error, never a panic (a panic would trap the actor).

use foundation_sdk::codec::{decode, encode};
use proptest::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Cast {
    Add(i64),
    Reset,
    Move { x: i32, y: i32 },
}

proptest! {
    #[test]
    fn decoding_any_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = decode::<Cast>(&bytes);
        let _ = decode::<String>(&bytes);
        let _ = decode::<Vec<(u64, Option<Vec<u8>>)>>(&bytes);
    }

    #[test]
    fn a_damaged_message_is_an_error_or_a_value(x in any::<i32>(), y in any::<i32>(), cut in any::<prop::sample::Index>()) {
        let bytes = encode(&Cast::Move { x, y }).unwrap();
        prop_assert_eq!(decode::<Cast>(&bytes).unwrap(), Cast::Move { x, y });
        let _ = decode::<Cast>(&bytes[..cut.index(bytes.len())]);
    }
}
