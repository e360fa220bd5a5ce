//! The process title (`set-proc-title`, `proc-title-template`) and the startup logo (`always-show-logo`):
//! the server side of `zedis_deploy::proctitle` and `zedis_deploy::logo`.

use crate::config::Config;
use std::sync::OnceLock;
use zedis_deploy::proctitle::{self, TitleVars};

/// `argv[0]` as the process was started (read before the title replaces it).
static EXECUTABLE: OnceLock<String> = OnceLock::new();

/// The template's variables for the current configuration and `title`.
fn vars(config: &Config, title: &str) -> TitleVars {
    TitleVars {
        title: title.to_string(),
        bind0: config
            .get("bind")
            .split_whitespace()
            .next()
            .map(|a| a.trim_start_matches('-').to_string()),
        port: config.int("port") as u16,
        tls_port: config.int("tls-port") as u16,
        unixsocket: config.get("unixsocket").to_string(),
        config_file: config.file.clone(),
        cluster: config.flag("cluster-enabled"),
    }
}

/// At startup, with one thread, after the command line was read: takes the argument area over and shows
/// the server's title, when `set-proc-title yes` (Redis's default).
pub fn start(config: &Config) {
    let argv0 = std::env::args()
        .next()
        .unwrap_or_else(|| "zedis-server".into());
    let _ = EXECUTABLE.set(argv0);
    if config.flag("set-proc-title") {
        // SAFETY: called from `main` before any thread starts, after `Config::from_args`; nothing keeps
        // pointers into the command line or the environment strings.
        unsafe { proctitle::take_over() };
        show_server(config);
    }
}

/// Shows the server's title (again, after CONFIG SET proc-title-template).
pub fn show_server(config: &Config) {
    let title = EXECUTABLE.get().map_or("zedis-server", String::as_str);
    show(config, title);
}

/// Shows `title` through the template (a fork child names itself, e.g. `zedis-rdb-bgsave`).
pub fn show(config: &Config, title: &str) {
    if !config.flag("set-proc-title") {
        return;
    }
    if let Some(text) = proctitle::expand(config.get("proc-title-template"), &vars(config, title)) {
        proctitle::show(&text);
    }
}

/// Logs the logo or Redis's `Running mode=..., port=...` line (Redis's `redisAsciiArt`).
pub fn banner(config: &Config, version: &str) {
    let port = match config.int("port") {
        0 => config.int("tls-port"),
        p => p,
    };
    let banner = zedis_deploy::logo::Banner {
        version,
        mode: if config.flag("cluster-enabled") {
            "cluster"
        } else {
            "standalone"
        },
        port: port as u16,
        pid: std::process::id(),
    };
    if zedis_deploy::logo::shows_logo(
        config.flag("always-show-logo"),
        config.get("logfile"),
        config.flag("syslog-enabled"),
    ) {
        zedis_deploy::log::log_raw(
            zedis_deploy::log::Level::Notice,
            zedis_deploy::logo::logo(&banner).as_bytes(),
        );
    } else {
        zedis_deploy::notice!("{}", zedis_deploy::logo::running_line(&banner));
    }
}
