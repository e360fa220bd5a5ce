//! COMMAND, CONFIG and MEMORY USAGE: answered from the command table, the config table and the key index (the other MEMORY subcommands: `memory_cmds.rs`).

use crate::clients::help_reply;
use crate::server::Core;
use crate::table::{Command, FLAG_NAMES, READONLY, WRITE};
use crate::Strategy;
use zedis_client_pool::ClientSlots;
use zedis_keyspace::commands::SYNTAX;
use zedis_keyspace::entry::Payload;
use zedis_resp::{reply, Protocol};

fn write_words(out: &mut Vec<u8>, p: Protocol, words: &str) {
    let words: Vec<&str> = words.split_whitespace().collect();
    reply::set_len(out, p, words.len());
    for w in words {
        reply::simple(out, w.as_bytes());
    }
}

/// One COMMAND INFO entry (Redis 7.0 shape: 10 fields).
fn write_info<S: Strategy>(out: &mut Vec<u8>, p: Protocol, cmd: &Command<S>) {
    reply::array_len(out, 10);
    reply::bulk(out, cmd.name.as_bytes());
    reply::integer(out, i64::from(cmd.arity));
    let flags: Vec<&str> = FLAG_NAMES
        .iter()
        .filter(|(bit, _)| cmd.flags & bit != 0)
        .map(|(_, n)| *n)
        .collect();
    write_words(out, p, &flags.join(" "));
    reply::integer(out, i64::from(cmd.keys.0));
    reply::integer(out, i64::from(cmd.keys.1));
    reply::integer(out, i64::from(cmd.keys.2));
    write_words(out, p, cmd.acl);
    // Tips are bulk strings in Redis's reply, unlike flags and ACL categories.
    let tips: Vec<&str> = cmd.tips.split_whitespace().collect();
    reply::set_len(out, p, tips.len());
    for tip in tips {
        reply::bulk(out, tip.as_bytes());
    }
    match crate::command_meta::lookup(cmd.name) {
        Some(docs) => docs.key_specs.write(out, p),
        None => write_legacy_key_spec(out, p, cmd),
    }
    // Redis answers an empty *set* for no subcommands, an array otherwise.
    if cmd.subcommands.is_empty() {
        reply::set_len(out, p, 0);
    } else {
        reply::array_len(out, cmd.subcommands.len());
    }
    for sub in &cmd.subcommands {
        write_info(out, p, sub);
    }
}

/// A key spec derived from the legacy (first, last, step) triple, for a command without generated metadata
/// (see `scripts/gen-command-table.py --docs`).
fn write_legacy_key_spec<S: Strategy>(out: &mut Vec<u8>, p: Protocol, cmd: &Command<S>) {
    if cmd.keys.0 <= 0 {
        return reply::set_len(out, p, 0);
    }
    reply::set_len(out, p, 1);
    reply::map_len(out, p, 3);
    reply::bulk(out, b"flags");
    let spec_flags = if cmd.flags & WRITE != 0 {
        "RW update"
    } else if cmd.flags & READONLY != 0 {
        "RO access"
    } else {
        ""
    };
    write_words(out, p, spec_flags);
    reply::bulk(out, b"begin_search");
    reply::map_len(out, p, 2);
    reply::bulk(out, b"type");
    reply::bulk(out, b"index");
    reply::bulk(out, b"spec");
    reply::map_len(out, p, 1);
    reply::bulk(out, b"index");
    reply::integer(out, i64::from(cmd.keys.0));
    reply::bulk(out, b"find_keys");
    reply::map_len(out, p, 2);
    reply::bulk(out, b"type");
    reply::bulk(out, b"range");
    reply::bulk(out, b"spec");
    reply::map_len(out, p, 3);
    reply::bulk(out, b"lastkey");
    let last = if cmd.keys.1 < 0 {
        i64::from(cmd.keys.1)
    } else {
        i64::from(cmd.keys.1 - cmd.keys.0)
    };
    reply::integer(out, last);
    reply::bulk(out, b"keystep");
    reply::integer(out, i64::from(cmd.keys.2));
    reply::bulk(out, b"limit");
    reply::integer(out, 0);
}

