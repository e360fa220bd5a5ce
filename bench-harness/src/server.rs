//! Server processes (spawn on a free port, wait for PING, stop), `/proc` readings and a small blocking RESP
//! client for control commands (INFO, CONFIG SET, DBSIZE).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use zedis_resp::frame::{encode_command, parse_frame, Frame};

/// How long a server may take to answer its first PING.
const STARTUP_WAIT_MAX: Duration = Duration::from_secs(15);

/// A running server child process; stopped on drop.
pub struct ServerProcess {
    child: Child,
    /// The port it listens on (127.0.0.1).
    pub port: u16,
    /// Where its stdout and stderr go.
    pub log_path: PathBuf,
}

/// CPU time and memory of a process from `/proc`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcSample {
    /// utime + stime, in seconds.
    pub cpu_s: f64,
    /// VmRSS in bytes.
    pub rss_bytes: u64,
    /// VmHWM (peak RSS) in bytes.
    pub hwm_bytes: u64,
}

/// The machine's 1-minute load average (`/proc/loadavg`), if readable: how busy the shared machine was.
pub fn load_average_1m() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// A port that was free a moment ago (bind to port 0, read it, release it).
pub fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// Is `program` an executable on PATH (or an existing path)?
pub fn on_path(program: &str) -> bool {
    if program.contains('/') {
        return Path::new(program).is_file();
    }
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
        .unwrap_or(false)
}

impl ServerProcess {
    /// Starts `args` (program first) with output to `log_path`, and waits until PING answers on `port`.
    pub fn start(args: &[String], port: u16, log_path: &Path) -> Result<ServerProcess> {
        let (program, rest) = args
            .split_first()
            .ok_or_else(|| anyhow!("empty server command"))?;
        let log =
            File::create(log_path).with_context(|| format!("creating {}", log_path.display()))?;
        let child = Command::new(program)
            .args(rest)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {program}"))?;
        let mut server = ServerProcess {
            child,
            port,
            log_path: log_path.to_owned(),
        };
        server
            .wait_ready()
            .with_context(|| format!("{} (log: {})", args.join(" "), log_path.display()))?;
        Ok(server)
    }

    fn wait_ready(&mut self) -> Result<()> {
        let deadline = Instant::now() + STARTUP_WAIT_MAX;
        loop {
            if let Some(status) = self.child.try_wait()? {
                let log = std::fs::read_to_string(&self.log_path).unwrap_or_default();
                let tail: String = log.lines().rev().take(5).collect::<Vec<_>>().join(" | ");
                bail!("server exited with {status} before answering PING: {tail}");
            }
            if let Ok(mut conn) = Conn::connect(self.port) {
                if let Ok(Frame::Simple(pong)) = conn.call(&[b"PING"]) {
                    if pong == b"PONG" {
                        return Ok(());
                    }
                }
            }
            if Instant::now() > deadline {
                bail!("server did not answer PING within {STARTUP_WAIT_MAX:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// CPU time and memory now.
    pub fn sample(&self) -> Result<ProcSample> {
        proc_sample(self.pid())
    }

    /// A control connection.
    pub fn conn(&self) -> Result<Conn> {
        Conn::connect(self.port)
    }

    /// SIGTERM, then SIGKILL after two seconds.
    pub fn stop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            // SAFETY: kill(2) with a pid we spawned and have not reaped; no memory is involved.
            unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
            let deadline = Instant::now() + Duration::from_secs(2);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Reads utime+stime from `/proc/<pid>/stat` and VmRSS/VmHWM from `/proc/<pid>/status`.
pub fn proc_sample(pid: u32) -> Result<ProcSample> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the parenthesised command name (which may contain spaces): state is field 3, utime 14.
    let after = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .ok_or_else(|| anyhow!("odd /proc stat"))?;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| -> Result<f64> {
        fields
            .get(i)
            .ok_or_else(|| anyhow!("short /proc stat"))?
            .parse::<f64>()
            .context("/proc stat field")
    };
    // SAFETY: sysconf has no memory-safety preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    let cpu_s = (ticks(11)? + ticks(12)?) / hz;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kb = |name: &str| -> u64 {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0)
            * 1024
    };
    Ok(ProcSample {
        cpu_s,
        rss_bytes: kb("VmRSS:"),
        hwm_bytes: kb("VmHWM:"),
    })
}

/// A blocking RESP connection for one command at a time.
pub struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    /// Connects to 127.0.0.1:`port` with a 10 s read timeout.
    pub fn connect(port: u16) -> Result<Conn> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        Ok(Conn {
            stream,
            buf: Vec::new(),
        })
    }

    /// Sends one command and returns its reply.
    pub fn call(&mut self, args: &[&[u8]]) -> Result<Frame> {
        let mut out = Vec::new();
        encode_command(&mut out, args);
        self.stream.write_all(&out)?;
        self.read_frame()
    }

    /// Reads the next reply.
    pub fn read_frame(&mut self) -> Result<Frame> {
        let mut chunk = [0u8; 16 * 1024];
        loop {
            if let Some((frame, used)) = parse_frame(&self.buf)? {
                self.buf.drain(..used);
                return Ok(frame);
            }
            let n = self.stream.read(&mut chunk)?;
            if n == 0 {
                bail!("connection closed");
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// `INFO` as a field map.
    pub fn info(&mut self) -> Result<BTreeMap<String, String>> {
        match self.call(&[b"INFO"])? {
            Frame::Bulk(text) | Frame::Verbatim { text, .. } => {
                Ok(parse_info(&String::from_utf8_lossy(&text)))
            }
            other => bail!("INFO replied {other:?}"),
        }
    }

    /// `DBSIZE`.
    pub fn dbsize(&mut self) -> Result<u64> {
        match self.call(&[b"DBSIZE"])? {
            Frame::Integer(n) => Ok(n.max(0) as u64),
            other => bail!("DBSIZE replied {other:?}"),
        }
    }

    /// `CONFIG SET name value`.
    pub fn config_set(&mut self, name: &str, value: &str) -> Result<()> {
        match self.call(&[b"CONFIG", b"SET", name.as_bytes(), value.as_bytes()])? {
            Frame::Simple(_) => Ok(()),
            other => bail!("CONFIG SET {name} {value} replied {other:?}"),
        }
    }
}

/// Parses `field:value` lines (section headers and blank lines skipped).
pub fn parse_info(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

/// A numeric INFO field, 0 when absent or not a number.
pub fn info_u64(info: &BTreeMap<String, String>, field: &str) -> u64 {
    info.get(field).and_then(|v| v.parse().ok()).unwrap_or(0)
}

/// Raises the open-file soft limit to the hard limit (idle-connection trials open thousands of sockets; child
/// servers inherit the limit).
pub fn raise_fd_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit write/read the struct we own.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < limit.rlim_max
        {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_parses_fields() {
        let info = parse_info("# Memory\r\nused_memory:123\r\nused_memory_human:1K\r\n\r\n# Stats\r\nevicted_keys:4\r\n");
        assert_eq!(info_u64(&info, "used_memory"), 123);
        assert_eq!(info_u64(&info, "evicted_keys"), 4);
        assert_eq!(info_u64(&info, "missing"), 0);
    }

    #[test]
    fn proc_sample_reads_self() {
        let sample = proc_sample(std::process::id()).unwrap();
        assert!(sample.rss_bytes > 0 && sample.hwm_bytes >= sample.rss_bytes);
        assert!(sample.cpu_s >= 0.0);
    }

    #[test]
    fn load_average_is_read() {
        let load = load_average_1m().expect("/proc/loadavg");
        assert!(load >= 0.0 && load.is_finite());
    }
}
