//! Redis 7.0's per-command metadata beyond the table row: key specs (COMMAND INFO), the documentation fields
//! after `complexity` (COMMAND DOCS), and the key extraction that COMMAND GETKEYS / GETKEYSANDFLAGS run on the
//! key specs (Redis's `getKeysFromCommandWithSpecs`).
//!
//! The data is generated into [`crate::command_docs`] by `scripts/gen-command-table.py PORT --docs` and looked
//! up by command name, so the hand-edited table rows stay one line each.

use crate::command_docs::COMMAND_DOCS;
use zedis_resp::{reply, Protocol};

/// A reply tree in RESP3 types; maps and sets are written as flat arrays in RESP2.
#[derive(Debug)]
pub enum Node {
    /// A bulk string.
    Bulk(&'static str),
    /// A simple string (flag names).
    Simple(&'static str),
    /// An integer.
    Int(i64),
    /// An array.
    Array(&'static [Node]),
    /// A set (an array in RESP2).
    Set(&'static [Node]),
    /// A map with bulk-string keys (a flat array in RESP2).
    Map(&'static [(&'static str, Node)]),
}

impl Node {
    /// Writes the tree in the client's protocol.
    pub fn write(&self, out: &mut Vec<u8>, p: Protocol) {
        match self {
            Node::Bulk(text) => reply::bulk(out, text.as_bytes()),
            Node::Simple(text) => reply::simple(out, text.as_bytes()),
            Node::Int(n) => reply::integer(out, *n),
            Node::Array(items) => {
                reply::array_len(out, items.len());
                items.iter().for_each(|item| item.write(out, p));
            }
            Node::Set(items) => {
                reply::set_len(out, p, items.len());
                items.iter().for_each(|item| item.write(out, p));
            }
            Node::Map(pairs) => {
                reply::map_len(out, p, pairs.len());
                for (key, value) in pairs.iter() {
                    reply::bulk(out, key.as_bytes());
                    value.write(out, p);
                }
            }
        }
    }

    /// The value under `key` of a map.
    fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Map(pairs) => pairs.iter().find(|(k, _)| *k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    fn int(&self, key: &str) -> Option<i64> {
        match self.get(key)? {
            Node::Int(n) => Some(*n),
            _ => None,
        }
    }

    fn text(&self, key: &str) -> Option<&'static str> {
        match self.get(key)? {
            Node::Bulk(text) => Some(text),
            _ => None,
        }
    }

    /// The items of an array or set.
    fn items(&self) -> &'static [Node] {
        match self {
            Node::Array(items) | Node::Set(items) => items,
            _ => &[],
        }
    }

    /// Whether a set of flag names holds `flag`.
    pub fn has_flag(&self, flag: &str) -> bool {
        self.items()
            .iter()
            .any(|f| matches!(f, Node::Simple(name) if *name == flag))
    }
}

/// What [`COMMAND_DOCS`] holds for one command.
#[derive(Debug)]
pub struct CommandDocs {
    /// COMMAND INFO's key specs (a set of maps).
    pub key_specs: Node,
    /// COMMAND DOCS fields after `complexity`, in Redis's order (doc_flags, deprecated_since, replaced_by,
    /// history, arguments).
    pub extras: &'static [(&'static str, Node)],
}

/// The generated metadata of `name` (lowercase, `parent|sub` for subcommands).
pub fn lookup(name: &str) -> Option<&'static CommandDocs> {
    COMMAND_DOCS
        .binary_search_by(|(n, _)| (*n).cmp(name))
        .ok()
        .map(|i| &COMMAND_DOCS[i].1)
}

/// Whether the command has a key spec for real keys (Redis's `doesCommandHaveKeys`).
pub fn has_keys(docs: &CommandDocs) -> bool {
    docs.key_specs.items().iter().any(|spec| {
        !spec
            .get("flags")
            .is_some_and(|flags| flags.has_flag("not_key"))
    })
}

