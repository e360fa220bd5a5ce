//! The manifest: which files make up the AOF, in which order, and how new ones are named.
//!
//! One line per file, `file <name> seq <n> type <b|h|i>`: the base first, then the history files, then the
//! incr files in sequence order. Parsing applies `aofLoadManifestFromFile`'s rules and refuses what it
//! refuses, with its texts.

use std::fmt;

use zedis_util::sds;

/// Redis reads the manifest with `fgets` into `MANIFEST_MAX_LINE + 1` bytes: at most this many bytes a
/// line, its newline included.
const MAX_LINE: usize = 1024;

/// What a file of the AOF holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// The snapshot of the last rewrite (`b`): an RDB file or a command list.
    Base,
    /// A former base or incr file, to be deleted (`h`).
    History,
    /// Commands written since the base (`i`).
    Incr,
}

impl FileKind {
    fn letter(self) -> u8 {
        match self {
            FileKind::Base => b'b',
            FileKind::History => b'h',
            FileKind::Incr => b'i',
        }
    }
}

/// One manifest line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AofFile {
    /// The file's name inside the AOF directory (never a path).
    pub name: Vec<u8>,
    /// Its sequence number (bases and incrs are numbered separately).
    pub seq: i64,
    /// Its role.
    pub kind: FileKind,
}

impl AofFile {
    /// The name as text, for logs and paths (lossy for names that are not UTF-8).
    pub fn name_lossy(&self) -> String {
        String::from_utf8_lossy(&self.name).into_owned()
    }
}

/// A manifest Redis refuses to load: the reason (Redis's text), and the line it was read at.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ManifestError {
    /// Redis's text for the problem, e.g. `Found a non-monotonic sequence number`.
    pub reason: &'static str,
    /// The 1-based line number, 0 when the problem is not one line's (an empty manifest).
    pub line: usize,
    /// The offending line, trimmed as Redis trims it.
    pub text: String,
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(
                f,
                "reading the manifest file, at line {}: '{}': ",
                self.line, self.text
            )?;
        }
        f.write_str(self.reason)
    }
}

/// The AOF's file list (`aofManifest`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Manifest {
    base: Option<AofFile>,
    history: Vec<AofFile>,
    incr: Vec<AofFile>,
    base_seq: i64,
    incr_seq: i64,
    dirty: bool,
}

impl Manifest {
    /// An empty manifest (no directory, or no manifest file in it).
    pub fn new() -> Manifest {
        Manifest::default()
    }

    /// Parses a manifest file's bytes.
    pub fn parse(bytes: &[u8]) -> Result<Manifest, ManifestError> {
        let mut am = Manifest::new();
        let mut rest = bytes;
        let mut line_no = 0;
        let mut max_seq = 0;
        if rest.is_empty() {
            return Err(error("Found an empty AOF manifest", 0, b""));
        }
        while !rest.is_empty() {
            // fgets with a buffer of MAX_LINE + 1 bytes reads at most MAX_LINE bytes, newline included.
            let take = match rest.iter().position(|&c| c == b'\n') {
                Some(nl) if nl < MAX_LINE => nl + 1,
                _ => rest.len().min(MAX_LINE),
            };
            let (chunk, tail) = rest.split_at(take);
            rest = tail;
            line_no += 1;
            if chunk[0] == b'#' {
                continue;
            }
            // A C string stops at its first NUL.
            let chunk = chunk.split(|&c| c == 0).next().unwrap_or_default();
            if !chunk.contains(&b'\n') {
                return Err(error(
                    "The AOF manifest file contains too long line",
                    line_no,
                    chunk,
                ));
            }
            let line = trim(chunk);
            if line.is_empty() {
                return Err(error("Invalid AOF manifest file format", line_no, line));
            }
            let invalid = || error("Invalid AOF manifest file format", line_no, line);
            let words = sds::split_args(line).ok_or_else(invalid)?;
            if words.len() < 6 || words.len() % 2 != 0 {
                return Err(invalid());
            }
            let (mut name, mut seq, mut kind) = (None, 0, 0u8);
            for pair in words.chunks(2) {
                let (key, value) = (&pair[0], &pair[1]);
                if key.eq_ignore_ascii_case(b"file") {
                    if value.contains(&b'/') || value.contains(&b'\\') {
                        return Err(error(
                            "File can't be a path, just a filename",
                            line_no,
                            line,
                        ));
                    }
                    name = Some(value.clone());
                } else if key.eq_ignore_ascii_case(b"seq") {
                    seq = atoll(value);
                } else if key.eq_ignore_ascii_case(b"type") {
                    kind = value.first().copied().unwrap_or(0);
                }
            }
            let (Some(name), true, true) = (name, seq != 0, kind != 0) else {
                return Err(invalid());
            };
            let kind = match kind {
                b'b' => FileKind::Base,
                b'h' => FileKind::History,
                b'i' => FileKind::Incr,
                _ => return Err(error("Unknown AOF file type", line_no, line)),
            };
            let file = AofFile { name, seq, kind };
            match kind {
                FileKind::Base if am.base.is_some() => {
                    return Err(error(
                        "Found duplicate base file information",
                        line_no,
                        line,
                    ));
                }
                FileKind::Base => {
                    am.base_seq = seq;
                    am.base = Some(file);
                }
                FileKind::History => am.history.push(file),
                FileKind::Incr => {
                    if seq <= max_seq {
                        return Err(error(
                            "Found a non-monotonic sequence number",
                            line_no,
                            line,
                        ));
                    }
                    max_seq = seq;
                    am.incr_seq = seq;
                    am.incr.push(file);
                }
            }
        }
        Ok(am)
    }