/// One COMMAND DOCS entry (name then doc map).
fn write_docs<S: Strategy>(out: &mut Vec<u8>, p: Protocol, cmd: &Command<S>) {
    reply::bulk(out, cmd.name.as_bytes());
    let extras = crate::command_meta::lookup(cmd.name).map_or(&[][..], |docs| docs.extras);
    // Redis leaves out a field the command has no text for (PSYNC, SYNC, REPLCONF have no complexity).
    let texts = [
        ("summary", cmd.summary),
        ("since", cmd.since),
        ("group", cmd.group),
        ("complexity", cmd.complexity),
    ];
    let present = texts.iter().filter(|(_, v)| !v.is_empty()).count();
    let fields = present + extras.len() + usize::from(!cmd.subcommands.is_empty());
    reply::map_len(out, p, fields);
    for (k, v) in texts.into_iter().filter(|(_, v)| !v.is_empty()) {
        reply::bulk(out, k.as_bytes());
        reply::bulk(out, v.as_bytes());
    }
    for (key, value) in extras {
        reply::bulk(out, key.as_bytes());
        value.write(out, p);
    }
    if !cmd.subcommands.is_empty() {
        reply::bulk(out, b"subcommands");
        reply::map_len(out, p, cmd.subcommands.len());
        for sub in &cmd.subcommands {
            write_docs(out, p, sub);
        }
    }
}

/// Finds a command or `parent|sub` by name.
fn find<S: Strategy>(core: &Core<S>, name: &[u8]) -> Option<&'static Command<S>> {
    let table = core.table;
    match name.iter().position(|&b| b == b'|') {
        Some(bar) => table.lookup(&name[..bar])?.subcommand(&name[bar + 1..]),
        None => table.lookup(name),
    }
}

/// # Format
/// `COMMAND` (every command's info)
pub fn command_all<S: Strategy>(core: &mut Core<S>, ck: usize, _argv: &[&[u8]]) {
    let table = core.table;
    core.reply(ck, |out, p| {
        reply::array_len(out, table.all().len());
        for cmd in table.all() {
            write_info(out, p, cmd);
        }
    });
}

/// # Format
/// `COMMAND COUNT`
pub fn command_count<S: Strategy>(core: &mut Core<S>, ck: usize, _argv: &[&[u8]]) {
    let n = core.table.all().len() as i64;
    core.reply(ck, |out, _| reply::integer(out, n));
}

/// # Format
/// `COMMAND INFO [command-name ...]`
pub fn command_info<S: Strategy>(core: &mut Core<S>, ck: usize, argv: &[&[u8]]) {
    if argv.len() == 2 {
        return command_all(core, ck, argv);
    }
    let found: Vec<Option<&Command<S>>> = argv[2..].iter().map(|name| find(core, name)).collect();
    core.reply(ck, |out, p| {
        reply::array_len(out, found.len());
        for cmd in found {
            match cmd {
                Some(cmd) => write_info(out, p, cmd),
                None => reply::null(out, p),
            }
        }
    });
}

/// # Format
/// `COMMAND DOCS [command-name ...]`
pub fn command_docs<S: Strategy>(core: &mut Core<S>, ck: usize, argv: &[&[u8]]) {
    let found: Vec<&Command<S>> = if argv.len() == 2 {
        core.table.all().iter().collect()
    } else {
        argv[2..]
            .iter()
            .filter_map(|name| find(core, name))
            .collect()
    };
    core.reply(ck, |out, p| {
        reply::map_len(out, p, found.len());
        for cmd in found {
            write_docs(out, p, cmd);
        }
    });
}

/// # Format
/// `COMMAND LIST [FILTERBY MODULE module-name | ACLCAT category | PATTERN pattern]`
pub fn command_list<S: Strategy>(core: &mut Core<S>, ck: usize, argv: &[&[u8]]) {
    let mut names: Vec<&str> = Vec::new();
    let filter = match argv.len() {
        2 => None,
        5 if argv[2].eq_ignore_ascii_case(b"filterby") => {
            Some((argv[3].to_ascii_lowercase(), argv[4]))
        }
        _ => return core.reply_error(ck, SYNTAX),
    };
    let mut push = |cmd: &Command<S>| {
        let keep = match &filter {
            None => true,
            Some((kind, value)) if kind == b"pattern" => {
                zedis_keyspace::glob::matches_nocase(value, cmd.name.as_bytes())
            }
            Some((kind, value)) if kind == b"aclcat" => cmd.acl.split_whitespace().any(|c| {
                c.trim_start_matches('@')
                    .as_bytes()
                    .eq_ignore_ascii_case(value)
            }),
            Some(_) => false,
        };
        if keep {
            names.push(cmd.name);
        }
    };
    for cmd in core.table.all() {
        push(cmd);
        for sub in &cmd.subcommands {
            push(sub);
        }
    }
    if filter
        .as_ref()
        .is_some_and(|(kind, _)| !matches!(kind.as_slice(), b"pattern" | b"aclcat" | b"module"))
    {
        return core.reply_error(ck, SYNTAX);
    }
    core.reply(ck, |out, _| {
        reply::array_len(out, names.len());
        for name in names {
            reply::bulk(out, name.as_bytes());
        }
    });
}

