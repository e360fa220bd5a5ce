//! ACL SETUSER / GETUSER / DELUSER / LIST / USERS / WHOAMI / CAT / DRYRUN / GENPASS / LOG / SAVE / LOAD / HELP
//! over the engine in `crate::access`, and the users of the config file and `aclfile` at startup.
//! Replies and errors are Redis 7.0.15's.

use crate::server::Core;
use crate::Strategy;
use zedis_acl::{genpass as acl_genpass, AclError, ConfigUsers, SelectorInfo};
use zedis_client_pool::ClientSlots;
use zedis_resp::{reply, Protocol};

const HELP: &[&str] = &[
    "ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CAT [<category>]",
    "    List all commands that belong to <category>, or all command categories",
    "    when no category is specified.",
    "DELUSER <username> [<username> ...]",
    "    Delete a list of users.",
    "DRYRUN <username> <command> [<arg> ...]",
    "    Returns whether the user can execute the given command without executing the command.",
    "GETUSER <username>",
    "    Get the user's details.",
    "GENPASS [<bits>]",
    "    Generate a secure 256-bit user password. The optional `bits` argument can",
    "    be used to specify a different size.",
    "LIST",
    "    Show users details in config file format.",
    "LOAD",
    "    Reload users from the ACL file.",
    "LOG [<count> | RESET]",
    "    Show the ACL log entries.",
    "SAVE",
    "    Save the current config to the ACL file.",
    "SETUSER <username> <attribute> [<attribute> ...]",
    "    Create or modify a user with the specified attributes.",
    "USERS",
    "    List all the registered usernames.",
    "WHOAMI",
    "    Return the current connection username.",
    "HELP",
    "    Print this help.",
];

/// Redis's error when ACL SAVE / LOAD run without `aclfile`.
const NO_ACLFILE: &[u8] = b"ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.";

fn error_reply<S: Strategy>(core: &mut Core<S>, ck: usize, error: &AclError) {
    let mut text = b"ERR ".to_vec();
    text.extend_from_slice(&error.to_bytes());
    core.reply_error(ck, &text);
}

/// # Format
/// `ACL SETUSER username [rule [rule ...]]`
pub fn setuser<S: Strategy>(core: &mut Core<S>, ck: usize, argv: &[&[u8]]) {
    let outcome = core.engine.access.acl.set_user(argv[2], &argv[3..]);
    core.access_recharge();
    match outcome {
        Ok(outcome) => {
            if outcome.recheck_subscriptions {
                core.disconnect_revoked_subscribers(outcome.id, ck);
            }
            crate::auth::open_if_default_open(core);
            core.reply(ck, |out, _| reply::ok(out));
        }
        Err(error) => error_reply(core, ck, &error),
    }
}

/// # Format
/// `ACL DELUSER username [username ...]`
pub fn deluser<S: Strategy>(core: &mut Core<S>, ck: usize, argv: &[&[u8]]) {
    match core.engine.access.acl.delete_users(&argv[2..]) {
        Ok(removed) => {
            core.access_recharge();
            core.disconnect_users(&removed, ck);
            core.reply(ck, |out, _| reply::integer(out, removed.len() as i64));
        }
        Err(error) => error_reply(core, ck, &error),
    }
}

fn write_selector(out: &mut Vec<u8>, info: &SelectorInfo) {
    for (name, value) in [
        ("commands", &info.commands),
        ("keys", &info.keys),
        ("channels", &info.channels),
    ] {
        reply::bulk(out, name.as_bytes());
        reply::bulk(out, value);
    }
}

/// # Format
/// `ACL GETUSER username`
pub fn getuser<S: Strategy>(core: &mut Core<S>, ck: usize, argv: &[&[u8]]) {
    let info = core.engine.access.acl.get_user(argv[2]);
    core.reply(ck, |out, p| {
        let Some(info) = info else {
            return reply::null(out, p);
        };
        reply::map_len(out, p, 6);
        reply::bulk(out, b"flags");
        reply::set_len(out, p, info.flags.len());
        for flag in &info.flags {
            reply::bulk(out, flag.as_bytes());
        }
        reply::bulk(out, b"passwords");
        reply::array_len(out, info.passwords.len());
        for password in &info.passwords {
            reply::bulk(out, password);
        }
        write_selector(out, &info.root);
        reply::bulk(out, b"selectors");
        reply::array_len(out, info.selectors.len());
        for selector in &info.selectors {
            reply::map_len(out, p, 3);
            write_selector(out, selector);
        }
    });
}

/// # Format
/// `ACL LIST`
pub fn list<S: Strategy>(core: &mut Core<S>, ck: usize, _argv: &[&[u8]]) {
    let lines = core.engine.access.acl.list();
    core.reply(ck, |out, _| {
        reply::array_len(out, lines.len());
        lines.iter().for_each(|line| reply::bulk(out, line));
    });
}

