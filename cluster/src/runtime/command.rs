//! The CLUSTER command (`clusterCommand` of Redis 7.0.15) over a [`ClusterNode`]: argument checks and
//! error texts as Redis's, including the container command's arity and unknown-subcommand errors, so the
//! server's table row for CLUSTER only has to call [`ClusterNode::command`].
//!
//! # Format
//! `CLUSTER <subcommand> [args...]`; see [`HELP`] for the subcommands.

use zedis_resp::{reply, Protocol};
use zedis_util::num::parse_i64_exact;

use super::client::error_reply;
use super::ClusterNode;
use crate::slot::{key_hash_slot, SLOTS};
use crate::state::Action;
use crate::FailoverMode;

/// What CLUSTER needs from the server's keyspace (db 0; cluster mode has only db 0).
pub trait Keyspace {
    /// Keys in db 0 (FLUSHSLOTS, REPLICATE and RESET need an empty db).
    fn db_keys(&mut self) -> u64;
    /// Keys of db 0 in `slot` (COUNTKEYSINSLOT; SETSLOT NODE refuses to give away a slot with keys).
    fn count_keys_in_slot(&mut self, slot: u16) -> u64;
    /// Up to `count` key names of `slot` (GETKEYSINSLOT).
    fn keys_in_slot(&mut self, slot: u16, count: usize) -> Vec<Vec<u8>>;
}

/// The calling client's side of a CLUSTER call.
pub struct CommandCtx<'a> {
    /// The client's protocol (maps in SHARDS / LINKS / SLOTS metadata, verbatim strings).
    pub proto: Protocol,
    /// Unix ms.
    pub now_ms: u64,
    /// The keyspace.
    pub keyspace: &'a mut dyn Keyspace,
}

/// CLUSTER HELP's lines (between Redis's header and footer).
pub const HELP: &[&str] = &[
    "ADDSLOTS <slot> [<slot> ...]",
    "    Assign slots to current node.",
    "ADDSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
    "    Assign slots which are between <start-slot> and <end-slot> to current node.",
    "BUMPEPOCH",
    "    Advance the cluster config epoch.",
    "COUNT-FAILURE-REPORTS <node-id>",
    "    Return number of failure reports for <node-id>.",
    "COUNTKEYSINSLOT <slot>",
    "    Return the number of keys in <slot>.",
    "DELSLOTS <slot> [<slot> ...]",
    "    Delete slots information from current node.",
    "DELSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
    "    Delete slots information which are between <start-slot> and <end-slot> from current node.",
    "FAILOVER [FORCE|TAKEOVER]",
    "    Promote current replica node to being a master.",
    "FORGET <node-id>",
    "    Remove a node from the cluster.",
    "GETKEYSINSLOT <slot> <count>",
    "    Return key names stored by current node in a slot.",
    "FLUSHSLOTS",
    "    Delete current node own slots information.",
    "INFO",
    "    Return information about the cluster.",
    "KEYSLOT <key>",
    "    Return the hash slot for <key>.",
    "MEET <ip> <port> [<bus-port>]",
    "    Connect nodes into a working cluster.",
    "MYID",
    "    Return the node id.",
    "NODES",
    "    Return cluster configuration seen by node. Output format:",
    "    <id> <ip:port> <flags> <master> <pings> <pongs> <epoch> <link> <slot> ...",
    "REPLICATE <node-id>",
    "    Configure current node as replica to <node-id>.",
    "RESET [HARD|SOFT]",
    "    Reset current node (default: soft).",
    "SET-CONFIG-EPOCH <epoch>",
    "    Set config epoch of current node.",
    "SETSLOT <slot> (IMPORTING <node-id>|MIGRATING <node-id>|STABLE|NODE <node-id>)",
    "    Set slot state.",
    "REPLICAS <node-id>",
    "    Return <node-id> replicas.",
    "SAVECONFIG",
    "    Force saving cluster configuration on disk.",
    "SLOTS",
    "    Return information about slots range mappings. Each range is made of:",
    "    start, end, master and replicas IP addresses, ports and ids",
    "SHARDS",
    "    Return information about slot range mappings and the nodes associated with them.",
    "LINKS",
    "    Return information about all network links between this node and its peers.",
    "    Output format is an array where each array element is a map containing attributes of a link",
];

