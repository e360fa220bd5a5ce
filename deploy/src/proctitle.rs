//! `set-proc-title` and `proc-title-template`: the process title `ps` shows, as Redis 7.0 sets it.
//!
//! [`expand`] is Redis's `expandProcTitleTemplate` (`sdstemplate` rules: `{name}` is a variable, `{{` a
//! literal `{`, an unknown name or an unclosed brace makes the template invalid; the result is trimmed of
//! spaces), and [`validate`] the check CONFIG SET and the config file apply. [`ProcTitle`] writes the title
//! over the process's argument area, as Redis's `setproctitle.c` does on Linux: the environment strings
//! that follow the arguments are copied to the heap first (and `environ` repointed), so the title may use
//! both areas; `/proc/<pid>/cmdline` and `ps` then show it.

use std::ffi::{c_char, CStr, CString};

/// Redis 7.0's default `proc-title-template`.
pub const DEFAULT_TEMPLATE: &str = "{title} {listen-addr} {server-mode}";

/// Redis's error text for a template CONFIG SET or the config file refuses.
pub const INVALID_TEMPLATE: &str = "template format is invalid or contains unknown variables";

/// What the template's variables expand to.
#[derive(Debug, Clone, Default)]
pub struct TitleVars {
    /// `{title}`: the executable's name (`argv[0]`) for the server, a fixed name for fork children.
    pub title: String,
    /// The first `bind` address (`*` when none).
    pub bind0: Option<String>,
    /// `port` (0 when TCP is off).
    pub port: u16,
    /// `tls-port` (0 when off).
    pub tls_port: u16,
    /// `unixsocket` ("" when none).
    pub unixsocket: String,
    /// The config file given on the command line, if any.
    pub config_file: Option<String>,
    /// `cluster-enabled yes`.
    pub cluster: bool,
}

impl TitleVars {
    fn get(&self, name: &str) -> Option<String> {
        Some(match name {
            "title" => self.title.clone(),
            "listen-addr" if self.port != 0 || self.tls_port != 0 => format!(
                "{}:{}",
                self.bind0.as_deref().unwrap_or("*"),
                if self.port != 0 {
                    self.port
                } else {
                    self.tls_port
                }
            ),
            "listen-addr" => format!("unixsocket:{}", self.unixsocket),
            "server-mode" if self.cluster => "[cluster]".into(),
            "server-mode" => String::new(),
            "config-file" => self.config_file.clone().unwrap_or_else(|| "-".into()),
            "port" => self.port.to_string(),
            "tls-port" => self.tls_port.to_string(),
            "unixsocket" => self.unixsocket.clone(),
            _ => return None,
        })
    }
}

/// The title `template` gives with `vars`, or `None` when the template is invalid.
pub fn expand(template: &str, vars: &TitleVars) -> Option<String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        if after.is_empty() {
            return None;
        }
        if let Some(quoted) = after.strip_prefix('{') {
            out.push('{');
            rest = quoted;
            continue;
        }
        let close = after.find('}')?;
        out.push_str(&vars.get(&after[..close])?);
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    Some(out.trim_matches(' ').to_string())
}

/// CONFIG SET's check of a template, with the server's current `vars`: it must expand, with an empty
/// `{title}`, to something not empty (so `{title}` alone is refused, as in Redis).
pub fn validate(template: &str, vars: &TitleVars) -> Result<(), &'static str> {
    let vars = TitleVars {
        title: String::new(),
        ..vars.clone()
    };
    match expand(template, &vars) {
        Some(title) if !title.is_empty() => Ok(()),
        _ => Err(INVALID_TEMPLATE),
    }
}

/// The process's argument (and environment) area, writable as its title.
#[derive(Debug)]
pub struct ProcTitle {
    start: usize,
    len: usize,
}

extern "C" {
    static mut environ: *mut *mut c_char;
}