/// # Format
/// `COMMAND GETKEYS command [arg ...]`
pub fn command_getkeys<S: Strategy>(core: &mut Core<S>, ck: usize, argv: &[&[u8]]) {
    getkeys(core, ck, argv, false);
}

/// # Format
/// `COMMAND GETKEYSANDFLAGS command [arg ...]`
pub fn command_getkeysandflags<S: Strategy>(core: &mut Core<S>, ck: usize, argv: &[&[u8]]) {
    getkeys(core, ck, argv, true);
}

/// Redis 7.0's `getKeysSubcommandImpl`: the command (a container's subcommand when one is given), then
/// "has keys", then arity, then the keys its key specs find.
fn getkeys<S: Strategy>(core: &mut Core<S>, ck: usize, argv: &[&[u8]], with_flags: bool) {
    let args = &argv[2..];
    let Some(mut cmd) = core.table.lookup(args[0]) else {
        return core.reply_error(ck, b"ERR Invalid command specified");
    };
    if !cmd.subcommands.is_empty() && args.len() > 1 {
        match cmd.subcommand(args[1]) {
            Some(sub) => cmd = sub,
            None => return core.reply_error(ck, b"ERR Invalid command specified"),
        }
    }
    let docs = crate::command_meta::lookup(cmd.name);
    let has_keys = docs.map_or(cmd.keys.0 > 0, crate::command_meta::has_keys);
    if !has_keys {
        return core.reply_error(ck, b"ERR The command has no key arguments");
    }
    if !cmd.arity_ok(args.len()) {
        return core.reply_error(ck, b"ERR Invalid number of arguments specified for command");
    }
    let keys = match (crate::command_meta::procedure_keys(cmd.name, args), docs) {
        (Some(keys), _) => keys,
        (None, Some(docs)) => {
            crate::command_meta::keys_with_flags(cmd.name, docs, args).unwrap_or_default()
        }
        (None, None) => legacy_keys(cmd.keys, args),
    };
    if keys.is_empty() {
        if cmd.has(crate::table::NO_MANDATORY_KEYS) {
            return core.reply(ck, |out, _| reply::array_len(out, 0));
        }
        return core.reply_error(ck, b"ERR Invalid arguments specified for command");
    }
    core.reply(ck, |out, p| {
        reply::array_len(out, keys.len());
        for (pos, flags) in keys {
            if with_flags {
                reply::array_len(out, 2);
                reply::bulk(out, args[pos]);
                flags.write(out, p);
            } else {
                reply::bulk(out, args[pos]);
            }
        }
    });
}

/// Key positions from the legacy (first, last, step) triple, for commands without generated key specs.
pub(crate) fn legacy_keys(
    (first, last, step): (i32, i32, i32),
    args: &[&[u8]],
) -> Vec<(usize, &'static crate::command_meta::Node)> {
    static NO_FLAGS: crate::command_meta::Node = crate::command_meta::Node::Set(&[]);
    let last = if last < 0 {
        args.len() as i32 + last
    } else {
        last
    };
    (first.max(1)..=last)
        .step_by(step.max(1) as usize)
        .filter(|&i| (i as usize) < args.len())
        .map(|i| (i as usize, &NO_FLAGS))
        .collect()
}

/// # Format
/// `COMMAND HELP`
pub fn command_help<S: Strategy>(core: &mut Core<S>, ck: usize, _argv: &[&[u8]]) {
    help_reply(
        core,
        ck,
        &[
            "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "(no subcommand)",
            "    Return details about all Redis commands.",
            "COUNT",
            "    Return the total number of commands in this Redis server.",
            "LIST",
            "    Return a list of all commands in this Redis server.",
            "INFO [<command-name> ...]",
            "    Return details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "DOCS [<command-name> ...]",
            "    Return documentation details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "GETKEYS <full-command>",
            "    Return the keys from a full Redis command.",
            "GETKEYSANDFLAGS <full-command>",
            "    Return the keys and the access flags from a full Redis command.",
            "HELP",
            "    Prints this help.",
        ],
    );
}

