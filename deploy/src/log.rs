//! Redis 7.0's logging (`serverLogRaw` in server.c), as a process-wide logger.
//!
//! A line is `pid:role dd Mon yyyy hh:mm:ss.mmm <level-char> message\n`: the role is `M` (master), `S`
//! (replica), `X` (sentinel) or `C` (a forked child: the pid differs from the one [`init`] recorded); the
//! level characters are `.` debug, `-` verbose, `*` notice, `#` warning. A message is cut at 1023 bytes, as
//! Redis's `LOG_MAX_LEN` buffer cuts it.
//!
//! Why no lock and no thread: the state is atomics, and the log file is one descriptor whose number never
//! changes (reopening `dup3`s the new file onto it), so a line is formatted on the stack and written with one
//! `write(2)` to an `O_APPEND` file, which the kernel keeps whole between threads and processes. That is
//! what makes it safe in a forked RDB child and cheap on the event loop (Redis writes synchronously too, and
//! reopens the file for every line; here [`reopen`] does that on request, e.g. on SIGHUP after logrotate).

use crate::syslog::{self, Facility};
use crate::{logtime, DeployError};
use std::ffi::CString;
use std::fmt;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU8, Ordering};
use std::sync::Mutex;

/// The longest message written, in bytes (Redis formats into a 1024-byte buffer, NUL included).
pub const MESSAGE_BYTES_MAX: usize = 1023;

/// Room for `pid:role ` and the time prefix before the message.
pub const PREFIX_BYTES_MAX: usize = 64;

/// A `loglevel`: messages below the configured level are dropped; `nothing` drops everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum Level {
    /// `debug`, written with `.`.
    Debug = 0,
    /// `verbose`, written with `-`.
    Verbose = 1,
    /// `notice` (the default), written with `*`.
    Notice = 2,
    /// `warning`, written with `#`.
    Warning = 3,
    /// `nothing`: as a configured level, logs nothing (Redis 7.2's value, accepted by Zedis).
    Nothing = 4,
}

impl Level {
    /// Parses a `loglevel` value, case-insensitively.
    pub fn parse(name: &str) -> Result<Level, DeployError> {
        [
            Level::Debug,
            Level::Verbose,
            Level::Notice,
            Level::Warning,
            Level::Nothing,
        ]
        .into_iter()
        .find(|l| l.name().eq_ignore_ascii_case(name))
        .ok_or(DeployError::LogLevel)
    }

    /// The name CONFIG GET shows.
    pub fn name(self) -> &'static str {
        match self {
            Level::Debug => "debug",
            Level::Verbose => "verbose",
            Level::Notice => "notice",
            Level::Warning => "warning",
            Level::Nothing => "nothing",
        }
    }

    /// The character in the line (`Nothing` is never written; it shows as `#`).
    pub fn char(self) -> u8 {
        b".-*##"[self as usize]
    }

    fn syslog_priority(self) -> libc::c_int {
        match self {
            Level::Debug => libc::LOG_DEBUG,
            Level::Verbose => libc::LOG_INFO,
            Level::Notice => libc::LOG_NOTICE,
            Level::Warning | Level::Nothing => libc::LOG_WARNING,
        }
    }

    fn from_u8(value: u8) -> Level {
        match value {
            0 => Level::Debug,
            1 => Level::Verbose,
            2 => Level::Notice,
            3 => Level::Warning,
            _ => Level::Nothing,
        }
    }
}

/// The role character of the main process's lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// `M`: a master (no `replicaof`).
    Master,
    /// `S`: a replica.
    Replica,
    /// `X`: a sentinel.
    Sentinel,
}

impl Role {
    fn char(self) -> u8 {
        match self {
            Role::Master => b'M',
            Role::Replica => b'S',
            Role::Sentinel => b'X',
        }
    }
}

