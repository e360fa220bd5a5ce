//! redis-server-style configuration: one table of directives, read from a redis.conf-syntax file and
//! `--name value` flags, answered by CONFIG GET (glob patterns) and changed by CONFIG SET where mutable.
//!
//! Values are kept in their canonical text form (memory sizes in bytes, enums lowercased), which is what
//! CONFIG GET shows; typed accessors parse them when the server applies a change.

use zedis_keyspace::glob;

mod bounds;
mod directives;
mod hidden;

pub use directives::*;

/// A configuration problem, worded as redis-server words it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Parses Redis's memory notation as `memtoull` does: digits with an optional b/k/kb/m/mb/g/gb unit (case
/// insensitive). Like Redis, no digits means 0 (`""`, `"kb"`), a too-long number saturates (strtoull) and the
/// unit multiplication wraps; a sign or any other character is an error.
pub fn parse_memory(text: &str) -> Option<u64> {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let multiplier: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    let value = digits.bytes().fold(0u64, |acc, d| {
        acc.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    });
    Some(value.wrapping_mul(multiplier))
}

/// The current configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Canonical values, parallel to [`DIRECTIVES`].
    values: Vec<String>,
    /// The config file, if the server was started with one (CONFIG REWRITE target).
    pub file: Option<String>,
    /// `user <name> <rules...>` lines, in order (created at startup, `crate::access`).
    pub users: Vec<Vec<String>>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            values: DIRECTIVES.iter().map(|d| d.default.to_string()).collect(),
            file: None,
            users: Vec::new(),
        }
    }
}

/// The directive called `name` or one of its aliases (case-insensitive).
pub fn directive_index(name: &str) -> Option<usize> {
    let name = ALIASES
        .iter()
        .find(|(alias, _)| alias.eq_ignore_ascii_case(name))
        .map_or(name, |(_, directive)| directive);
    DIRECTIVES
        .iter()
        .position(|d| d.name.eq_ignore_ascii_case(name))
}

/// Every name CONFIG GET can match: directives, then aliases, each with its value's index.
pub fn all_names() -> impl Iterator<Item = (&'static str, usize)> {
    let directives = DIRECTIVES.iter().enumerate().map(|(i, d)| (d.name, i));
    let aliases = ALIASES
        .iter()
        .filter_map(|(alias, _)| directive_index(alias).map(|i| (*alias, i)));
    directives.chain(aliases)
}

/// Checks and normalises a value for `directive`.
fn normalise(directive: &Directive, value: &str) -> Result<String, String> {
    let bound = bounds::bound_of(directive.name);
    match directive.kind {
        Kind::Int(min, max) => match value.parse::<i64>() {
            Err(_) => Err("argument couldn't be parsed into an integer".to_string()),
            Ok(n) => {
                let checked = match bound {
                    Some(b) => b.check(n),
                    None if (min..=max).contains(&n) => Ok(n.to_string()),
                    None => Err(format!(
                        "argument must be between {min} and {max} inclusive"
                    )),
                };
                // Redis checks hz's range, then its update clamps it to 1..=500 (CONFIG GET shows that).
                if directive.name == "hz" {
                    checked.map(|_| n.clamp(1, 500).to_string())
                } else {
                    checked
                }
            }
        },
        Kind::Memory => match parse_memory(value) {
            // Redis resizes the backlog to at least 16 KiB, and CONFIG GET shows that size.
            Some(n) if directive.name == "repl-backlog-size" => bound
                .map_or(Ok(String::new()), |b| b.check(n as i64))
                .map(|_| (n as i64).max(16 * 1024).to_string()),
            Some(n) => match bound {
                Some(b) => b.check(n as i64),
                None => Ok(n.to_string()),
            },
            None => Err("argument must be a memory value".to_string()),
        },
        Kind::Bool => match value.to_ascii_lowercase().as_str() {
            "yes" => Ok("yes".to_string()),
            "no" => Ok("no".to_string()),
            _ => Err("argument must be 'yes' or 'no'".to_string()),
        },
        Kind::Enum(options) => options
            .iter()
            .find(|o| o.eq_ignore_ascii_case(value))
            .map(|o| o.to_string())
            .ok_or_else(|| {
                let shown: Vec<&str> = options
                    .iter()
                    .copied()
                    .filter(|o| !ENUM_EXTENSIONS.contains(o))
                    .collect();
                format!(
                    "argument(s) must be one of the following: {}",
                    shown.join(", ")
                )
            }),
        Kind::Str => Ok(value.to_string()),
        Kind::Special => normalise_special(directive.name, value),
    }
}

