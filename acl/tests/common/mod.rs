//! Shared by the differential tests: a reference redis-server, a raw RESP2 client, and a
//! [`CommandCatalog`] built from the reference's `COMMAND INFO`.
#![allow(dead_code)]

pub mod rules;

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use zedis_acl::{parse_categories, AclCommandId, CommandCatalog};

/// A spawned `redis-server` with its files in its own temp dir, killed by PID on drop.
pub struct RedisProcess {
    child: Child,
    /// Its port.
    pub port: u16,
    /// Its working directory (removed on drop).
    pub dir: PathBuf,
}

impl RedisProcess {
    /// Starts `redis-server --save '' --appendonly no` plus `args` (`{dir}` in an argument is replaced by
    /// the temp dir); `None` when it is missing or fails.
    pub fn start(args: &[&str]) -> Option<RedisProcess> {
        for attempt in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0")
                .ok()?
                .local_addr()
                .ok()?
                .port();
            let dir = std::env::temp_dir().join(format!(
                "zedis-acl-test-{}-{port}-{attempt}",
                std::process::id()
            ));
            std::fs::create_dir_all(&dir).ok()?;
            let dir_text = dir.to_string_lossy().to_string();
            let args: Vec<String> = args.iter().map(|a| a.replace("{dir}", &dir_text)).collect();
            let child = Command::new("redis-server")
                .args([
                    "--port",
                    &port.to_string(),
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                ])
                .args(["--bind", "127.0.0.1", "--dir", &dir_text])
                .args(&args)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .ok()?;
            let mut process = RedisProcess { child, port, dir };
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline {
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Some(process);
                }
                if let Ok(Some(_)) = process.child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        None
    }

    /// A new connection.
    pub fn client(&self) -> Client {
        Client::connect(self.port)
    }
}

impl Drop for RedisProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A RESP2 reply, bytes exact.
#[derive(Clone, PartialEq, Eq)]
pub enum Reply {
    /// `+...`
    Simple(Vec<u8>),
    /// `-...` (without the `-`).
    Error(Vec<u8>),
    /// `:n`
    Int(i64),
    /// `$...` (`None` = null bulk).
    Bulk(Option<Vec<u8>>),
    /// `*...` (`None` = null array).
    Array(Option<Vec<Reply>>),
}

impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reply::Simple(b) => write!(f, "+{:?}", String::from_utf8_lossy(b)),
            Reply::Error(b) => write!(f, "-{:?}", String::from_utf8_lossy(b)),
            Reply::Int(n) => write!(f, ":{n}"),
            Reply::Bulk(Some(b)) => write!(f, "{:?}", String::from_utf8_lossy(b)),
            Reply::Bulk(None) => write!(f, "(nil)"),
            Reply::Array(Some(items)) => f.debug_list().entries(items).finish(),
            Reply::Array(None) => write!(f, "(nil array)"),
        }
    }
}

impl Reply {
    /// A bulk string.
    pub fn bulk(bytes: impl AsRef<[u8]>) -> Reply {
        Reply::Bulk(Some(bytes.as_ref().to_vec()))
    }

    /// The bytes of a bulk or simple string.
    pub fn bytes(&self) -> Vec<u8> {
        match self {
            Reply::Bulk(Some(b)) | Reply::Simple(b) | Reply::Error(b) => b.clone(),
            other => panic!("not a string: {other:?}"),
        }
    }

    /// The elements of an array.
    pub fn items(&self) -> Vec<Reply> {
        match self {
            Reply::Array(Some(items)) => items.clone(),
            other => panic!("not an array: {other:?}"),
        }
    }
}

/// A raw RESP2 client.
pub struct Client {
    reader: BufReader<TcpStream>,
}

impl Client {
    /// Connects to 127.0.0.1:`port`.
    pub fn connect(port: u16) -> Client {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .expect("timeout");
        Client {
            reader: BufReader::new(stream),
        }
    }