/// SET's key flags depend on its GET option (Redis's `setGetKeys`).
static SET_FLAGS_PLAIN: Node = Node::Set(&[Node::Simple("OW"), Node::Simple("update")]);
static SET_FLAGS_WITH_GET: Node = Node::Set(&[
    Node::Simple("RW"),
    Node::Simple("access"),
    Node::Simple("update"),
]);

static BITFIELD_READ_FLAGS: Node = Node::Set(&[Node::Simple("RO"), Node::Simple("access")]);
static BITFIELD_WRITE_FLAGS: Node = Node::Set(&[
    Node::Simple("RW"),
    Node::Simple("access"),
    Node::Simple("update"),
]);

/// BITFIELD's key flags (Redis's `bitfieldGetKeys`): read-only when only GET and OVERFLOW are given, else
/// read-write (a syntax error too, to be safe).
fn bitfield_flags(args: &[&[u8]]) -> &'static Node {
    let mut i = 2;
    while i < args.len() {
        let remaining = args.len() - i - 1;
        let arg = args[i];
        if arg.eq_ignore_ascii_case(b"get") && remaining >= 2 {
            i += 3;
        } else if arg.eq_ignore_ascii_case(b"overflow") && remaining >= 1 {
            i += 2;
        } else {
            return &BITFIELD_WRITE_FLAGS;
        }
    }
    &BITFIELD_READ_FLAGS
}

static SORT_SOURCE_FLAGS: Node = Node::Set(&[Node::Simple("RO"), Node::Simple("access")]);
static SORT_STORE_FLAGS: Node = Node::Set(&[Node::Simple("OW"), Node::Simple("update")]);

static MIGRATE_FLAGS: Node = Node::Set(&[
    Node::Simple("RW"),
    Node::Simple("access"),
    Node::Simple("delete"),
]);

/// MIGRATE's keys as Redis's `migrateGetKeys` finds them (its KEYS spec is incomplete, so Redis falls back
/// to it): the key argument, or with an empty key argument every argument after `KEYS` (none when the key
/// argument is not empty: MIGRATE then reports the syntax error).
fn migrate_keys(args: &[&[u8]]) -> Vec<(usize, &'static Node)> {
    let (mut first, mut num) = (3, 1);
    if args.len() > 6 {
        let mut i = 6;
        while i < args.len() {
            let arg = args[i];
            if arg.eq_ignore_ascii_case(b"keys") {
                if args[3].is_empty() {
                    first = i + 1;
                    num = args.len() - first;
                } else {
                    num = 0;
                }
                break;
            }
            if arg.eq_ignore_ascii_case(b"auth") {
                i += 1;
            } else if arg.eq_ignore_ascii_case(b"auth2") {
                i += 2;
            }
            i += 1;
        }
    }
    (first..first + num)
        .filter(|&pos| pos < args.len())
        .map(|pos| (pos, &MIGRATE_FLAGS))
        .collect()
}

/// Keys found by a command's own procedure where its key specs cannot (Redis's `getkeys_proc`): SORT's
/// STORE destination sits after options of varying length (`sortGetKeys`), MIGRATE's KEYS list is an
/// incomplete spec (`migrateGetKeys`). `None` for other commands.
pub fn procedure_keys(name: &str, args: &[&[u8]]) -> Option<Vec<(usize, &'static Node)>> {
    if name == "migrate" {
        return Some(migrate_keys(args));
    }
    if name != "sort" && name != "sort_ro" {
        return None;
    }
    let positions = zedis_keyspace::commands::sort::key_positions(args);
    Some(
        positions
            .into_iter()
            .map(|pos| {
                let flags = if pos == 1 {
                    &SORT_SOURCE_FLAGS
                } else {
                    &SORT_STORE_FLAGS
                };
                (pos, flags)
            })
            .collect(),
    )
}

