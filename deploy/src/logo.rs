//! The startup banner and `always-show-logo`, with Redis 7.0's rule for when the logo shows: when logging
//! goes to a terminal (no `logfile`, no syslog, stdout a tty) or `always-show-logo yes`. Otherwise one
//! notice line says `Running mode=<mode>, port=<port>.`, as Redis's `redisAsciiArt` does. The art is
//! Zedis's own.

use std::io::IsTerminal;

/// What the banner shows.
#[derive(Debug, Clone)]
pub struct Banner<'a> {
    /// The server version.
    pub version: &'a str,
    /// `standalone` or `cluster`.
    pub mode: &'a str,
    /// The TCP port (the TLS port when TCP is off).
    pub port: u16,
    /// The process id.
    pub pid: u32,
}

/// Whether the logo shows (Redis's rule; see the module docs).
pub fn shows_logo(always_show_logo: bool, logfile: &str, syslog_enabled: bool) -> bool {
    always_show_logo || (!syslog_enabled && logfile.is_empty() && std::io::stdout().is_terminal())
}

/// The logo block, several lines, version, mode, port and pid filled in.
pub fn logo(b: &Banner<'_>) -> String {
    let width = usize::BITS;
    format!(
        concat!(
            "\n",
            "   ______________        Zedis {version} ({width} bit)\n",
            "  /_____  ______/        a Redis-compatible server\n",
            "       / /\n",
            "      / /   ___  __      Running in {mode} mode\n",
            "     / /__ / _ \\/ _|     Port: {port}\n",
            "    /____/ \\___/\\__|     PID: {pid}\n",
            "\n",
        ),
        version = b.version,
        width = width,
        mode = b.mode,
        port = b.port,
        pid = b.pid,
    )
}

/// The one line logged instead of the logo.
pub fn running_line(b: &Banner<'_>) -> String {
    format!("Running mode={}, port={}.", b.mode, b.port)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn banner_texts() {
        let b = Banner {
            version: "7.0.15",
            mode: "standalone",
            port: 6379,
            pid: 42,
        };
        assert_eq!(running_line(&b), "Running mode=standalone, port=6379.");
        let art = logo(&b);
        for needle in [
            "7.0.15",
            "standalone mode",
            "Port: 6379",
            "PID: 42",
            "64 bit",
        ] {
            assert!(art.contains(needle), "{needle} in {art}");
        }
        assert!(shows_logo(true, "/var/log/zedis.log", true));
        assert!(!shows_logo(false, "/var/log/zedis.log", false));
        assert!(!shows_logo(false, "", true));
    }
}
