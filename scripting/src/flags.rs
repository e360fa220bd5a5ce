//! Script flags (`#!lua flags=...` and `register_function` flags) and shebang parsing.

/// A set of Redis script flags, as bits in Redis's definition order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScriptFlags(pub u8);

impl ScriptFlags {
    /// `no-writes`: the script only reads.
    pub const NO_WRITES: u8 = 1;
    /// `allow-oom`: the script may run when the server is out of memory.
    pub const ALLOW_OOM: u8 = 2;
    /// `allow-stale`: the script may run on a stale replica.
    pub const ALLOW_STALE: u8 = 4;
    /// `no-cluster`: the script refuses to run in cluster mode.
    pub const NO_CLUSTER: u8 = 8;
    /// `allow-cross-slot-keys`: the script may touch keys of several slots.
    pub const ALLOW_CROSS_SLOT: u8 = 16;

    /// Flag names with their bits, in the order Redis lists them.
    pub const NAMES: [(&'static str, u8); 5] = [
        ("no-writes", Self::NO_WRITES),
        ("allow-oom", Self::ALLOW_OOM),
        ("allow-stale", Self::ALLOW_STALE),
        ("no-cluster", Self::NO_CLUSTER),
        ("allow-cross-slot-keys", Self::ALLOW_CROSS_SLOT),
    ];

    /// True when every bit of `flag` is set.
    pub fn has(self, flag: u8) -> bool {
        self.0 & flag == flag
    }

    /// The names of the set flags, in Redis's order.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        Self::NAMES
            .into_iter()
            .filter(move |(_, bit)| self.0 & bit != 0)
            .map(|(name, _)| name)
    }

    /// The bit of a flag name (exact match, as the shebang parser does).
    pub fn bit_of(name: &[u8]) -> Option<u8> {
        Self::NAMES
            .iter()
            .find(|(n, _)| n.as_bytes() == name)
            .map(|(_, bit)| *bit)
    }
}

/// The flags an EVAL body declares, and how many leading bytes its shebang line takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shebang {
    /// Declared flags.
    pub flags: ScriptFlags,
    /// True without a shebang: Redis's compatibility mode, where flags are not enforced.
    pub compat_mode: bool,
    /// Bytes of the shebang line before its `\n` (0 without one); the body compiled starts there so line
    /// numbers stay the user's.
    pub len: usize,
}

/// Parses an EVAL body's `#!lua flags=a,b` line as Redis's `evalExtractShebangFlags`; the error is the
/// message without the `ERR ` code.
pub fn parse_eval_shebang(body: &[u8]) -> Result<Shebang, String> {
    if !body.starts_with(b"#!") {
        return Ok(Shebang {
            flags: ScriptFlags::default(),
            compat_mode: true,
            len: 0,
        });
    }
    let Some(end) = body.iter().position(|&b| b == b'\n') else {
        return Err("Invalid script shebang".into());
    };
    let parts = split_args(&body[..end]).ok_or("Invalid engine in script shebang")?;
    let Some(engine) = parts.first() else {
        return Err("Invalid engine in script shebang".into());
    };
    if engine.as_slice() != b"#!lua" {
        return Err(format!(
            "Unexpected engine in script shebang: {}",
            lossy(engine)
        ));
    }
    let mut flags = ScriptFlags::default();
    for part in &parts[1..] {
        let Some(list) = part.strip_prefix(b"flags=") else {
            return Err(format!("Unknown lua shebang option: {}", lossy(part)));
        };
        if list.is_empty() {
            continue;
        }
        for name in list.split(|&b| b == b',') {
            let bit = ScriptFlags::bit_of(name)
                .ok_or_else(|| format!("Unexpected flag in script shebang: {}", lossy(name)))?;
            flags.0 |= bit;
        }
    }
    Ok(Shebang {
        flags,
        compat_mode: false,
        len: end,
    })
}

/// Lossy text of bytes for error messages.
pub(crate) fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Redis's `sdssplitargs` for a shebang line: whitespace-separated words, double quotes with escapes and
/// single quotes; `None` on unbalanced quotes.
pub(crate) fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    let mut idx = 0;
    loop {
        while idx < line.len() && line[idx].is_ascii_whitespace() {
            idx += 1;
        }
        if idx >= line.len() {
            return Some(out);
        }
        let mut word = Vec::new();
        let mut quote: Option<u8> = None;
        loop {
            let Some(&c) = line.get(idx) else {
                if quote.is_some() {
                    return None;
                }
                break;
            };
            match quote {
                Some(q) => {
                    if c == b'\\' && q == b'"' && idx + 1 < line.len() {
                        idx += 1;
                        word.push(match line[idx] {
                            b'n' => b'\n',
                            b'r' => b'\r',
                            b't' => b'\t',
                            b'b' => 8,
                            b'a' => 7,
                            other => other,
                        });
                    } else if c == q {
                        // A closing quote must be followed by a space or the end.
                        if line.get(idx + 1).is_some_and(|b| !b.is_ascii_whitespace()) {
                            return None;
                        }
                        idx += 1;
                        break;
                    } else {
                        word.push(c);
                    }
                }
                None => {
                    if c.is_ascii_whitespace() {
                        break;
                    } else if c == b'"' || c == b'\'' {
                        quote = Some(c);
                    } else {
                        word.push(c);
                    }
                }
            }
            idx += 1;
        }
        out.push(word);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shebang_flags() {
        let s = parse_eval_shebang(b"#!lua flags=no-writes,allow-oom\nreturn 1").unwrap();
        assert_eq!(s.flags.0, ScriptFlags::NO_WRITES | ScriptFlags::ALLOW_OOM);
        assert!(!s.compat_mode);
        assert_eq!(s.len, 31);
        assert!(parse_eval_shebang(b"return 1").unwrap().compat_mode);
        assert_eq!(
            parse_eval_shebang(b"#!lua").unwrap_err(),
            "Invalid script shebang"
        );
        assert_eq!(
            parse_eval_shebang(b"#!python\n").unwrap_err(),
            "Unexpected engine in script shebang: #!python"
        );
        assert_eq!(
            parse_eval_shebang(b"#!lua flags=bad\n").unwrap_err(),
            "Unexpected flag in script shebang: bad"
        );
        assert_eq!(
            parse_eval_shebang(b"#!lua x=1\n").unwrap_err(),
            "Unknown lua shebang option: x=1"
        );
        assert_eq!(parse_eval_shebang(b"#!lua flags=\n").unwrap().flags.0, 0);
    }
}