fn normalise_special(name: &str, value: &str) -> Result<String, String> {
    match name {
        "notify-keyspace-events" => zedis_pubsub::NotifyFlags::parse(value.as_bytes())
            .map(|flags| flags.to_string())
            .map_err(|e| e.to_string()),
        "client-output-buffer-limit" => {
            crate::outlimit::OutputLimits::parse(value, &Default::default())
                .map(|limits| limits.to_config_string())
                .map_err(|e| e.to_string())
        }
        "save" => {
            let words: Vec<&str> = value.split_whitespace().collect();
            if words.len() % 2 != 0 || words.iter().any(|w| w.parse::<u64>().is_err()) {
                return Err("Invalid save parameters".to_string());
            }
            Ok(words.join(" "))
        }
        "bind" => zedis_deploy::listen::parse_bind(value)
            .map(|_| value.split_whitespace().collect::<Vec<_>>().join(" "))
            .map_err(|e| deploy_why(&e)),
        "proc-title-template" => zedis_deploy::proctitle::validate(value, &Default::default())
            .map(|()| value.to_string())
            .map_err(str::to_string),
        "unixsocketperm" => zedis_deploy::unix::parse_perm(value)
            .map(|perm| format!("{perm:o}"))
            .map_err(|e| deploy_why(&e)),
        "shutdown-on-sigterm" | "shutdown-on-sigint" => {
            zedis_deploy::shutdown::ShutdownFlags::parse(value)
                .map(zedis_deploy::shutdown::ShutdownFlags::to_config_string)
                .map_err(str::to_string)
        }
        "maxmemory-clients" => match value.strip_suffix('%') {
            Some(percent) => match percent.parse::<u64>() {
                Ok(p) if p <= 100 => Ok(format!("{p}%")),
                Ok(_) => Err("percentage argument must be less or equal to 100".to_string()),
                Err(_) => Err("argument must be a memory or percent value".to_string()),
            },
            None => parse_memory(value)
                .map(|bytes| bytes.to_string())
                .ok_or_else(|| "argument must be a memory or percent value".to_string()),
        },
        "latency-tracking-info-percentiles" => {
            let words: Vec<&[u8]> = value.split_whitespace().map(str::as_bytes).collect();
            zedis_observe::stats::parse_percentiles(&words)
                .map(|p| zedis_observe::stats::format_percentiles(&p))
                .map_err(|e| e.to_string())
        }
        _ => Ok(value.to_string()),
    }
}

/// The reason part of a deployment setting error (the caller names the directive).
fn deploy_why(e: &zedis_deploy::DeployError) -> String {
    match e {
        zedis_deploy::DeployError::Setting { why, .. } => why.to_string(),
        other => other.to_string(),
    }
}

impl Config {
    /// The value of a known directive.
    pub fn get(&self, name: &str) -> &str {
        directive_index(name).map_or("", |i| &self.values[i])
    }

    /// The value at `index` in [`DIRECTIVES`].
    pub fn value_at(&self, index: usize) -> &str {
        &self.values[index]
    }

    /// An integer directive (0 if it does not parse, which the table prevents).
    pub fn int(&self, name: &str) -> i64 {
        self.get(name).parse().unwrap_or(0)
    }

    /// A yes/no directive.
    pub fn flag(&self, name: &str) -> bool {
        self.get(name) == "yes"
    }

    /// Whether CONFIG SET `name value` is a no-op Zedis accepts for an immutable directive: one of Zedis's own
    /// start-up-only directives (`hidden.rs`) given the value it has.
    pub fn same_startup_value(&self, name: &str, value: &str) -> bool {
        let Some(i) = directive_index(name) else {
            return false;
        };
        let directive = &DIRECTIVES[i];
        hidden::ZEDIS_STARTUP_ONLY.contains(&directive.name)
            && normalise(directive, value).is_ok_and(|v| v == self.values[i])
    }