/// # Format
/// `ACL USERS`
pub fn users<S: Strategy>(core: &mut Core<S>, ck: usize, _argv: &[&[u8]]) {
    let names: Vec<Vec<u8>> = core
        .engine
        .access
        .acl
        .usernames()
        .into_iter()
        .map(<[u8]>::to_vec)
        .collect();
    core.reply(ck, |out, _| {
        reply::array_len(out, names.len());
        names.iter().for_each(|name| reply::bulk(out, name));
    });
}

/// # Format
/// `ACL WHOAMI`
pub fn whoami<S: Strategy>(core: &mut Core<S>, ck: usize, _argv: &[&[u8]]) {
    let user = core.clients.get(ck).and_then(|c| c.user);
    let name = core.user_name(user);
    core.reply(ck, |out, _| reply::bulk(out, &name));
}

/// # Format
/// `ACL CAT [category]`
pub fn cat<S: Strategy>(core: &mut Core<S>, ck: usize, argv: &[&[u8]]) {
    let acl = &core.engine.access.acl;
    let names: Result<Vec<String>, AclError> = match argv.get(2) {
        None if argv.len() == 2 => Ok(acl.categories().iter().map(|c| c.to_string()).collect()),
        Some(category) if argv.len() == 3 => acl
            .category_commands(category)
            .map(|names| names.into_iter().map(str::to_string).collect()),
        _ => return subcommand_syntax(core, ck, argv),
    };
    match names {
        Ok(names) => core.reply(ck, |out, _| {
            reply::array_len(out, names.len());
            names.iter().for_each(|n| reply::bulk(out, n.as_bytes()));
        }),
        Err(error) => error_reply(core, ck, &error),
    }
}

/// # Format
/// `ACL DRYRUN username command [arg ...]`
pub fn dryrun<S: Strategy>(core: &mut Core<S>, ck: usize, argv: &[&[u8]]) {
    let Some(user) = core.engine.access.acl.user_id(argv[2]) else {
        return error_reply(core, ck, &AclError::NoSuchUser(argv[2].to_vec()));
    };
    let call = &argv[3..];
    let cmd = match crate::dispatch::resolve(core.table, call) {
        Ok(cmd) => cmd,
        Err(crate::dispatch::Rejection::Arity(cmd)) => {
            let msg = format!("ERR wrong number of arguments for '{}' command", cmd.name);
            return core.reply_error(ck, msg.as_bytes());
        }
        Err(_) => {
            let mut msg = b"ERR Command '".to_vec();
            msg.extend_from_slice(call[0]);
            msg.extend_from_slice(b"' not found");
            return core.reply_error(ck, &msg);
        }
    };
    match core.engine.access.check(user, cmd, call) {
        Ok(()) => core.reply(ck, |out, _| reply::ok(out)),
        Err(denial) => {
            let text = denial.dryrun_message();
            core.reply(ck, |out, _| reply::bulk(out, &text));
        }
    }
}

/// # Format
/// `ACL GENPASS [bits]`
pub fn genpass<S: Strategy>(core: &mut Core<S>, ck: usize, argv: &[&[u8]]) {
    if argv.len() > 3 {
        return subcommand_syntax(core, ck, argv);
    }
    let bits = match argv.get(2) {
        None => 256,
        Some(arg) => match zedis_keyspace::num::parse_i64_exact(arg) {
            Some(bits) => bits,
            None => return core.reply_error(ck, zedis_keyspace::commands::NOT_INTEGER),
        },
    };
    match acl_genpass(bits) {
        Ok(password) => core.reply(ck, |out, _| reply::bulk(out, password.as_bytes())),
        Err(error) => error_reply(core, ck, &error),
    }
}

/// # Format
/// `ACL LOG [count | RESET]`
pub fn log<S: Strategy>(core: &mut Core<S>, ck: usize, argv: &[&[u8]]) {
    if argv.len() > 3 {
        return subcommand_syntax(core, ck, argv);
    }
    let mut count = 10;
    if let Some(arg) = argv.get(2) {
        if arg.eq_ignore_ascii_case(b"reset") {
            core.engine.access.log.reset();
            core.access_recharge();
            return core.reply(ck, |out, _| reply::ok(out));
        }
        match zedis_keyspace::num::parse_i64_exact(arg) {
            Some(n) => count = n,
            None => return core.reply_error(ck, zedis_keyspace::commands::NOT_INTEGER),
        }
    }
    let now_ms = crate::server::unix_ms() as u64;
    let Some(client) = core.clients.get_mut(ck) else {
        return;
    };
    let (out, p) = (client.out.vec_mut(), client.proto);
    let entries: Vec<_> = core.engine.access.log.newest(count).collect();
    reply::array_len(out, entries.len());
    for entry in entries {
        write_log_entry(out, p, entry, now_ms);
    }
    client.out.recharge();
}