/// # Format
/// `CONFIG GET parameter [parameter ...]`
pub fn config_get<S: Strategy>(core: &mut Core<S>, ck: usize, argv: &[&[u8]]) {
    let pairs = config_get_pairs(&core.config, &argv[2..]);
    core.reply(ck, |out, p| {
        reply::map_len(out, p, pairs.len());
        for (name, value) in pairs {
            reply::bulk(out, &name);
            reply::bulk(out, value.as_bytes());
        }
    });
}

/// Redis 7.0's `configGetCommand`: a pattern without `[*?` is looked up directly and answered under the name
/// as typed; a glob answers every matching name (aliases too); a name is answered once (case-insensitively).
fn config_get_pairs(config: &crate::config::Config, patterns: &[&[u8]]) -> Vec<(Vec<u8>, String)> {
    let mut pairs: Vec<(Vec<u8>, String)> = Vec::new();
    let seen = |pairs: &[(Vec<u8>, String)], name: &[u8]| {
        pairs.iter().any(|(n, _)| n.eq_ignore_ascii_case(name))
    };
    for &pattern in patterns {
        if !pattern.iter().any(|b| matches!(b, b'[' | b'*' | b'?')) {
            let index = std::str::from_utf8(pattern)
                .ok()
                .and_then(crate::config::directive_index);
            if let Some(i) = index.filter(|_| !seen(&pairs, pattern)) {
                pairs.push((pattern.to_vec(), config.value_at(i).to_string()));
            }
            continue;
        }
        for (name, value) in config.matching(&[pattern]) {
            if !seen(&pairs, name.as_bytes()) {
                pairs.push((name.as_bytes().to_vec(), value.to_string()));
            }
        }
    }
    pairs
}

/// # Format
/// `CONFIG SET parameter value [parameter value ...]` (all or nothing)
///
/// As Redis 7.0's `configSetCommand`: first every name is checked (unknown, immutable, given twice), then
/// every value, then all are applied together.
pub fn config_set<S: Strategy>(core: &mut Core<S>, ck: usize, argv: &[&[u8]]) {
    if argv.len() % 2 != 0 {
        return core.reply_error(ck, zedis_keyspace::commands::SYNTAX);
    }
    let mut pairs: Vec<(&[u8], &[u8])> = argv[2..].chunks(2).map(|p| (p[0], p[1])).collect();
    // The first bad name, in argument order, is the one reported.
    for (i, (name, _)) in pairs.iter().enumerate() {
        let text = String::from_utf8_lossy(name);
        let Some(index) = crate::config::directive_index(&text) else {
            let mut msg = b"ERR Unknown option or number of arguments for CONFIG SET - '".to_vec();
            msg.extend_from_slice(name.split(|&b| b == 0).next().unwrap_or_default());
            msg.push(b'\'');
            return core.reply_error(ck, &msg);
        };
        let same = |(n, v): &(&[u8], &[u8])| {
            core.config
                .same_startup_value(&String::from_utf8_lossy(n), &String::from_utf8_lossy(v))
        };
        let why = if !crate::config::DIRECTIVES[index].mutable && !same(&pairs[i]) {
            "can't set immutable config"
        } else if pairs[..i].iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
            "duplicate parameter"
        } else {
            continue;
        };
        let msg = format!("ERR CONFIG SET failed (possibly related to argument '{text}') - {why}");
        return core.reply_error(ck, msg.as_bytes());
    }
    // Zedis's start-up-only directives given their own value change nothing.
    pairs.retain(|(n, v)| {
        !core
            .config
            .same_startup_value(&String::from_utf8_lossy(n), &String::from_utf8_lossy(v))
    });
    let mut next = core.config.clone();
    for &(name, value) in &pairs {
        let name = String::from_utf8_lossy(name).to_ascii_lowercase();
        let value = String::from_utf8_lossy(value).into_owned();
        if let Err(why) = next.set(&name, &value, true) {
            let msg =
                format!("ERR CONFIG SET failed (possibly related to argument '{name}') - {why}");
            return core.reply_error(ck, msg.as_bytes());
        }
    }
    // TLS: the new files and settings must build a configuration, else nothing changes (as Redis).
    if let Err(argument) = crate::server::tls::reconfigure(core, &next, &pairs) {
        let msg = format!(
            "ERR CONFIG SET failed (possibly related to argument '{argument}') - Unable to update TLS configuration. Check server logs."
        );
        return core.reply_error(ck, msg.as_bytes());
    }
    // `port` / `bind`: the new listeners must open, else nothing changes (as Redis).
    if let Err((argument, why)) = crate::server::listeners::reconfigure(core, &next) {
        let msg =
            format!("ERR CONFIG SET failed (possibly related to argument '{argument}') - {why}");
        return core.reply_error(ck, msg.as_bytes());
    }
    core.config = next;
    core.apply_config();
    core.reply(ck, |out, _| reply::ok(out));
}

