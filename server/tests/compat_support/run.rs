//! Running one script against the reference and the candidate, collecting every mismatch.

use super::compare::{escape, is_hello, mask_hello_id, matches};
use super::conn::{encode, Conn, ReadFail};
use super::script::{parse_line, Mode, Step};
use std::time::Duration;

/// The connections of one script run: `[reference, candidate]`.
struct Pair {
    conns: [Conn; 2],
}

/// What a step produced on both sides.
enum Outcome {
    /// Nothing to compare.
    Nothing,
    /// Both replies.
    Replies(Result<Vec<u8>, ReadFail>, Result<Vec<u8>, ReadFail>),
}

impl Pair {
    /// Fresh connections to `[reference, candidate]`.
    fn open(ports: [u16; 2]) -> Result<Pair, String> {
        let open = |port| Conn::open(port).map_err(|e| e.to_string());
        Ok(Pair {
            conns: [open(ports[0])?, open(ports[1])?],
        })
    }

    fn send_both(&mut self, bytes: &[u8]) -> [Result<(), ReadFail>; 2] {
        let [a, b] = &mut self.conns;
        [a.send(bytes), b.send(bytes)]
    }

    fn read_both(&mut self) -> (Result<Vec<u8>, ReadFail>, Result<Vec<u8>, ReadFail>) {
        let [a, b] = &mut self.conns;
        (a.read_frame(), b.read_frame())
    }

    fn run(&mut self, step: &Step) -> Outcome {
        let (bytes, read) = match step {
            Step::Sleep(ms) => {
                std::thread::sleep(Duration::from_millis(*ms));
                return Outcome::Nothing;
            }
            Step::Read => {
                let (a, b) = self.read_both();
                return Outcome::Replies(a, b);
            }
            Step::Resp3 => (encode(&[b"HELLO".to_vec(), b"3".to_vec()]), true),
            Step::Command { noreply, args, .. } => (encode(args), !noreply),
            Step::Raw { bytes, read } => (bytes.clone(), *read),
            Step::RawClose(bytes) => {
                let sent = self.send_both(bytes);
                let [a, b] = &mut self.conns;
                let ra = sent[0]
                    .as_ref()
                    .map_err(|e| ReadFail::Io(e.to_string()))
                    .and_then(|_| a.read_to_close());
                let rb = sent[1]
                    .as_ref()
                    .map_err(|e| ReadFail::Io(e.to_string()))
                    .and_then(|_| b.read_to_close());
                return Outcome::Replies(ra, rb);
            }
        };
        let [sa, sb] = self.send_both(&bytes);
        if !read {
            if matches!(step, Step::Raw { .. }) {
                return match (sa, sb) {
                    (Ok(()), Ok(())) => Outcome::Nothing,
                    (a, b) => Outcome::Replies(a.map(|_| Vec::new()), b.map(|_| Vec::new())),
                };
            }
            // `@noreply`: any reply that arrives anyway is a mismatch against the empty one.
            let [a, b] = &mut self.conns;
            let wait = Duration::from_millis(30);
            return Outcome::Replies(
                sa.and_then(|_| a.poll_stray(wait)),
                sb.and_then(|_| b.poll_stray(wait)),
            );
        }
        let (a, b) = self.read_both();
        Outcome::Replies(sa.and(a), sb.and(b))
    }
}

/// One reported difference.
pub struct Mismatch {
    /// The script's file name.
    pub script: String,
    /// Its line (0 for the added FLUSHALL and sentinel).
    pub line: usize,
    /// The line's text, or what happened.
    pub text: String,
    /// redis-server's reply, escaped (empty for a note).
    pub reference: String,
    /// Zedis's reply, escaped (empty for a note).
    pub candidate: String,
}

