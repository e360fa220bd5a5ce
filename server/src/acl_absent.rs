//! Redis 7.0.15 commands Zedis does not run (cluster mode, DEBUG, MODULE, MIGRATE...), with their ACL
//! categories: ACL rules may still name them (`+debug`, `-cluster|addslots`, `+readonly`) and ACL LIST / CAT
//! describe them as Redis does. Generated from a redis-server 7.0.15's COMMAND INFO; a subcommand's parent
//! comes first (here or in the command table).

/// `(full name, ACL categories, no_auth)`.
pub const ABSENT_COMMANDS: &[(&str, &str, bool)] = &[
    ("bgsave", "@admin @slow @dangerous", false),
    (
        "client|unblock",
        "@admin @slow @dangerous @connection",
        false,
    ),
    ("lastsave", "@admin @fast @dangerous", false),
    ("module", "@slow", false),
    ("module|help", "@slow", false),
    ("module|list", "@admin @slow @dangerous", false),
    ("module|load", "@admin @slow @dangerous", false),
    ("module|loadex", "@admin @slow @dangerous", false),
    ("module|unload", "@admin @slow @dangerous", false),
    ("script|debug", "@slow @scripting", false),
];