/// The keys of `args` (the full command, name first) with each key's flags, as Redis's
/// `getKeysFromCommandWithSpecs`; `None` when the arguments do not fit the specs.
pub fn keys_with_flags(
    name: &str,
    docs: &CommandDocs,
    args: &[&[u8]],
) -> Option<Vec<(usize, &'static Node)>> {
    let specs = docs.key_specs.items();
    let variable = specs.iter().any(|spec| {
        spec.get("flags")
            .is_some_and(|f| f.has_flag("variable_flags"))
    });
    if variable {
        // SET and BITFIELD among Zedis's commands: their native getkeys procedures decide the flags.
        if name == "bitfield" {
            return Some(vec![(1, bitfield_flags(args))]);
        }
        if name != "set" {
            return None;
        }
        let with_get = args[3.min(args.len())..]
            .iter()
            .any(|a| a.eq_ignore_ascii_case(b"get"));
        let flags = if with_get {
            &SET_FLAGS_WITH_GET
        } else {
            &SET_FLAGS_PLAIN
        };
        return Some(vec![(1, flags)]);
    }
    let mut keys = Vec::new();
    for spec in specs {
        let flags = spec.get("flags")?;
        if flags.has_flag("not_key") {
            continue;
        }
        let (first, last, step) = spec_range(spec, args)?;
        for pos in (first..=last).step_by(step.max(1)) {
            keys.push((pos, flags));
        }
    }
    Some(keys)
}

/// A key spec that needs no argument parsing: `begin_search` by index, `find_keys` by range (most
/// commands). The ACL check resolves these once per command at startup (`crate::access`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RangeSpec {
    /// `begin_search` index.
    pub index: i64,
    /// `find_keys` lastkey.
    pub last_key: i64,
    /// `find_keys` keystep.
    pub key_step: i64,
    /// `find_keys` limit.
    pub limit: i64,
    /// The spec's flags include `access`.
    pub read: bool,
    /// The spec's flags include `insert`, `delete` or `update`.
    pub write: bool,
}

/// The command's key specs as [`RangeSpec`]s when every one is an index + range (no keyword search, no key
/// count argument, no variable flags); `None` otherwise. `not_key` specs are left out, as
/// [`keys_with_flags`] does.
pub fn range_specs(docs: &CommandDocs) -> Option<Vec<RangeSpec>> {
    let mut out = Vec::new();
    for spec in docs.key_specs.items() {
        let flags = spec.get("flags")?;
        if flags.has_flag("variable_flags") {
            return None;
        }
        if flags.has_flag("not_key") {
            continue;
        }
        let begin = spec.get("begin_search")?;
        let find = spec.get("find_keys")?;
        if begin.text("type")? != "index" || find.text("type")? != "range" {
            return None;
        }
        let find_spec = find.get("spec")?;
        out.push(RangeSpec {
            index: begin.get("spec")?.int("index")?,
            last_key: find_spec.int("lastkey")?,
            key_step: find_spec.int("keystep")?,
            limit: find_spec.int("limit")?,
            read: flags.has_flag("access"),
            write: flags.has_flag("insert") || flags.has_flag("delete") || flags.has_flag("update"),
        });
    }
    Some(out)
}

/// The keys of a command of `argc` arguments with [`RangeSpec`]s, as `(position, read, write)`, pushed to
/// `out`; as [`keys_with_flags`], arguments that do not fit some spec give no keys at all.
pub fn range_keys(specs: &[RangeSpec], argc: usize, out: &mut Vec<(usize, bool, bool)>) {
    let argc = argc as i64;
    for spec in specs {
        let first = spec.index;
        let last = if spec.last_key >= 0 {
            first + spec.last_key
        } else if spec.limit == 0 {
            argc + spec.last_key
        } else {
            first + ((argc - first) / spec.limit + spec.last_key)
        };
        if last >= argc || last < first || first >= argc {
            out.clear();
            return;
        }
        let step = spec.key_step.max(1) as usize;
        for pos in (first as usize..=last as usize).step_by(step) {
            out.push((pos, spec.read, spec.write));
        }
    }
}