/// # Format
/// `CONFIG RESETSTAT`
pub fn config_resetstat<S: Strategy>(core: &mut Core<S>, ck: usize, _argv: &[&[u8]]) {
    let changes_since_save = core.engine.stats.changes_since_save;
    core.engine.stats = Default::default();
    core.engine.stats.changes_since_save = changes_since_save;
    core.engine.ks.stats = Default::default();
    core.budget.reset_peaks();
    core.observe_reset_stats();
    core.reply(ck, |out, _| reply::ok(out));
}

/// # Format
/// `CONFIG REWRITE`
pub fn config_rewrite<S: Strategy>(core: &mut Core<S>, ck: usize, _argv: &[&[u8]]) {
    let Some(path) = core.config.file.clone() else {
        return core.reply_error(ck, b"ERR The server is running without a config file");
    };
    let mut text = core.config.render();
    // As Redis's rewriteConfigUserOption: the users as `user` lines, unless they live in an aclfile.
    if core.config.get("aclfile").is_empty() {
        for line in core.engine.access.acl.list() {
            text.push_str(&String::from_utf8_lossy(&line));
            text.push('\n');
        }
    }
    match std::fs::write(&path, text) {
        Ok(()) => core.reply(ck, |out, _| reply::ok(out)),
        Err(e) => {
            let msg = format!("ERR Rewriting config file: {e}");
            core.reply_error(ck, msg.as_bytes());
        }
    }
}

/// # Format
/// `CONFIG HELP`
pub fn config_help<S: Strategy>(core: &mut Core<S>, ck: usize, _argv: &[&[u8]]) {
    help_reply(
        core,
        ck,
        &[
            "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "GET <pattern>",
            "    Return parameters matching the glob-like <pattern> and their values.",
            "SET <directive> <value>",
            "    Set the configuration <directive> to <value>.",
            "RESETSTAT",
            "    Reset statistics reported by the INFO command.",
            "REWRITE",
            "    Rewrite the configuration file.",
            "HELP",
            "    Prints this help.",
        ],
    );
}

/// Bytes a key costs: its entry, its collection and its share of the index.
pub fn key_bytes(entry: zedis_keyspace::entry::EntryPtr) -> usize {
    let entry_bytes = entry.size().next_multiple_of(8);
    let object = match entry.payload() {
        Payload::Object(kind, object) => zedis_keyspace::value::object_bytes(kind, object),
        _ => entry.out_of_line_bytes(),
    };
    entry_bytes
        + object
        + std::mem::size_of::<usize>()
        + if entry.has_expire() {
            std::mem::size_of::<usize>()
        } else {
            0
        }
}

/// # Format
/// `MEMORY USAGE key [SAMPLES count]`
pub fn memory_usage<S: Strategy>(core: &mut Core<S>, ck: usize, argv: &[&[u8]]) {
    match argv.len() {
        3 => {}
        5 if argv[3].eq_ignore_ascii_case(b"samples") => {
            if zedis_keyspace::num::parse_i64_exact(argv[4]).is_none() {
                return core.reply_error(ck, zedis_keyspace::commands::NOT_INTEGER);
            }
        }
        _ => return core.reply_error(ck, SYNTAX),
    }
    let db = core.clients.get(ck).map_or(0, |c| c.db);
    let now = crate::server::unix_ms();
    let found = core
        .engine
        .ks
        .db(db)
        .find(argv[2])
        .filter(|e| e.expire().is_none_or(|w| w > now));
    let bytes = found.map(key_bytes);
    core.reply(ck, |out, p| match bytes {
        Some(b) => reply::integer(out, b as i64),
        None => reply::null(out, p),
    });
}
