//! `aof-timestamp-enabled`: Redis 7.0's `#TS:<unix seconds>\r\n` annotations. The writer puts one before
//! the first command of each new second (`genAofTimestampAnnotationIfNeeded`) and one at the start of a
//! rewritten base of commands; the loader skips any line starting with `#`, as Redis's does, so files
//! written with annotations by either server load in both.

/// The writer's side.
#[derive(Debug, Default)]
pub struct Timestamps {
    /// `aof-timestamp-enabled`.
    pub enabled: bool,
    /// The last second annotated.
    current_s: i64,
}

impl Timestamps {
    /// Appends an annotation to `buf` when enabled and `now_s` is past the last one.
    pub fn annotate(&mut self, buf: &mut Vec<u8>, now_s: i64) {
        if self.enabled && self.current_s < now_s {
            self.current_s = now_s;
            buf.extend_from_slice(&annotation(now_s));
        }
    }
}

/// `#TS:<now_s>\r\n`.
pub fn annotation(now_s: i64) -> Vec<u8> {
    format!("#TS:{now_s}\r\n").into_bytes()
}

/// The length of the annotation line at the start of `buf` (through its `\n`), or `None` when the line
/// is not complete yet.
pub fn annotation_len(buf: &[u8]) -> Option<usize> {
    debug_assert_eq!(buf.first(), Some(&b'#'));
    buf.iter().position(|&b| b == b'\n').map(|end| end + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_annotation_per_new_second_and_only_when_enabled() {
        let mut ts = Timestamps::default();
        let mut buf = Vec::new();
        ts.annotate(&mut buf, 100);
        assert!(buf.is_empty());
        ts.enabled = true;
        ts.annotate(&mut buf, 100);
        ts.annotate(&mut buf, 100);
        ts.annotate(&mut buf, 101);
        assert_eq!(buf, b"#TS:100\r\n#TS:101\r\n");
        assert_eq!(annotation_len(b"#TS:1\r\n*1\r\n"), Some(7));
        assert_eq!(annotation_len(b"#TS:1"), None);
    }
}