/// The logging directives, typed.
#[derive(Debug, Clone)]
pub struct LogConfig {
    /// `loglevel`.
    pub level: Level,
    /// `logfile`: empty means standard output.
    pub logfile: String,
    /// `syslog-enabled`.
    pub syslog_enabled: bool,
    /// `syslog-ident` (Redis's default is `redis`).
    pub syslog_ident: String,
    /// `syslog-facility`.
    pub syslog_facility: Facility,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            level: Level::Notice,
            logfile: String::new(),
            syslog_enabled: false,
            syslog_ident: "redis".to_string(),
            syslog_facility: Facility::default(),
        }
    }
}

/// The descriptor lines go to: 1 (stdout) or the log file's, whose number stays fixed once opened.
static FD: AtomicI32 = AtomicI32::new(libc::STDOUT_FILENO);
/// The minimum level written (a `Level` as u8).
static LEVEL: AtomicU8 = AtomicU8::new(Level::Notice as u8);
/// The main process's role character.
static ROLE: AtomicU8 = AtomicU8::new(b'M');
/// The pid of the main process; a line from another pid is a child's (`C`).
static MAIN_PID: AtomicI32 = AtomicI32::new(0);
/// Whether lines also go to syslog.
static SYSLOG: AtomicBool = AtomicBool::new(false);
/// The log file's path, for [`reopen`]; `None` when logging to stdout.
static PATH: Mutex<Option<CString>> = Mutex::new(None);

/// Applies the logging directives: opens `logfile` (append, created 0666 less the umask, as `fopen("a")`),
/// opens syslog when enabled, records the main pid and the time zone. Call it once at startup, before
/// [`crate::daemon::daemonize`] (so a bad `logfile` is reported in the foreground; the daemon child inherits
/// the descriptor and records its own pid) and before the first line. On an error the level and the syslog
/// setting stay as they were (only a bad `syslog-ident` leaves the new file in place). Calling it again switches the target (a file's descriptor number is
/// kept; switching from a file back to stdout closes the file, so do that only with no other thread logging).
pub fn init(config: &LogConfig) -> Result<(), DeployError> {
    logtime::refresh_offset();
    set_main_pid();
    let mut path = PATH.lock().unwrap_or_else(|e| e.into_inner());
    if config.logfile.is_empty() {
        *path = None;
        let old = FD.swap(libc::STDOUT_FILENO, Ordering::AcqRel);
        if old > libc::STDERR_FILENO {
            // SAFETY: `old` is the log file descriptor this module opened and nobody else owns.
            unsafe { libc::close(old) };
        }
    } else {
        let c_path = CString::new(Path::new(&config.logfile).as_os_str().as_bytes())
            .map_err(|_| DeployError::LogFile(std::io::ErrorKind::InvalidInput.into()))?;
        open_onto(&c_path)?;
        *path = Some(c_path);
    }
    drop(path);
    if config.syslog_enabled {
        syslog::open(&config.syslog_ident, config.syslog_facility)?;
    }
    SYSLOG.store(config.syslog_enabled, Ordering::Relaxed);
    LEVEL.store(config.level as u8, Ordering::Relaxed);
    Ok(())
}

/// Opens `path` for appending and makes [`FD`] refer to it, keeping FD's number when it is already a file.
fn open_onto(path: &CString) -> Result<(), DeployError> {
    let flags = libc::O_WRONLY | libc::O_APPEND | libc::O_CREAT | libc::O_CLOEXEC;
    // SAFETY: `path` is NUL-terminated; the mode is passed as the variadic third argument open expects.
    let new = unsafe { libc::open(path.as_ptr(), flags, 0o666 as libc::c_uint) };
    if new < 0 {
        return Err(DeployError::LogFile(std::io::Error::last_os_error()));
    }
    let current = FD.load(Ordering::Acquire);
    if current > libc::STDERR_FILENO {
        // SAFETY: both descriptors are open; dup3 atomically replaces `current` with the new file, so a
        // concurrent write goes to the old file or the new one, never to a closed or reused number.
        let rc = unsafe { libc::dup3(new, current, libc::O_CLOEXEC) };
        let err = std::io::Error::last_os_error();
        // SAFETY: `new` was opened above and is ours.
        unsafe { libc::close(new) };
        if rc < 0 {
            return Err(DeployError::LogFile(err));
        }
    } else {
        FD.store(new, Ordering::Release);
    }
    Ok(())
}