/// Redis 7.0's CLUSTER subcommands and arities (negative: at least that many arguments), the command
/// table's rows for them (`CLUSTER|<name>`).
pub const SUBCOMMANDS: &[(&str, i32)] = &[
    ("addslots", -3),
    ("addslotsrange", -4),
    ("bumpepoch", 2),
    ("count-failure-reports", 3),
    ("countkeysinslot", 3),
    ("delslots", -3),
    ("delslotsrange", -4),
    ("failover", -2),
    ("flushslots", 2),
    ("forget", 3),
    ("getkeysinslot", 4),
    ("help", 2),
    ("info", 2),
    ("keyslot", 3),
    ("links", 2),
    ("meet", -4),
    ("myid", 2),
    ("nodes", 2),
    ("replicas", 3),
    ("replicate", 3),
    ("reset", -2),
    ("saveconfig", 2),
    ("set-config-epoch", 3),
    ("setslot", -4),
    ("shards", 2),
    ("slaves", 3),
    ("slots", 2),
];

const NOT_INTEGER: &[u8] = b"ERR value is not an integer or out of range";

fn err(out: &mut Vec<u8>, parts: &[&[u8]]) {
    out.extend(error_reply(&parts.concat()));
}

/// C's `%.128s` of an argument.
fn cut128(arg: &[u8]) -> &[u8] {
    let end = arg.iter().position(|&b| b == 0).unwrap_or(arg.len());
    &arg[..end.min(128)]
}

/// `getSlotOrReply`.
fn slot_arg(arg: &[u8]) -> Result<u16, &'static [u8]> {
    match parse_i64_exact(arg) {
        Some(n) if (0..SLOTS as i64).contains(&n) => Ok(n as u16),
        _ => Err(b"ERR Invalid or out of range slot"),
    }
}

