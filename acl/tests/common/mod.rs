//! Shared by the differential tests: a reference redis-server and a raw RESP2 client (both from
//! `zedis-testkit`), replies as a bytes-exact [`Reply`], and a [`CommandCatalog`] built from the reference's
//! `COMMAND INFO`.
#![allow(dead_code)]

pub mod rules;

use zedis_acl::{parse_categories, AclCommandId, CommandCatalog};
use zedis_testkit::{Frame, RespClient};

/// A spawned `redis-server` with its files in its own temp dir, killed by PID on drop (`{dir}` in an
/// argument is that directory).
pub use zedis_testkit::RedisServer as RedisProcess;

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

impl From<Frame> for Reply {
    /// A RESP2 frame as a reply (`$-1` and `*-1` as the nulls of their type).
    fn from(frame: Frame) -> Reply {
        match frame {
            Frame::Simple(b) => Reply::Simple(b),
            Frame::Error(b) => Reply::Error(b),
            Frame::Integer(n) => Reply::Int(n),
            Frame::Bulk(b) => Reply::Bulk(Some(b)),
            Frame::Null => Reply::Bulk(None),
            Frame::NullArray => Reply::Array(None),
            Frame::Array(items) => Reply::Array(Some(items.into_iter().map(Reply::from).collect())),
            other => panic!("not a RESP2 reply: {other:?}"),
        }
    }
}

/// A raw RESP2 client.
pub struct Client(RespClient);

impl Client {
    /// Connects to 127.0.0.1:`port`.
    pub fn connect(port: u16) -> Client {
        Client(RespClient::connect(port))
    }

    /// Sends one command and reads its reply.
    pub fn call<A: AsRef<[u8]>>(&mut self, args: &[A]) -> Reply {
        let parts: Vec<&[u8]> = args.iter().map(AsRef::as_ref).collect();
        Reply::from(self.0.call(&parts))
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