    /// The manifest file's bytes (`getAofManifestAsString`): base, history, incr.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for file in self.base.iter().chain(&self.history).chain(&self.incr) {
            out.extend_from_slice(b"file ");
            if sds::needs_repr(&file.name) {
                sds::push_repr(&mut out, &file.name);
            } else {
                out.extend_from_slice(&file.name);
            }
            out.extend_from_slice(format!(" seq {} type ", file.seq).as_bytes());
            out.push(file.kind.letter());
            out.push(b'\n');
        }
        out
    }

    /// The base file, if any.
    pub fn base(&self) -> Option<&AofFile> {
        self.base.as_ref()
    }

    /// The incr files, oldest first.
    pub fn incrs(&self) -> &[AofFile] {
        &self.incr
    }

    /// The history files, waiting to be deleted.
    pub fn history(&self) -> &[AofFile] {
        &self.history
    }

    /// The files to replay at startup, in order: the base, then every incr file.
    pub fn load_order(&self) -> impl Iterator<Item = &AofFile> {
        self.base.iter().chain(&self.incr)
    }

    /// No base and no incr file: there is nothing to load.
    pub fn is_empty(&self) -> bool {
        self.base.is_none() && self.incr.is_empty()
    }

    /// Whether the manifest changed since it was loaded or last persisted.
    pub fn is_dirty(&self) -> bool {
        self.dirty
    }

    /// Records that the manifest now matches the file on disk.
    pub fn mark_persisted(&mut self) {
        self.dirty = false;
    }

    /// Names a new base file `<filename>.<seq>.base.<rdb|aof>` and turns the previous base into history
    /// (`getNewBaseFileNameAndMarkPreAsHistory`). Returns the new name.
    pub fn new_base(&mut self, filename: &str, rdb_format: bool) -> String {
        if let Some(mut old) = self.base.take() {
            old.kind = FileKind::History;
            self.history.insert(0, old);
        }
        self.base_seq += 1;
        let suffix = if rdb_format { ".rdb" } else { ".aof" };
        let name = format!("{filename}.{}.base{suffix}", self.base_seq);
        self.base = Some(AofFile {
            name: name.clone().into_bytes(),
            seq: self.base_seq,
            kind: FileKind::Base,
        });
        self.dirty = true;
        name
    }

    /// Names a new incr file `<filename>.<seq>.incr.aof` and appends it (`getNewIncrAofName`).
    pub fn new_incr(&mut self, filename: &str) -> String {
        self.incr_seq += 1;
        let name = format!("{filename}.{}.incr.aof", self.incr_seq);
        self.incr.push(AofFile {
            name: name.clone().into_bytes(),
            seq: self.incr_seq,
            kind: FileKind::Incr,
        });
        self.dirty = true;
        name
    }

    /// The incr file to append to: the last one, or a new one when there is none (`getLastIncrAofName`).
    pub fn last_incr_or_new(&mut self, filename: &str) -> String {
        match self.incr.last() {
            Some(last) => last.name_lossy(),
            None => self.new_incr(filename),
        }
    }

    /// After a successful rewrite, the incr files the new base covers become history
    /// (`markRewrittenIncrAofAsHistory`): all of them, except the one being written when the AOF is on.
    pub fn mark_rewritten_incrs_as_history(&mut self, aof_on: bool) {
        if self.incr.is_empty() {
            return;
        }
        let keep = usize::from(aof_on);
        let moved = self.incr.len() - keep;
        for mut file in self.incr.drain(..moved).rev() {
            file.kind = FileKind::History;
            self.history.insert(0, file);
        }
        self.dirty = true;
    }

    /// Takes the history list (the caller deletes the files, then persists the manifest).
    pub fn take_history(&mut self) -> Vec<AofFile> {
        if !self.history.is_empty() {
            self.dirty = true;
        }
        std::mem::take(&mut self.history)
    }

    /// Makes `name` the only base (sequence 1), as the upgrade from a single-file AOF does
    /// (`aofUpgradePrepare`).
    pub fn set_upgraded_base(&mut self, name: &str) {
        self.base = Some(AofFile {
            name: name.as_bytes().to_vec(),
            seq: 1,
            kind: FileKind::Base,
        });
        self.base_seq = 1;
        self.dirty = true;
    }
}

fn error(reason: &'static str, line: usize, text: &[u8]) -> ManifestError {
    ManifestError {
        reason,
        line,
        text: String::from_utf8_lossy(trim(text)).into_owned(),
    }
}

/// `sdstrim(line, " \t\r\n")`.
fn trim(mut s: &[u8]) -> &[u8] {
    let blank = |c: &u8| matches!(c, b' ' | b'\t' | b'\r' | b'\n');
    while s.first().is_some_and(blank) {
        s = &s[1..];
    }
    while s.last().is_some_and(blank) {
        s = &s[..s.len() - 1];
    }
    s
}

/// C's `atoll`: optional blanks and sign, then the leading digits; 0 when there are none.
fn atoll(s: &[u8]) -> i64 {
    let mut i = 0;
    while s
        .get(i)
        .is_some_and(|c| c.is_ascii_whitespace() || *c == 0x0b)
    {
        i += 1;
    }
    let negative = s.get(i) == Some(&b'-');
    if matches!(s.get(i), Some(b'-' | b'+')) {
        i += 1;
    }
    let mut n: i64 = 0;
    while let Some(d) = s.get(i).filter(|c| c.is_ascii_digit()) {
        n = n.wrapping_mul(10).wrapping_add(i64::from(d - b'0'));
        i += 1;
    }
    if negative {
        n.wrapping_neg()
    } else {
        n
    }
}

#[cfg(test)]
#[path = "manifest_tests.rs"]
mod tests;