impl ClusterNode {
    /// Runs `CLUSTER <args[1..]>` (`args[0]` is the command name as sent) and returns the whole reply.
    /// State changes are saved to nodes.conf before this returns; what the server must do next (replicate,
    /// empty the data, ...) is queued for [`ClusterNode::take_events`].
    pub fn command(&mut self, args: &[&[u8]], ctx: &mut CommandCtx<'_>) -> Vec<u8> {
        let mut out = Vec::new();
        let Some(&sub) = args.get(1) else {
            err(
                &mut out,
                &[b"ERR wrong number of arguments for 'cluster' command"],
            );
            return out;
        };
        let lower = sub.to_ascii_lowercase();
        let Some(&(name, arity)) = SUBCOMMANDS.iter().find(|(n, _)| n.as_bytes() == lower) else {
            err(
                &mut out,
                &[
                    b"ERR unknown subcommand '",
                    cut128(sub),
                    b"'. Try CLUSTER HELP.",
                ],
            );
            return out;
        };
        let argc = args.len() as i32;
        if (arity > 0 && argc != arity) || (arity < 0 && argc < -arity) {
            err(
                &mut out,
                &[
                    b"ERR wrong number of arguments for 'cluster|",
                    name.as_bytes(),
                    b"' command",
                ],
            );
            return out;
        }
        let now = ctx.now_ms;
        let result = match name {
            "help" => {
                self.help(&mut out, args[0]);
                Ok(Vec::new())
            }
            "meet" => self.meet_cmd(&mut out, args, now),
            "nodes" => {
                let text = self.state.cluster_nodes();
                reply::verbatim(&mut out, ctx.proto, b"txt", text.as_bytes());
                Ok(Vec::new())
            }
            "myid" => {
                reply::bulk(&mut out, &self.state.myself().name);
                Ok(Vec::new())
            }
            "slots" => {
                self.state.cluster_slots(&mut out, ctx.proto);
                Ok(Vec::new())
            }
            "shards" => {
                self.state.cluster_shards(&mut out, ctx.proto);
                Ok(Vec::new())
            }
            "info" => {
                let text = self.state.cluster_info();
                reply::verbatim(&mut out, ctx.proto, b"txt", text.as_bytes());
                Ok(Vec::new())
            }
            "links" => {
                self.state
                    .cluster_links(&mut out, ctx.proto, |id| self.link_io(id));
                Ok(Vec::new())
            }
            "flushslots" if ctx.keyspace.db_keys() != 0 => {
                Err(b"ERR DB must be empty to perform CLUSTER FLUSHSLOTS.".to_vec())
            }
            "flushslots" => Ok(self.state.flush_slots(now)),
            "addslots" | "delslots" => self.slots_cmd(args, name == "delslots", now),
            "addslotsrange" | "delslotsrange" if argc % 2 == 1 => Err([
                b"ERR wrong number of arguments for 'cluster|".as_slice(),
                name.as_bytes(),
                b"' command",
            ]
            .concat()),
            "addslotsrange" | "delslotsrange" => {
                self.slot_ranges_cmd(args, name == "delslotsrange", now)
            }
            "setslot" => self.setslot_cmd(args, ctx),
            "bumpepoch" => {
                let (bumped, epoch, actions) = self.state.bump_epoch(now);
                let word = if bumped { "BUMPED" } else { "STILL" };
                reply::simple(&mut out, format!("{word} {epoch}").as_bytes());
                Ok(actions)
            }
            "saveconfig" => {
                let text = self.state.to_nodes_conf();
                match crate::file::save_nodes_conf(&self.cfg.config_file, &text, true) {
                    Ok(()) => Ok(Vec::new()),
                    Err(e) => Err(format!(
                        "ERR error saving the cluster node config: {}",
                        strerror(&e)
                    )
                    .into_bytes()),
                }
            }
            "keyslot" => {
                reply::integer(&mut out, i64::from(key_hash_slot(args[2])));
                Ok(Vec::new())
            }
            "countkeysinslot" => match parse_i64_exact(args[2]) {
                None => Err(NOT_INTEGER.to_vec()),
                Some(n) if !(0..SLOTS as i64).contains(&n) => Err(b"ERR Invalid slot".to_vec()),
                Some(n) => {
                    let count = ctx.keyspace.count_keys_in_slot(n as u16);
                    reply::integer(&mut out, count as i64);
                    Ok(Vec::new())
                }
            },
            "getkeysinslot" => self.getkeysinslot(&mut out, args, ctx),
            "forget" => self
                .state
                .forget(args[2], now)
                .map_err(|e| e.to_string().into_bytes()),
            "replicate" => {
                let empty = ctx.keyspace.db_keys() == 0;
                self.state
                    .replicate(args[2], empty, now)
                    .map_err(|e| e.to_string().into_bytes())
            }
            "replicas" | "slaves" => match self.state.replicas_of(args[2]) {
                Ok(lines) => {
                    reply::array_len(&mut out, lines.len());
                    for line in lines {
                        reply::bulk(&mut out, line.as_bytes());
                    }
                    Ok(Vec::new())
                }
                Err(e) => Err(e.to_string().into_bytes()),
            },
            "count-failure-reports" => match self.state.count_failure_reports(args[2], now) {
                Ok(n) => {
                    reply::integer(&mut out, n as i64);
                    Ok(Vec::new())
                }
                Err(e) => Err(e.to_string().into_bytes()),
            },
            "failover" => self.failover_cmd(args, now),
            "set-config-epoch" => match parse_i64_exact(args[2]) {
                None => Err(NOT_INTEGER.to_vec()),
                Some(epoch) => self
                    .state
                    .set_config_epoch(epoch, now)
                    .map_err(|e| e.to_string().into_bytes()),
            },
            "reset" => self.reset_cmd(args, ctx),
            _ => Err(syntax_error(args[1])),
        };
        match result {
            Ok(actions) => {
                if out.is_empty() {
                    reply::ok(&mut out);
                }
                self.apply(actions, now);
            }
            Err(text) => {
                out.clear();
                err(&mut out, &[&text]);
            }
        }
        out
    }

