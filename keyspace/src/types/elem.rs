//! Borrowed element views and Redis's exact integer recognition (`string2ll`).

/// A borrowed element of a collection: integers that were stored as integers, or raw bytes.
///
/// Every stored string that [`parse_int`] accepts is stored as [`Elem::Int`], and every
/// [`Elem::Bytes`] is a string `parse_int` rejects, so two elements are equal exactly when their
/// byte forms are equal and round trips are byte-exact.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Elem<'a> {
    /// An integer (its byte form is the canonical decimal text).
    Int(i64),
    /// Bytes that do not form a canonical integer.
    Bytes(&'a [u8]),
}

/// Bytes needed for the decimal text of any `i64` (`-9223372036854775808`).
pub const INT_TEXT_BYTES_MAX: usize = 20;

impl<'a> Elem<'a> {
    /// The element for `bytes`: [`Elem::Int`] when Redis's `string2ll` accepts them.
    pub fn from_bytes(bytes: &'a [u8]) -> Self {
        match parse_int(bytes) {
            Some(value) => Elem::Int(value),
            None => Elem::Bytes(bytes),
        }
    }

    /// The byte form, using `buf` for integers.
    ///
    /// ```
    /// use zedis_keyspace::types::Elem;
    /// let mut buf = [0u8; 20];
    /// assert_eq!(Elem::Int(-42).to_bytes(&mut buf), b"-42");
    /// assert_eq!(Elem::Bytes(b"x").to_bytes(&mut buf), b"x");
    /// ```
    pub fn to_bytes<'b>(&'b self, buf: &'b mut [u8; INT_TEXT_BYTES_MAX]) -> &'b [u8] {
        match *self {
            Elem::Int(value) => {
                let mut text = itoa::Buffer::new();
                let text = text.format(value).as_bytes();
                buf[..text.len()].copy_from_slice(text);
                &buf[..text.len()]
            }
            Elem::Bytes(bytes) => bytes,
        }
    }

    /// The byte form as an owned vector (for tests and slow paths).
    pub fn to_vec(&self) -> Vec<u8> {
        let mut buf = [0u8; INT_TEXT_BYTES_MAX];
        self.to_bytes(&mut buf).to_vec()
    }

    /// Length of the byte form (what STRLEN / HSTRLEN report).
    pub fn len_bytes(&self) -> usize {
        match *self {
            Elem::Int(value) => int_text_len(value),
            Elem::Bytes(bytes) => bytes.len(),
        }
    }

    /// Whether the byte form equals `other`.
    pub fn eq_bytes(&self, other: &[u8]) -> bool {
        match *self {
            Elem::Int(value) => parse_int(other) == Some(value),
            Elem::Bytes(bytes) => bytes == other,
        }
    }
}

/// A search value parsed once, compared against many stored elements.
#[derive(Clone, Copy, Debug)]
pub struct Needle<'a> {
    bytes: &'a [u8],
    /// `parse_int(bytes)`, cached.
    int: Option<i64>,
}

impl<'a> Needle<'a> {
    /// Parses `bytes` once.
    pub fn new(bytes: &'a [u8]) -> Self {
        Needle {
            bytes,
            int: parse_int(bytes),
        }
    }

    /// The bytes searched for.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The needle as an element (canonical form).
    pub fn elem(&self) -> Elem<'a> {
        match self.int {
            Some(value) => Elem::Int(value),
            None => Elem::Bytes(self.bytes),
        }
    }

    /// Whether a stored element (canonical form) equals the needle.
    #[inline]
    pub fn matches(&self, elem: &Elem<'_>) -> bool {
        match *elem {
            Elem::Int(value) => self.int == Some(value),
            Elem::Bytes(bytes) => bytes == self.bytes,
        }
    }
}

/// Redis's `string2ll`: a decimal `i64` with an optional `-`, no `+`, no leading zeros
/// (except `"0"` itself), not `"-0"`, no spaces, no overflow.
///
/// ```
/// use zedis_keyspace::types::parse_int;
/// assert_eq!(parse_int(b"-12"), Some(-12));
/// assert_eq!(parse_int(b"012"), None);
/// assert_eq!(parse_int(b"-0"), None);
/// assert_eq!(parse_int(b"+1"), None);
/// assert_eq!(parse_int(b"9223372036854775808"), None);
/// ```
pub fn parse_int(bytes: &[u8]) -> Option<i64> {
    crate::num::parse_i64_exact(bytes)
}

/// Length of the decimal text of `value`.
pub(crate) fn int_text_len(value: i64) -> usize {
    let mut magnitude = value.unsigned_abs();
    let mut len = usize::from(value < 0) + 1;
    while magnitude >= 10 {
        magnitude /= 10;
        len += 1;
    }
    len
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string2ll_edge_cases() {
        assert_eq!(parse_int(b"0"), Some(0));
        assert_eq!(parse_int(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_int(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_int(b"-9223372036854775809"), None);
        for bad in [
            &b""[..],
            b"-",
            b"00",
            b"-01",
            b" 1",
            b"1 ",
            b"1a",
            b"+0",
            b"--1",
        ] {
            assert_eq!(parse_int(bad), None, "{bad:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn ints_round_trip(value: i64) {
            let text = value.to_string();
            proptest::prop_assert_eq!(parse_int(text.as_bytes()), Some(value));
            proptest::prop_assert_eq!(int_text_len(value), text.len());
            let mut buf = [0u8; INT_TEXT_BYTES_MAX];
            let elem = Elem::Int(value);
            proptest::prop_assert_eq!(elem.to_bytes(&mut buf), text.as_bytes());
        }

        #[test]
        fn parse_matches_canonical_text(bytes in proptest::collection::vec(proptest::sample::select(b"-+0123456789a".to_vec()), 0..22)) {
            if let Some(value) = parse_int(&bytes) {
                let text = value.to_string();
                proptest::prop_assert_eq!(text.as_bytes(), &bytes[..]);
            }
        }
    }
}