    /// Sends one command and reads its reply.
    pub fn call<A: AsRef<[u8]>>(&mut self, args: &[A]) -> Reply {
        let mut out = format!("*{}\r\n", args.len()).into_bytes();
        for arg in args {
            let arg = arg.as_ref();
            out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
            out.extend_from_slice(arg);
            out.extend_from_slice(b"\r\n");
        }
        self.reader.get_mut().write_all(&out).expect("write");
        self.read()
    }

    fn line(&mut self) -> Vec<u8> {
        let mut line = Vec::new();
        self.reader.read_until(b'\n', &mut line).expect("read");
        line.truncate(line.len().saturating_sub(2));
        line
    }

    fn read(&mut self) -> Reply {
        let line = self.line();
        let (kind, rest) = (line[0], &line[1..]);
        let number = || std::str::from_utf8(rest).unwrap().parse::<i64>().unwrap();
        match kind {
            b'+' => Reply::Simple(rest.to_vec()),
            b'-' => Reply::Error(rest.to_vec()),
            b':' => Reply::Int(number()),
            b'$' => {
                let len = number();
                if len < 0 {
                    return Reply::Bulk(None);
                }
                let mut buf = vec![0; len as usize + 2];
                std::io::Read::read_exact(&mut self.reader, &mut buf).expect("bulk");
                buf.truncate(len as usize);
                Reply::Bulk(Some(buf))
            }
            b'*' => {
                let len = number();
                if len < 0 {
                    return Reply::Array(None);
                }
                Reply::Array(Some((0..len).map(|_| self.read()).collect()))
            }
            other => panic!("unexpected reply type {}", other as char),
        }
    }
}

fn has_flag(flags: &Reply, name: &str) -> bool {
    flags.items().iter().any(|f| f.bytes() == name.as_bytes())
}

fn categories(reply: &Reply) -> u32 {
    let names: Vec<String> = reply
        .items()
        .iter()
        .map(|r| String::from_utf8(r.bytes()).unwrap())
        .collect();
    parse_categories(&names.join(" "))
}

/// Finishes the incremental rehashing of the reference's command dicts: a dict that was still rehashing
/// after startup iterates in another order once lookups (ACL rules naming commands) move its buckets, so
/// the order `COMMAND INFO` shows now is the order ACL uses from now on.
fn settle_command_dicts(client: &mut Client) {
    let infos = client.call(&["COMMAND", "INFO"]).items();
    let mut rules = vec!["ACL".to_string(), "SETUSER".into(), "__settle".into()];
    for info in &infos {
        let fields = info.items();
        let name = String::from_utf8(fields[0].bytes()).unwrap();
        let sub = fields[9]
            .items()
            .first()
            .map(|s| String::from_utf8(s.items()[0].bytes()).unwrap());
        let rule = format!("+{}", sub.unwrap_or(name));
        rules.extend(std::iter::repeat_n(rule, 32));
    }
    for _ in 0..4 {
        assert_eq!(client.call(&rules), Reply::Simple(b"OK".to_vec()));
    }
    client.call(&["ACL", "DELUSER", "__settle"]);
}

/// The reference's command universe from `COMMAND INFO` (its dict order, which its ACL code also uses).
pub fn catalog_from_reference(client: &mut Client) -> CommandCatalog {
    settle_command_dicts(client);
    let mut catalog = CommandCatalog::new();
    for info in client.call(&["COMMAND", "INFO"]).items() {
        let fields = info.items();
        let name = String::from_utf8(fields[0].bytes()).unwrap();
        let id: AclCommandId = catalog
            .add_command(
                &name,
                categories(&fields[6]),
                has_flag(&fields[2], "no_auth"),
            )
            .unwrap();
        for sub in fields[9].items() {
            let sub = sub.items();
            let sub_name = String::from_utf8(sub[0].bytes()).unwrap();
            catalog
                .add_subcommand(
                    id,
                    &sub_name,
                    categories(&sub[6]),
                    has_flag(&sub[2], "no_auth"),
                )
                .unwrap();
        }
    }
    catalog
}