    fn help(&self, out: &mut Vec<u8>, command: &[u8]) {
        reply::array_len(out, HELP.len() + 3);
        let mut header = command.to_ascii_uppercase();
        header.extend_from_slice(b" <subcommand> [<arg> [value] [opt] ...]. Subcommands are:");
        reply::simple(out, &header);
        for line in HELP {
            reply::simple(out, line.as_bytes());
        }
        reply::simple(out, b"HELP");
        reply::simple(out, b"    Prints this help.");
    }

    fn meet_cmd(&mut self, out: &mut Vec<u8>, args: &[&[u8]], now: u64) -> CmdResult {
        if args.len() > 5 {
            return Err(syntax_error(args[1]));
        }
        let Some(port) = parse_i64_exact(args[3]) else {
            return Err([b"ERR Invalid TCP base port specified: ".as_slice(), args[3]].concat());
        };
        let cport = match args.get(4) {
            None => port + 10000,
            Some(arg) => match parse_i64_exact(arg) {
                Some(p) => p,
                None => {
                    return Err([b"ERR Invalid TCP bus port specified: ".as_slice(), arg].concat())
                }
            },
        };
        let invalid = || {
            [
                b"ERR Invalid node address specified: ".as_slice(),
                args[2],
                b":",
                args[3],
            ]
            .concat()
        };
        let in_range = |p: i64| (1..=65535).contains(&p);
        let ip = std::str::from_utf8(args[2]).map_err(|_| invalid())?;
        if !in_range(port) || !in_range(cport) {
            return Err(invalid());
        }
        let actions = self
            .state
            .meet(ip, port as u16, cport as u16, now)
            .map_err(|_| invalid())?;
        reply::ok(out);
        Ok(actions)
    }

    /// ADDSLOTS / DELSLOTS: every argument parsed first, then the assignments checked in order.
    fn slots_cmd(&mut self, args: &[&[u8]], del: bool, now: u64) -> CmdResult {
        let slots = args[2..]
            .iter()
            .map(|a| slot_arg(a))
            .collect::<Result<Vec<u16>, _>>()
            .map_err(<[u8]>::to_vec)?;
        let mut seen = vec![false; SLOTS];
        for &slot in &slots {
            self.check_assignment(&mut seen, del, slot, slot)?;
        }
        self.update_slots(&seen, del, now)
    }

    /// ADDSLOTSRANGE / DELSLOTSRANGE: each pair parsed and checked in turn.
    fn slot_ranges_cmd(&mut self, args: &[&[u8]], del: bool, now: u64) -> CmdResult {
        let mut seen = vec![false; SLOTS];
        for pair in args[2..].chunks(2) {
            let start = slot_arg(pair[0]).map_err(<[u8]>::to_vec)?;
            let end = slot_arg(pair[1]).map_err(<[u8]>::to_vec)?;
            if start > end {
                return Err(format!(
                    "ERR start slot number {start} is greater than end slot number {end}"
                )
                .into_bytes());
            }
            self.check_assignment(&mut seen, del, start, end)?;
        }
        self.update_slots(&seen, del, now)
    }

    /// `checkSlotAssignmentsOrReply`.
    fn check_assignment(
        &self,
        seen: &mut [bool],
        del: bool,
        start: u16,
        end: u16,
    ) -> Result<(), Vec<u8>> {
        for slot in start..=end {
            let assigned = self.state.slot_owner(slot).is_some();
            if del && !assigned {
                return Err(format!("ERR Slot {slot} is already unassigned").into_bytes());
            }
            if !del && assigned {
                return Err(format!("ERR Slot {slot} is already busy").into_bytes());
            }
            if std::mem::replace(&mut seen[usize::from(slot)], true) {
                return Err(format!("ERR Slot {slot} specified multiple times").into_bytes());
            }
        }
        Ok(())
    }