/// Reopens the log file (after logrotate moved it): later lines go to a file at the configured path.
/// Nothing to do when logging to stdout.
pub fn reopen() -> Result<(), DeployError> {
    let path = PATH.lock().unwrap_or_else(|e| e.into_inner());
    match path.as_ref() {
        Some(p) => open_onto(p),
        None => Ok(()),
    }
}

/// Records the calling process as the main one (its lines carry the role; others' carry `C`).
pub fn set_main_pid() {
    // SAFETY: getpid has no preconditions.
    MAIN_PID.store(unsafe { libc::getpid() }, Ordering::Relaxed);
}

/// Changes `loglevel` (CONFIG SET).
pub fn set_level(level: Level) {
    LEVEL.store(level as u8, Ordering::Relaxed);
}

/// The current `loglevel`.
pub fn level() -> Level {
    Level::from_u8(LEVEL.load(Ordering::Relaxed))
}

/// Sets the role character: call it when the server becomes a replica (REPLICAOF) or a master again.
pub fn set_role(role: Role) {
    ROLE.store(role.char(), Ordering::Relaxed);
}

/// Whether a message at `level` would be written (check it before building an expensive message).
pub fn enabled(level: Level) -> bool {
    level != Level::Nothing && level as u8 >= LEVEL.load(Ordering::Relaxed)
}

/// Refreshes the UTC offset used for the time stamps (call it from the cron: daylight-saving changes).
pub fn refresh_timezone() {
    logtime::refresh_offset();
}

/// A fixed buffer that keeps the first bytes written and silently drops the rest.
struct Truncating<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl Write for Truncating<'_> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let n = data.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&data[..n]);
        self.len += n;
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Formats one line into `out`: `pid:role time level-char message\n`. Returns the line's length and the
/// range of the message within it (for syslog, which gets the message alone).
pub fn format_line(
    out: &mut [u8; PREFIX_BYTES_MAX + MESSAGE_BYTES_MAX + 1],
    pid: i32,
    role: u8,
    (unix_s, millis, offset_s): (i64, u32, i64),
    level: Level,
    message: fmt::Arguments<'_>,
) -> (usize, std::ops::Range<usize>) {
    let mut time = [0u8; 32];
    let time_len = logtime::format_prefix(unix_s, millis, offset_s, &mut time);
    let (head, tail) = out.split_at_mut(PREFIX_BYTES_MAX);
    let mut prefix = Truncating { buf: head, len: 0 };
    let _ = write!(prefix, "{pid}:{} ", role as char);
    let _ = prefix.write(&time[..time_len]);
    let _ = prefix.write(&[b' ', level.char(), b' ']);
    let start = prefix.len;
    let mut body = Truncating {
        buf: &mut tail[..MESSAGE_BYTES_MAX],
        len: 0,
    };
    let _ = body.write_fmt(message);
    let message_len = body.len;
    // Move the message next to the prefix, then end the line.
    out.copy_within(PREFIX_BYTES_MAX..PREFIX_BYTES_MAX + message_len, start);
    let end = start + message_len;
    out[end] = b'\n';
    (end + 1, start..end)
}

/// Writes one line at `level` (the macros call this). Never panics, never allocates.
pub fn log(level: Level, message: fmt::Arguments<'_>) {
    if !enabled(level) {
        return;
    }
    // SAFETY: getpid has no preconditions.
    let pid = unsafe { libc::getpid() };
    let main_pid = MAIN_PID.load(Ordering::Relaxed);
    // Before `init` there is no main pid yet: the caller is the main process.
    let role = if pid == main_pid || main_pid == 0 {
        ROLE.load(Ordering::Relaxed)
    } else {
        b'C'
    };
    let (unix_s, millis) = logtime::unix_now();
    let mut line = [0u8; PREFIX_BYTES_MAX + MESSAGE_BYTES_MAX + 1];
    let (len, msg) = format_line(
        &mut line,
        pid,
        role,
        (unix_s, millis, logtime::offset_s()),
        level,
        message,
    );
    write_all(&line[..len]);
    if SYSLOG.load(Ordering::Relaxed) {
        syslog::send(level.syslog_priority(), &line[msg]);
    }
}