fn write_log_entry(out: &mut Vec<u8>, p: Protocol, entry: &zedis_acl::LogEntry, now_ms: u64) {
    reply::map_len(out, p, 7);
    reply::bulk(out, b"count");
    reply::integer(out, entry.count as i64);
    reply::bulk(out, b"reason");
    reply::bulk(out, entry.reason.name().as_bytes());
    reply::bulk(out, b"context");
    reply::bulk(out, entry.context.name().as_bytes());
    reply::bulk(out, b"object");
    reply::bulk(out, &entry.object);
    reply::bulk(out, b"username");
    reply::bulk(out, &entry.username);
    reply::bulk(out, b"age-seconds");
    reply::double(out, p, entry.age_seconds(now_ms));
    reply::bulk(out, b"client-info");
    let info = entry
        .client_info
        .strip_suffix(b"\n")
        .unwrap_or(&entry.client_info);
    reply::bulk(out, info);
}

/// # Format
/// `ACL SAVE`
pub fn save<S: Strategy>(core: &mut Core<S>, ck: usize, _argv: &[&[u8]]) {
    let file = core.config.get("aclfile").to_string();
    if file.is_empty() {
        return core.reply_error(ck, NO_ACLFILE);
    }
    let text = core.engine.access.acl.save_text();
    let tmp = format!(
        "{file}.tmp-{}-{}",
        std::process::id(),
        crate::server::unix_ms()
    );
    let written = std::fs::write(&tmp, &text).and_then(|()| std::fs::rename(&tmp, &file));
    match written {
        Ok(()) => core.reply(ck, |out, _| reply::ok(out)),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            zedis_deploy::warning!("Writing ACL file for ACL SAVE: {e}");
            core.reply_error(ck, b"ERR There was an error trying to save the ACLs. Please check the server logs for more information");
        }
    }
}

/// # Format
/// `ACL LOAD`
pub fn load<S: Strategy>(core: &mut Core<S>, ck: usize, _argv: &[&[u8]]) {
    let file = core.config.get("aclfile").to_string();
    if file.is_empty() {
        return core.reply_error(ck, NO_ACLFILE);
    }
    match load_file(core, &file) {
        Ok(replaced) => {
            core.disconnect_users(&replaced, ck);
            crate::auth::open_if_default_open(core);
            core.reply(ck, |out, _| reply::ok(out));
        }
        Err(text) => {
            let msg = format!("ERR {text}");
            core.reply_error(ck, msg.as_bytes());
        }
    }
}

/// Reads and applies the aclfile; the error is Redis's text.
fn load_file<S: Strategy>(
    core: &mut Core<S>,
    file: &str,
) -> Result<Vec<zedis_acl::UserId>, String> {
    let content = std::fs::read(file).map_err(|e| {
        format!(
            "Error loading ACLs, opening file '{file}': {}",
            strerror(&e)
        )
    })?;
    let result = core.engine.access.acl.load_text(file, &content);
    core.access_recharge();
    result.map_err(|e| String::from_utf8_lossy(&e.to_bytes()).into_owned())
}

/// C's `strerror` text of an I/O error (Rust adds " (os error N)").
fn strerror(error: &std::io::Error) -> String {
    let text = error.to_string();
    match text.find(" (os error") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

/// # Format
/// `ACL HELP`
pub fn help<S: Strategy>(core: &mut Core<S>, ck: usize, _argv: &[&[u8]]) {
    crate::clients::help_reply(core, ck, HELP);
}

fn subcommand_syntax<S: Strategy>(core: &mut Core<S>, ck: usize, argv: &[&[u8]]) {
    let msg = format!(
        "ERR unknown subcommand or wrong number of arguments for '{}'. Try ACL HELP.",
        String::from_utf8_lossy(argv[1])
    );
    core.reply_error(ck, msg.as_bytes());
}

impl<S: Strategy> Core<S> {
    /// Creates the users of the config file's `user` lines, or loads `aclfile` (Redis refuses both at once),
    /// before clients are served. Any error stops startup, as in Redis.
    pub fn acl_startup(&mut self) -> anyhow::Result<()> {
        self.acl_apply_config();
        let mut users = ConfigUsers::new();
        for words in &self.config.users {
            let argv: Vec<&[u8]> = words.iter().map(|w| w.as_bytes()).collect();
            users
                .add(&self.engine.access.acl, &argv)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
        }
        let file = self.config.get("aclfile").to_string();
        if !file.is_empty() && !users.is_empty() {
            anyhow::bail!("Configuring Redis with users defined in redis.conf and at the same setting an ACL file path is invalid. This setup is very likely to lead to configuration errors and security holes, please define either an ACL file or declare users directly in your redis.conf, but not both.");
        }
        users
            .apply(&mut self.engine.access.acl)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        if !file.is_empty() {
            load_file(self, &file).map_err(|e| {
                anyhow::anyhow!("Aborting Redis startup because of ACL errors: {e}")
            })?;
        }
        self.access_recharge();
        Ok(())
    }

    /// Applies `acllog-max-len` and `acl-pubsub-default` (startup, CONFIG SET).
    pub fn acl_apply_config(&mut self) {
        let len_max = self.config.int("acllog-max-len").max(0) as usize;
        self.engine.access.log.set_len_max(len_max);
        let all = self.config.get("acl-pubsub-default") == "allchannels";
        self.engine.access.acl.set_pubsub_default(all);
    }
}