    fn update_slots(&mut self, seen: &[bool], del: bool, now: u64) -> CmdResult {
        let slots: Vec<u16> = (0..SLOTS as u16)
            .filter(|&s| seen[usize::from(s)])
            .collect();
        self.state
            .update_slots(&slots, del, now)
            .map_err(|e| e.to_string().into_bytes())
    }

    fn setslot_cmd(&mut self, args: &[&[u8]], ctx: &mut CommandCtx<'_>) -> CmdResult {
        if self.state.myself().is_replica() {
            return Err(b"ERR Please use SETSLOT only with masters.".to_vec());
        }
        let slot = slot_arg(args[2]).map_err(<[u8]>::to_vec)?;
        let action = args[3].to_ascii_lowercase();
        let now = ctx.now_ms;
        let result =
            match (action.as_slice(), args.len()) {
                (b"migrating", 5) => self.state.set_slot_migrating(slot, args[4], now),
                (b"importing", 5) => self.state.set_slot_importing(slot, args[4], now),
                (b"stable", 4) => self.state.set_slot_stable(slot, now),
                (b"node", 5) => {
                    let keys = ctx.keyspace.count_keys_in_slot(slot);
                    self.state.set_slot_node(slot, args[4], keys, now)
                }
                _ => return Err(
                    b"ERR Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP"
                        .to_vec(),
                ),
            };
        result.map_err(|e| e.to_string().into_bytes())
    }

    fn getkeysinslot(
        &mut self,
        out: &mut Vec<u8>,
        args: &[&[u8]],
        ctx: &mut CommandCtx<'_>,
    ) -> CmdResult {
        let (Some(slot), Some(max)) = (parse_i64_exact(args[2]), parse_i64_exact(args[3])) else {
            return Err(NOT_INTEGER.to_vec());
        };
        if !(0..SLOTS as i64).contains(&slot) || max < 0 {
            return Err(b"ERR Invalid slot or number of keys".to_vec());
        }
        let slot = slot as u16;
        let count = ctx.keyspace.count_keys_in_slot(slot).min(max as u64) as usize;
        let keys = ctx.keyspace.keys_in_slot(slot, count);
        reply::array_len(out, keys.len().min(count));
        for key in keys.iter().take(count) {
            reply::bulk(out, key);
        }
        Ok(Vec::new())
    }

    fn failover_cmd(&mut self, args: &[&[u8]], now: u64) -> CmdResult {
        if args.len() > 3 {
            return Err(syntax_error(args[1]));
        }
        let mode = match args.get(2).map(|a| a.to_ascii_lowercase()) {
            None => FailoverMode::Default,
            Some(a) if a == b"force" => FailoverMode::Force,
            Some(a) if a == b"takeover" => FailoverMode::Takeover,
            Some(_) => return Err(b"ERR syntax error".to_vec()),
        };
        self.state
            .failover(mode, now)
            .map_err(|e| e.to_string().into_bytes())
    }

    fn reset_cmd(&mut self, args: &[&[u8]], ctx: &mut CommandCtx<'_>) -> CmdResult {
        if args.len() > 3 {
            return Err(syntax_error(args[1]));
        }
        let hard = match args.get(2).map(|a| a.to_ascii_lowercase()) {
            None => false,
            Some(a) if a == b"hard" => true,
            Some(a) if a == b"soft" => false,
            Some(_) => return Err(b"ERR syntax error".to_vec()),
        };
        let empty = ctx.keyspace.db_keys() == 0;
        self.state
            .reset(hard, empty, ctx.now_ms)
            .map_err(|e| e.as_bytes().to_vec())
    }
}

type CmdResult = Result<Vec<Action>, Vec<u8>>;

/// `addReplySubcommandSyntaxError`.
fn syntax_error(sub: &[u8]) -> Vec<u8> {
    [
        b"ERR unknown subcommand or wrong number of arguments for '".as_slice(),
        cut128(sub),
        b"'. Try CLUSTER HELP.",
    ]
    .concat()
}

/// C's `strerror` text of an I/O error (Rust's display without " (os error N)").
fn strerror(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}
