//! Loading the AOF at startup: the file is replayed through the dispatch path (`Core::load_command`).

use crate::server::Core;
use crate::Strategy;
use std::fs::OpenOptions;
use std::io::{ErrorKind, Read};
use std::path::Path;
use std::time::Instant;
use zedis_resp::{ParserLimits, RequestParser};

/// Bytes read per read call while loading.
const LOAD_CHUNK_BYTES: usize = 1 << 20;

/// Why loading stopped.
fn load_error(path: &Path, offset: u64, what: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "Bad file format reading the append only file {}: {what} at byte offset {offset}. Make a backup of the file, then truncate or repair it from that offset.",
        path.display()
    )
}

/// A transaction being read (Redis's fake client in MULTI state): its commands run at its EXEC, never if
/// the file ends first.
#[derive(Default)]
struct Transaction {
    /// Offset of the MULTI, while one is open.
    multi_at: Option<u64>,
    /// Its commands so far.
    queued: Vec<Vec<Vec<u8>>>,
}

impl Transaction {
    /// The commands to run now that `argv` (at offset `at`) was read: none while a transaction is open,
    /// the whole transaction at its EXEC, else `argv` itself.
    fn take(&mut self, at: u64, argv: &[&[u8]]) -> Vec<Vec<Vec<u8>>> {
        let owned = || argv.iter().map(|a| a.to_vec()).collect::<Vec<_>>();
        if argv[0].eq_ignore_ascii_case(b"multi") {
            self.multi_at.get_or_insert(at);
            return Vec::new();
        }
        if self.multi_at.is_none() {
            return vec![owned()];
        }
        if argv[0].eq_ignore_ascii_case(b"exec") {
            self.multi_at = None;
            return std::mem::take(&mut self.queued);
        }
        if argv[0].eq_ignore_ascii_case(b"discard") {
            self.multi_at = None;
            self.queued.clear();
            return Vec::new();
        }
        self.queued.push(owned());
        Vec::new()
    }
}

/// `bytes` up to its first NUL, as C's `%s` prints it.
fn c_str(bytes: &[u8]) -> &[u8] {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    &bytes[..end]
}

impl<S: Strategy> Core<S> {
    /// Replays the file at `path` (absent: nothing to do). A truncated last command is cut off (with
    /// `aof-load-truncated yes`, and only in the `last` file of the directory) or refused; anything else
    /// malformed stops with its byte offset.
    pub(super) fn aof_load(&mut self, path: &Path, last: bool) -> anyhow::Result<()> {
        let mut file = match OpenOptions::new().read(true).write(true).open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
            Err(e) => anyhow::bail!("Can't open the append only file {}: {e}", path.display()),
        };
        let started = Instant::now();
        // A declared bulk length is trusted only as far as the file's bytes go: a hostile `$99999999999`
        // must not allocate 100 GB before the loader finds the file ends.
        let file_len = file.metadata().map_or(u64::MAX, |m| m.len());
        let mut parser = RequestParser::new(ParserLimits {
            bulk_bytes_max: 1 << 40,
            inline_bytes_max: 64 * 1024,
            multibulk_len_max: i32::MAX as usize,
        });
        let mut buf: Vec<u8> = Vec::with_capacity(LOAD_CHUNK_BYTES);
        let mut buf_offset: u64 = 0;
        let mut in_command = false;
        let mut db = 0;
        let (mut commands, mut errors) = (0u64, 0u64);
        let mut out = Vec::new();
        let mut tx = Transaction::default();
        loop {
            let len = buf.len();
            let wanted = parser.bytes_wanted().unwrap_or(0);
            let left_in_file = file_len.saturating_sub(buf_offset + len as u64);
            let more = wanted.saturating_sub(len).min(left_in_file as usize);
            buf.resize(len + LOAD_CHUNK_BYTES.max(more), 0);
            let n = loop {
                match file.read(&mut buf[len..]) {
                    Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                    other => break other?,
                }
            };
            buf.truncate(len + n);
            if n == 0 {
                break;
            }
            let mut pos = 0;
            while pos < buf.len() {
                if !in_command && buf[pos] == b'#' {
                    // An annotation (`#TS:...`): skipped whole, as Redis's loader skips it.
                    match super::timestamp::annotation_len(&buf[pos..]) {
                        Some(len) => {
                            pos += len;
                            continue;
                        }
                        None => break,
                    }
                }
                if !in_command && buf[pos] != b'*' {
                    return Err(load_error(path, buf_offset + pos as u64, "expected '*'"));
                }
                match parser.parse(&mut buf[pos..]) {
                    Ok(None) => {
                        in_command = true;
                        break;
                    }
                    Ok(Some(consumed)) => {
                        in_command = false;
                        let data = &buf[pos..];
                        let argv: Vec<&[u8]> =
                            parser.args().iter().map(|s| &data[s.clone()]).collect();
                        if !argv.is_empty() {
                            let at = buf_offset + pos as u64;
                            if self.table.lookup(argv[0]).is_none() {
                                anyhow::bail!(
                                    "Unknown command '{}' reading the append only file {}",
                                    String::from_utf8_lossy(c_str(argv[0])),
                                    path.display()
                                );
                            }
                            for argv in tx.take(at, &argv) {
                                let argv: Vec<&[u8]> = argv.iter().map(Vec::as_slice).collect();
                                match self.load_command(&mut db, &argv, &mut out) {
                                    Ok(true) => {}
                                    Ok(false) => errors += 1,
                                    Err(what) => return Err(load_error(path, at, &what)),
                                }
                                commands += 1;
                            }
                        }
                        pos += consumed;
                    }
                    Err(e) => {
                        return Err(load_error(path, buf_offset + pos as u64, &e.reply_text()))
                    }
                }
            }
            buf.drain(..pos);
            buf_offset += pos as u64;
        }
        // An unfinished MULTI at the end: its commands never ran; the file is cut before it like a short read.
        let mut valid_up_to = buf_offset;
        if let Some(multi_at) = tx.multi_at {
            zedis_deploy::warning!(
                "Revert incomplete MULTI/EXEC transaction in AOF file {}",
                path.display()
            );
            valid_up_to = multi_at;
        }
        let end = buf_offset + buf.len() as u64;
        if valid_up_to < end {
            if !self.settings.aof_load_truncated || !last {
                anyhow::bail!(
                    "Unexpected end of file reading the append only file {} at byte offset {valid_up_to}. You can: 1) Make a backup of your AOF file, then truncate it at that offset. 2) Alternatively you can set the 'aof-load-truncated' configuration option to yes and restart the server.",
                    path.display()
                );
            }
            zedis_deploy::warning!(
                "!!! Warning: short read while loading the AOF file {}!!!",
                path.display()
            );
            zedis_deploy::warning!(
                "!!! Truncating the AOF {} at offset {valid_up_to} !!!",
                path.display()
            );
            file.set_len(valid_up_to)?;
            zedis_deploy::warning!(
                "AOF {} loaded anyway because aof-load-truncated is enabled",
                path.display()
            );
        }
        if errors > 0 {
            zedis_deploy::warning!(
                "{errors} commands of the AOF replied an error while loading (skipped)"
            );
        }
        zedis_deploy::notice!(
            "Done loading the append only file {}: {:.3} seconds ({commands} commands, {} keys)",
            path.display(),
            started.elapsed().as_secs_f64(),
            self.engine.ks.total_keys()
        );
        Ok(())
    }
}
