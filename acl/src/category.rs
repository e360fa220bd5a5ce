//! The ACL command categories (`@read`, `@write`, ...), in Redis's order: `ACL CAT` lists them in this
//! order and the rule describer tries them in this order (ties go to the earlier one).

/// Bit set of categories (bit `i` is `CATEGORIES[i]`).
pub type CategoryBits = u32;

/// Category names in Redis 7.0's order (`ACLCommandCategories` in acl.c).
pub const CATEGORIES: [&str; 21] = [
    "keyspace",
    "read",
    "write",
    "set",
    "sortedset",
    "list",
    "hash",
    "string",
    "bitmap",
    "hyperloglog",
    "geo",
    "stream",
    "pubsub",
    "admin",
    "fast",
    "slow",
    "blocking",
    "dangerous",
    "connection",
    "transaction",
    "scripting",
];

/// The bit of the category `name` (case-insensitive, without `@`), or `None` for an unknown name.
pub fn category_bit(name: &[u8]) -> Option<CategoryBits> {
    CATEGORIES
        .iter()
        .position(|c| c.as_bytes().eq_ignore_ascii_case(name))
        .map(|idx| 1 << idx)
}

/// Parses a space-separated category list as COMMAND INFO prints it (`@read @string @fast`; the `@` is
/// optional). Unknown names are ignored (Redis 7.0 has no others), and so are empty words.
pub fn parse_categories(list: &str) -> CategoryBits {
    list.split_ascii_whitespace()
        .filter_map(|word| category_bit(word.trim_start_matches('@').as_bytes()))
        .fold(0, |bits, bit| bits | bit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_bits() {
        assert_eq!(category_bit(b"keyspace"), Some(1));
        assert_eq!(category_bit(b"READ"), Some(2));
        assert_eq!(category_bit(b"scripting"), Some(1 << 20));
        assert_eq!(category_bit(b"all"), None);
        assert_eq!(
            parse_categories("@read @string  @fast"),
            2 | (1 << 7) | (1 << 14)
        );
    }
}