    /// Sets a directive (startup or CONFIG SET); `runtime` refuses immutable ones.
    pub fn set(&mut self, name: &str, value: &str, runtime: bool) -> Result<(), String> {
        let Some(i) = directive_index(name) else {
            return Err(format!("Unknown option '{name}'"));
        };
        let directive = &DIRECTIVES[i];
        if runtime && !directive.mutable {
            return Err("can't set immutable config".to_string());
        }
        self.values[i] = normalise(directive, value)?;
        Ok(())
    }

    /// The configuration as a redis.conf file (CONFIG REWRITE): every directive that differs from its default.
    pub fn render(&self) -> String {
        let mut text = String::from("# Written by Zedis CONFIG REWRITE\n");
        for (directive, value) in DIRECTIVES.iter().zip(&self.values) {
            if value != directive.default {
                text.push_str(&format!("{} {}\n", directive.name, quote_word(value)));
            }
        }
        text
    }

    /// `(name, value)` pairs whose names match any of the glob `patterns`, each once, for CONFIG GET.
    pub fn matching<'a>(&'a self, patterns: &[&[u8]]) -> Vec<(&'static str, &'a str)> {
        all_names()
            .filter(|(name, _)| !hidden::is_hidden(name))
            .filter(|(name, _)| {
                patterns
                    .iter()
                    .any(|p| glob::matches_nocase(p, name.as_bytes()))
            })
            .map(|(name, i)| (name, self.values[i].as_str()))
            .collect()
    }

    /// The configuration from a command line: `[config-file] [--name value ...]`, as redis-server reads it
    /// (flags after the file override it; a flag's value may span several words until the next `--`).
    pub fn from_args(args: &[String]) -> Result<Config, ConfigError> {
        let mut config = Config::default();
        let mut rest = args;
        if let Some(first) = args.first() {
            if !first.starts_with("--") {
                let text = std::fs::read_to_string(first).map_err(|e| {
                    ConfigError(format!(
                        "Fatal error, can't open config file '{first}': {e}"
                    ))
                })?;
                config.load_text(&text)?;
                config.file = Some(first.clone());
                rest = &args[1..];
            }
        }
        let mut lines = String::new();
        for arg in rest {
            if let Some(name) = arg.strip_prefix("--") {
                if !lines.is_empty() {
                    lines.push('\n');
                }
                lines.push_str(name);
            } else {
                lines.push(' ');
                lines.push_str(&quote_word(arg));
            }
        }
        config.load_text(&lines)?;
        Ok(config)
    }

    /// Loads redis.conf-syntax text: `name value...` per line, `#` comments, quoted words.
    pub fn load_text(&mut self, text: &str) -> Result<(), ConfigError> {
        for (n, line) in text.lines().enumerate() {
            let trimmed = line.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let fatal = |why: &str| {
                ConfigError(format!(
                    "\n*** FATAL CONFIG FILE ERROR (Zedis {}) ***\nReading the configuration file, at line {}\n>>> '{}'\n{}",
                    env!("CARGO_PKG_VERSION"),
                    n + 1,
                    trimmed,
                    why
                ))
            };
            let words = split_words(trimmed)
                .ok_or_else(|| fatal("Unbalanced quotes in configuration line"))?;
            let (name, values) = words
                .split_first()
                .ok_or_else(|| fatal("Bad directive or wrong number of arguments"))?;
            if name.eq_ignore_ascii_case("user") && !values.is_empty() {
                self.users.push(words.clone());
                continue;
            }
            if directive_index(name).is_none() {
                return Err(fatal("Bad directive or wrong number of arguments"));
            }
            let lower = name.to_ascii_lowercase();
            let multi = matches!(
                lower.as_str(),
                "save" | "bind" | "client-output-buffer-limit" | "replicaof" | "slaveof"
            );
            if matches!(lower.as_str(), "replicaof" | "slaveof")
                && values.iter().flat_map(|v| v.split_whitespace()).count() != 2
            {
                return Err(fatal("Bad directive or wrong number of arguments"));
            }
            if values.is_empty()
                && !multi
                && name != "requirepass"
                && name != "notify-keyspace-events"
            {
                return Err(fatal("Bad directive or wrong number of arguments"));
            }
            if !multi && values.len() > 1 {
                return Err(fatal("Bad directive or wrong number of arguments"));
            }
            let value = values.join(" ");
            let value = if name.eq_ignore_ascii_case("client-output-buffer-limit") {
                // Each line gives one class; merge it into the current limits.
                let current =
                    crate::outlimit::OutputLimits::parse(self.get(name), &Default::default())
                        .unwrap_or_default();
                crate::outlimit::OutputLimits::parse(&value, &current)
                    .map_err(|e| fatal(&e.to_string()))?
                    .to_config_string()
            } else {
                value
            };
            self.set(name, &value, false).map_err(|why| fatal(&why))?;
        }
        Ok(())
    }
}

