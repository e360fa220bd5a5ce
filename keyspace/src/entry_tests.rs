//! Entry layout tests: field round trips and out-of-line strings (proptest).
use super::*;
use allocator_api2::alloc::Global;
use proptest::prelude::*;

proptest! {
    #[test]
    fn fields_round_trip(
        key in proptest::collection::vec(any::<u8>(), 0..300),
        value in proptest::collection::vec(any::<u8>(), 0..300),
        expire in proptest::option::of(any::<i64>()),
        int in any::<i64>(),
        lru in 0u32..(1 << 24),
    ) {
        let e = EntryPtr::new(Global, &key, expire, PayloadInit::Str(&value), lru).unwrap();
        prop_assert_eq!(e.key(), &key[..]);
        prop_assert_eq!(e.expire(), expire);
        prop_assert_eq!(e.lru(), lru);
        prop_assert_eq!(e.kind(), Kind::Str);
        prop_assert!(matches!(e.payload(), Payload::Str(v) if v == &value[..]));
        prop_assert_eq!(e.size(), entry_bytes(key.len(), expire.is_some(), value.len()) - varint_len(value.len() as u64) + varint_len(value.len() as u64));
        e.set_lru(lru ^ 0x55);
        e.set_flag(FLAG_RAW);
        prop_assert!(e.has_flag(FLAG_RAW));
        prop_assert_eq!(e.kind(), Kind::Str);
        prop_assert_eq!(e.expire(), expire);
        if expire.is_some() {
            e.set_volatile_idx(7);
            prop_assert_eq!(e.volatile_idx(), 7);
            prop_assert_eq!(e.key(), &key[..]);
        }
        unsafe { e.free(Global) };

        let e = EntryPtr::new(Global, &key, expire, PayloadInit::Int(int), lru).unwrap();
        prop_assert!(matches!(e.payload(), Payload::Int(v) if v == int));
        e.set_int(int.wrapping_add(1));
        prop_assert!(matches!(e.payload(), Payload::Int(v) if v == int.wrapping_add(1)));
        prop_assert_eq!(e.key(), &key[..]);
        unsafe { e.free(Global) };
    }
}

proptest! {
    #[test]
    fn big_strings_grow_in_place_and_keep_their_key(
        key in proptest::collection::vec(any::<u8>(), 0..40),
        value in proptest::collection::vec(any::<u8>(), 0..300),
        growths in proptest::collection::vec((0usize..600, 0usize..600), 0..8),
        expire in proptest::option::of(any::<i64>()),
    ) {
        let mut fill = |dst: &mut [u8]| dst.copy_from_slice(&value);
        let init = PayloadInit::BigStrWith { len: value.len(), capacity: value.len(), fill: &mut fill };
        let e = EntryPtr::new(Global, &key, expire, init, 3).unwrap();
        prop_assert_eq!(e.kind(), Kind::BigStr);
        prop_assert!(!e.kind().is_object());
        let mut model = value.clone();
        for (extra, spare) in growths {
            let len = model.len() + extra;
            prop_assert!(e.grow_big_str(Global, len, len + spare).unwrap());
            model.resize(len, 0);
            if let Some(last) = e.str_mut().unwrap().last_mut() {
                *last ^= 1;
            }
            if let Some(last) = model.last_mut() {
                *last ^= 1;
            }
            prop_assert!(matches!(e.payload(), Payload::Str(v) if v == &model[..]));
            prop_assert_eq!(e.key(), &key[..]);
            prop_assert_eq!(e.expire(), expire);
            prop_assert!(e.out_of_line_bytes() >= 16 + len);
        }
        prop_assert!(!e.grow_big_str(Global, 0, 0).unwrap() || model.is_empty());
        unsafe { e.free(Global) };
    }
}

#[test]
fn small_pair_fits_in_64_bytes() {
    assert_eq!(entry_bytes(16, false, 32), 60);
}