/// The steps of a script, each with its line number and text, between a leading `FLUSHALL` and a sentinel
/// `ECHO` (line 0) that shows stray replies as mismatches.
fn parse_script<'a>(name: &str, text: &'a str) -> Result<Vec<(usize, &'a str, Step)>, String> {
    let flush = Step::Command {
        mode: Mode::Exact,
        noreply: false,
        args: vec![b"FLUSHALL".to_vec()],
    };
    let mut steps: Vec<(usize, &'a str, Step)> = vec![(0, "FLUSHALL", flush)];
    for (n, raw_line) in text.lines().enumerate() {
        let line = raw_line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let step = parse_line(line).map_err(|e| format!("{name}:{}: {e}", n + 1))?;
        steps.push((n + 1, line, step));
    }
    let sentinel = Step::Command {
        mode: Mode::Exact,
        noreply: false,
        args: vec![b"ECHO".to_vec(), b"__end_of_script__".to_vec()],
    };
    steps.push((0, "ECHO __end_of_script__ (sentinel)", sentinel));
    Ok(steps)
}

/// The note after a step that failed or desynced a connection.
const RECONNECTED: &str =
    "(a connection failed or desynced: both reconnected; connection state such as SELECT is lost)";

/// A reply as the report shows it.
fn show(reply: &Result<Vec<u8>, ReadFail>) -> String {
    match reply {
        Ok(bytes) if bytes.is_empty() => "<no reply>".to_string(),
        Ok(bytes) => escape(bytes),
        Err(e) => e.to_string(),
    }
}

/// Whether both replies arrived and match under the step's comparison (HELLO's connection id masked).
fn agree(step: &Step, a: &Result<Vec<u8>, ReadFail>, b: &Result<Vec<u8>, ReadFail>) -> bool {
    let mode = match step {
        Step::Command { mode, .. } => *mode,
        _ => Mode::Exact,
    };
    match (a, b) {
        (Ok(x), Ok(y)) if is_hello(step) => mask_hello_id(x) == mask_hello_id(y),
        (Ok(x), Ok(y)) => matches(mode, x, y),
        _ => false,
    }
}

impl Mismatch {
    /// A note about line `line` of `script`, with no replies to show.
    fn note(script: &str, line: usize, text: String) -> Mismatch {
        Mismatch {
            script: script.to_string(),
            line,
            text,
            reference: String::new(),
            candidate: String::new(),
        }
    }
}

/// Runs one script; appends its mismatches. Returns an error text when it could not run at all.
pub fn run_script(
    ports: [u16; 2],
    name: &str,
    text: &str,
    out: &mut Vec<Mismatch>,
) -> Result<(), String> {
    let mut pair = Pair::open(ports)?;
    let steps = parse_script(name, text)?;
    for (line, text, step) in &steps {
        let Outcome::Replies(a, b) = pair.run(step) else {
            continue;
        };
        if std::env::var_os("COMPAT_VERBOSE").is_some() {
            let (a, b) = (show(&a), show(&b));
            eprintln!("{name}:{line}: {text}\n    redis: {a}\n    zedis: {b}");
        }
        let ok = agree(step, &a, &b);
        if !ok {
            out.push(Mismatch {
                script: name.to_string(),
                line: *line,
                text: text.to_string(),
                reference: show(&a),
                candidate: show(&b),
            });
        }
        let mut failed = a.is_err() || b.is_err();
        let is_read = matches!(
            step,
            Step::Command { noreply: false, .. } | Step::Resp3 | Step::Raw { read: true, .. }
        );
        if !ok && !failed && is_read {
            // Realign both streams so one extra or missing reply does not shift every later comparison.
            let token = format!("__resync_{line}__");
            let [ca, cb] = &mut pair.conns;
            match (ca.resync(&token), cb.resync(&token)) {
                (Ok(0), Ok(0)) => {}
                (Ok(x), Ok(y)) => {
                    let text = format!(
                        "(resync after the mismatch above: discarded {x} extra frame(s) from redis, {y} from zedis)"
                    );
                    out.push(Mismatch::note(name, *line, text));
                }
                _ => failed = true,
            }
        }
        if failed {
            out.push(Mismatch::note(name, *line, RECONNECTED.into()));
        }
        if failed || matches!(step, Step::RawClose(_)) {
            // Continue on fresh connections (after `@raw-close` both servers closed as expected).
            pair = Pair::open(ports)?;
        }
    }
    Ok(())
}