/// One spec's `(first, last, step)` positions in `args` (Redis's `getKeysUsingKeySpecs`); `None` for an
/// invalid spec or arguments that do not fit it. A keyword not found yields an empty range.
fn spec_range(spec: &Node, args: &[&[u8]]) -> Option<(usize, usize, usize)> {
    let argc = args.len() as i64;
    let begin = spec.get("begin_search")?;
    let begin_spec = begin.get("spec")?;
    let first = match begin.text("type")? {
        "index" => begin_spec.int("index")?,
        "keyword" => {
            let keyword = begin_spec.text("keyword")?;
            let start_from = begin_spec.int("startfrom")?;
            let (start, end) = if start_from > 0 {
                (start_from, argc - 1)
            } else {
                (argc + start_from, 0)
            };
            let mut i = start;
            let mut found = 0;
            while i != end && (1..argc).contains(&i) {
                if args[i as usize].eq_ignore_ascii_case(keyword.as_bytes()) {
                    found = i + 1;
                    break;
                }
                i += if start <= end { 1 } else { -1 };
            }
            if found == 0 {
                return Some((1, 0, 1)); // keyword absent: no keys from this spec
            }
            found
        }
        _ => return None,
    };
    let find = spec.get("find_keys")?;
    let find_spec = find.get("spec")?;
    let (first, last, step) = match find.text("type")? {
        "range" => {
            let last_key = find_spec.int("lastkey")?;
            let limit = find_spec.int("limit")?;
            let last = if last_key >= 0 {
                first + last_key
            } else if limit == 0 {
                argc + last_key
            } else {
                first + ((argc - first) / limit + last_key)
            };
            (first, last, find_spec.int("keystep")?)
        }
        "keynum" => {
            let keynum_idx = find_spec.int("keynumidx")?;
            if keynum_idx >= argc - first {
                return None;
            }
            let count = zedis_keyspace::num::parse_i64_exact(args[(first + keynum_idx) as usize])
                .filter(|n| *n >= 0)?;
            let first = first + find_spec.int("firstkey")?;
            (first, first + count - 1, find_spec.int("keystep")?)
        }
        _ => return None,
    };
    if last >= argc || last < first || first >= argc {
        return None;
    }
    Some((first as usize, last as usize, step.max(1) as usize))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(name: &str, args: &[&str]) -> Option<Vec<(usize, Vec<&'static str>)>> {
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        let docs = lookup(name)?;
        keys_with_flags(name, docs, &args).map(|keys| {
            keys.into_iter()
                .map(|(pos, flags)| {
                    let names = flags
                        .items()
                        .iter()
                        .filter_map(|f| match f {
                            Node::Simple(n) => Some(*n),
                            _ => None,
                        })
                        .collect();
                    (pos, names)
                })
                .collect()
        })
    }

    #[test]
    fn table_is_sorted_for_binary_search() {
        assert!(COMMAND_DOCS.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(lookup("get").is_some() && lookup("object|freq").is_some());
        assert!(lookup("nosuch").is_none());
    }

    #[test]
    fn keys_from_specs() {
        assert_eq!(
            keys("get", &["get", "k"]),
            Some(vec![(1, vec!["RO", "access"])])
        );
        assert_eq!(
            keys("set", &["set", "k", "v", "GET"]),
            Some(vec![(1, vec!["RW", "access", "update"])])
        );
        assert_eq!(
            keys("set", &["set", "k", "v"]),
            Some(vec![(1, vec!["OW", "update"])])
        );
        let mset = keys("mset", &["mset", "a", "1", "b", "2"]).unwrap();
        assert_eq!(mset.iter().map(|k| k.0).collect::<Vec<_>>(), [1, 3]);
        let lmpop = keys("lmpop", &["lmpop", "2", "a", "b", "LEFT"]).unwrap();
        assert_eq!(lmpop.iter().map(|k| k.0).collect::<Vec<_>>(), [2, 3]);
        assert_eq!(keys("lmpop", &["lmpop", "5", "a", "LEFT"]), None);
        assert_eq!(keys("lmpop", &["lmpop", "x", "a", "LEFT"]), None);
        assert!(!has_keys(lookup("ping").unwrap()));
    }
}