fn quote_word(word: &str) -> String {
    if !word.is_empty()
        && !word.contains(|c: char| c.is_whitespace() || c == '"' || c == '\'' || c == '\\')
    {
        return word.to_string();
    }
    let mut quoted = String::from("\"");
    for c in word.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            '\n' => quoted.push_str("\\n"),
            _ => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

/// Splits a config line into words as Redis does (`sdssplitargs`: quotes, `\xHH` and the other escapes).
fn split_words(line: &str) -> Option<Vec<String>> {
    let words = zedis_util::sds::split_args(line.as_bytes())?;
    Some(
        words
            .into_iter()
            .map(|w| String::from_utf8_lossy(&w).into_owned())
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn flags_and_units() {
        let config = Config::from_args(&args(&[
            "--port",
            "7000",
            "--maxmemory",
            "100mb",
            "--save",
            "900",
            "1",
        ]))
        .unwrap();
        assert_eq!(config.get("port"), "7000");
        assert_eq!(config.get("maxmemory"), "104857600");
        assert_eq!(config.get("save"), "900 1");
        assert_eq!(parse_memory("1gb"), Some(1 << 30));
        assert_eq!(parse_memory("1k"), Some(1000));
        assert_eq!(parse_memory("12x"), None);
        // memtoull's corners, as redis-server 7.0 answers them.
        assert_eq!(parse_memory(""), Some(0));
        assert_eq!(parse_memory("kb"), Some(0));
        assert_eq!(parse_memory("5Kb"), Some(5120));
        assert_eq!(parse_memory("99999999999999999999"), Some(u64::MAX));
        assert_eq!(
            parse_memory("99999999999999999gb"),
            Some(1685049947004600320)
        );
        assert_eq!(parse_memory("-1"), None);
        assert_eq!(parse_memory(" 5"), None);
        assert_eq!(parse_memory("1 "), None);
    }

    #[test]
    fn bad_directive_is_named() {
        let err = Config::from_args(&args(&["--nonsense", "1"])).unwrap_err();
        assert!(err.0.contains(">>> 'nonsense 1'"), "{}", err.0);
        assert!(err.0.contains("Bad directive"));
        let err = Config::from_args(&args(&["--port", "abc"])).unwrap_err();
        assert!(err.0.contains("integer"), "{}", err.0);
    }

    #[test]
    fn config_file_and_globs() {
        let mut config = Config::default();
        config
            .load_text("# comment\nport 7001\nmaxmemory-policy ALLKEYS-LRU\nrequirepass \"a b\"\n")
            .unwrap();
        assert_eq!(config.get("port"), "7001");
        assert_eq!(config.get("maxmemory-policy"), "allkeys-lru");
        assert_eq!(config.get("requirepass"), "a b");
        let names: Vec<_> = config
            .matching(&[b"maxmemory*"])
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(
            names,
            [
                "maxmemory",
                "maxmemory-policy",
                "maxmemory-samples",
                "maxmemory-eviction-tenacity",
                "maxmemory-clients"
            ]
        );
        config.set("slave-ignore-maxmemory", "no", true).unwrap();
        assert_eq!(config.get("replica-ignore-maxmemory"), "no");
        let err = config.set("maxmemory-policy", "foo", true).unwrap_err();
        assert!(err.ends_with("allkeys-random, noeviction"), "{err}");
        config
            .set("maxmemory-policy", "allkeys-flush", true)
            .unwrap();
        assert!(config.set("databases", "3", true).is_err());
    }
}