impl ProcTitle {
    /// Takes over the argument area. Call it once, early, while the process has one thread (it moves
    /// the environment strings to the heap and repoints `environ`), and after the command line has been
    /// read: `std::env::args()` shows the title afterwards. `None` when `/proc/self/stat` cannot be read
    /// or the areas are not where Linux puts them (then titles are not set, as in a Redis built without
    /// setproctitle).
    ///
    /// # Safety
    /// No other thread may read or write the environment or the command line while it runs, and nothing
    /// may hold a pointer into either area.
    pub unsafe fn init() -> Option<ProcTitle> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        // Fields after the parenthesised command name; arg_start is field 48 (index 45 after it).
        let after = &stat[stat.rfind(')')? + 2..];
        let fields: Vec<usize> = after
            .split(' ')
            .map(|f| f.trim().parse().unwrap_or(0))
            .collect();
        let (arg_start, arg_end) = (*fields.get(45)?, *fields.get(46)?);
        let (env_start, env_end) = (*fields.get(47)?, *fields.get(48)?);
        if arg_start == 0 || arg_end <= arg_start {
            return None;
        }
        let mut end = arg_end;
        if env_start == arg_end && env_end > env_start {
            // SAFETY (caller): single-threaded; each environ entry is repointed to a leaked heap copy
            // before the original area is reused.
            unsafe {
                let mut entry = environ;
                while !entry.is_null() && !(*entry).is_null() {
                    let addr = *entry as usize;
                    if (env_start..env_end).contains(&addr) {
                        let copy = CString::from(CStr::from_ptr(*entry));
                        *entry = copy.into_raw();
                    }
                    entry = entry.add(1);
                }
            }
            end = env_end;
        }
        Some(ProcTitle {
            start: arg_start,
            len: end - arg_start,
        })
    }

    /// Bytes a title may take (longer ones are cut).
    pub fn capacity(&self) -> usize {
        self.len.saturating_sub(1)
    }

    /// Shows `title` as the process's command line (cut to [`capacity`](ProcTitle::capacity)).
    pub fn set(&mut self, title: &str) {
        let bytes = title.as_bytes();
        let n = bytes.len().min(self.capacity());
        // SAFETY: [start, start + len) is this process's argument (and moved environment) area, which
        // `init` took over; nothing else refers to it.
        unsafe {
            let area = std::slice::from_raw_parts_mut(self.start as *mut u8, self.len);
            area[..n].copy_from_slice(&bytes[..n]);
            area[n..].fill(0);
        }
    }
}

/// The process-wide title, once [`take_over`] ran (fork children inherit it and set their own).
static TITLE: std::sync::Mutex<Option<ProcTitle>> = std::sync::Mutex::new(None);

/// [`ProcTitle::init`] for the whole process (a second call does nothing).
///
/// # Safety
/// As [`ProcTitle::init`]: call it while the process has one thread, after reading the command line.
pub unsafe fn take_over() {
    let mut title = TITLE.lock().unwrap_or_else(|e| e.into_inner());
    if title.is_none() {
        // SAFETY: forwarded to the caller.
        *title = unsafe { ProcTitle::init() };
    }
}

/// Shows `title` if [`take_over`] succeeded; otherwise does nothing (as a Redis built without
/// setproctitle).
pub fn show(title: &str) {
    let mut guard = TITLE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(t) = guard.as_mut() {
        t.set(title);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> TitleVars {
        TitleVars {
            title: "zedis-server".into(),
            bind0: Some("127.0.0.1".into()),
            port: 6379,
            ..TitleVars::default()
        }
    }

    #[test]
    fn templates_expand_as_redis() {
        assert_eq!(
            expand(DEFAULT_TEMPLATE, &vars()).as_deref(),
            Some("zedis-server 127.0.0.1:6379")
        );
        let cluster = TitleVars {
            cluster: true,
            bind0: None,
            ..vars()
        };
        assert_eq!(
            expand(DEFAULT_TEMPLATE, &cluster).as_deref(),
            Some("zedis-server *:6379 [cluster]")
        );
        let unix = TitleVars {
            port: 0,
            unixsocket: "/tmp/z.sock".into(),
            ..vars()
        };
        assert_eq!(
            expand("{listen-addr}", &unix).as_deref(),
            Some("unixsocket:/tmp/z.sock")
        );
        assert_eq!(
            expand("{{x}} {port} {config-file}", &vars()).as_deref(),
            Some("{x}} 6379 -")
        );
        assert_eq!(expand("{nope}", &vars()), None);
        assert_eq!(expand("{title", &vars()), None);
        assert_eq!(expand("ends {", &vars()), None);
        assert_eq!(validate(DEFAULT_TEMPLATE, &vars()), Ok(()));
        assert_eq!(validate("{title}", &vars()), Err(INVALID_TEMPLATE));
        assert_eq!(validate("{server-mode}", &vars()), Err(INVALID_TEMPLATE));
        assert_eq!(validate("{unknown}", &vars()), Err(INVALID_TEMPLATE));
    }
}