/// Writes `bytes` as they are, with no prefix (Redis's `LL_RAW`: the logo, crash reports), if `level` passes.
pub fn log_raw(level: Level, bytes: &[u8]) {
    if enabled(level) {
        write_all(bytes);
    }
}

/// One `write(2)` per attempt to the log descriptor; retries on EINTR and short writes, gives up on errors
/// (a full disk must not stop the server, as in Redis).
fn write_all(mut bytes: &[u8]) {
    let fd = FD.load(Ordering::Acquire);
    while !bytes.is_empty() {
        // SAFETY: `bytes` is a valid slice; `fd` is stdout or the log file (kept open for the process).
        let n = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
        if n < 0 {
            if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return;
        }
        bytes = &bytes[n as usize..];
    }
}

/// Logs at a [`Level`] chosen at run time: `zedis_deploy::log!(Level::Notice, "Ready on {}", addr)`.
#[macro_export]
macro_rules! log {
    ($level:expr, $($arg:tt)+) => {
        $crate::log::log($level, ::core::format_args!($($arg)+))
    };
}

/// Logs at `debug` (`.`).
#[macro_export]
macro_rules! debug {
    ($($arg:tt)+) => { $crate::log::log($crate::log::Level::Debug, ::core::format_args!($($arg)+)) };
}

/// Logs at `verbose` (`-`).
#[macro_export]
macro_rules! verbose {
    ($($arg:tt)+) => { $crate::log::log($crate::log::Level::Verbose, ::core::format_args!($($arg)+)) };
}

/// Logs at `notice` (`*`).
#[macro_export]
macro_rules! notice {
    ($($arg:tt)+) => { $crate::log::log($crate::log::Level::Notice, ::core::format_args!($($arg)+)) };
}

/// Logs at `warning` (`#`).
#[macro_export]
macro_rules! warning {
    ($($arg:tt)+) => { $crate::log::log($crate::log::Level::Warning, ::core::format_args!($($arg)+)) };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(level: Level, message: fmt::Arguments<'_>) -> String {
        let mut out = [0u8; PREFIX_BYTES_MAX + MESSAGE_BYTES_MAX + 1];
        let (len, msg) = format_line(&mut out, 4242, b'S', (0, 12, 0), level, message);
        assert_eq!(&out[msg.end..len], b"\n");
        String::from_utf8(out[..len].to_vec()).unwrap()
    }

    #[test]
    fn line_shape() {
        assert_eq!(
            line(
                Level::Notice,
                format_args!("Ready to accept connections tcp")
            ),
            "4242:S 01 Jan 1970 00:00:00.012 * Ready to accept connections tcp\n"
        );
        assert!(line(Level::Debug, format_args!("x")).contains(" . x\n"));
        assert!(line(Level::Verbose, format_args!("x")).contains(" - x\n"));
        assert!(line(Level::Warning, format_args!("x")).contains(" # x\n"));
    }

    #[test]
    fn long_messages_are_cut_at_1023_bytes() {
        let long = "a".repeat(5000);
        let text = line(Level::Notice, format_args!("{long}"));
        let message = text.split(" * ").nth(1).unwrap();
        assert_eq!(message.len(), MESSAGE_BYTES_MAX + 1); // plus the newline
    }

    #[test]
    fn levels_parse_and_order() {
        assert_eq!(Level::parse("VERBOSE").unwrap(), Level::Verbose);
        assert_eq!(Level::parse("nothing").unwrap(), Level::Nothing);
        assert!(Level::parse("info").is_err());
        assert!(Level::Debug < Level::Warning);
    }
}
