//! `shutdown-on-sigterm` / `shutdown-on-sigint` (Redis 7.0's multi-word flags: `default`, `save`, `nosave`,
//! `now`, `force`) and the decisions `prepareForShutdown` makes from them, so the server's shutdown path
//! asks one function instead of re-deriving Redis's rules.

/// The flags of a `shutdown-on-sig*` value or of a SHUTDOWN command.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ShutdownFlags {
    /// `save`: save even without save points.
    pub save: bool,
    /// `nosave`: never save.
    pub nosave: bool,
    /// `now`: do not wait for lagging replicas.
    pub now: bool,
    /// `force`: exit even if saving or the AOF fails.
    pub force: bool,
}

/// Redis's error for a word that is not a flag.
pub const FLAG_ERROR: &str =
    "argument(s) must be one of the following: default, save, nosave, now, force";
/// Redis's error for `save` with `nosave`.
pub const SAVE_NOSAVE_ERROR: &str = "shutdown options SAVE and NOSAVE can't be used simultaneously";

impl ShutdownFlags {
    /// Parses a value as CONFIG SET does: one or more words, case-insensitive; `default` adds nothing.
    pub fn parse(value: &str) -> Result<ShutdownFlags, &'static str> {
        let mut flags = ShutdownFlags::default();
        let mut words = 0;
        for word in value.split_whitespace() {
            words += 1;
            match word.to_ascii_lowercase().as_str() {
                "default" => {}
                "save" => flags.save = true,
                "nosave" => flags.nosave = true,
                "now" => flags.now = true,
                "force" => flags.force = true,
                _ => return Err(FLAG_ERROR),
            }
        }
        if words == 0 {
            return Err(FLAG_ERROR);
        }
        if flags.save && flags.nosave {
            return Err(SAVE_NOSAVE_ERROR);
        }
        Ok(flags)
    }

    /// The value as CONFIG GET shows it (`default`, or the flags in Redis's order: `save nosave now force`).
    pub fn to_config_string(self) -> String {
        let words: Vec<&str> = [
            (self.save, "save"),
            (self.nosave, "nosave"),
            (self.now, "now"),
            (self.force, "force"),
        ]
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, name)| *name)
        .collect();
        if words.is_empty() {
            "default".to_string()
        } else {
            words.join(" ")
        }
    }

    /// Whether the shutdown writes an RDB: with save points unless `nosave`, or always with `save`.
    pub fn saves(self, save_points_configured: bool) -> bool {
        (save_points_configured && !self.nosave) || self.save
    }

    /// Whether the shutdown first waits (up to `shutdown-timeout` seconds) for lagging replicas.
    pub fn waits_for_replicas(self, shutdown_timeout_s: u64, replicas_lagging: bool) -> bool {
        !self.now && shutdown_timeout_s != 0 && replicas_lagging
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_as_redis_shows_them() {
        // Each pair checked against redis-server 7.0.15's CONFIG SET / CONFIG GET shutdown-on-sigterm.
        for (value, shown) in [
            ("default", "default"),
            ("nosave now", "nosave now"),
            ("NOW nosave", "nosave now"),
            ("save force", "save force"),
            ("default now", "now"),
            ("force force", "force"),
        ] {
            assert_eq!(
                ShutdownFlags::parse(value).unwrap().to_config_string(),
                shown
            );
        }
        assert_eq!(ShutdownFlags::parse("save nosave"), Err(SAVE_NOSAVE_ERROR));
        assert_eq!(ShutdownFlags::parse("bogus"), Err(FLAG_ERROR));
        assert_eq!(ShutdownFlags::parse(""), Err(FLAG_ERROR));
    }

    #[test]
    fn decisions() {
        let default = ShutdownFlags::default();
        assert!(default.saves(true));
        assert!(!default.saves(false));
        assert!(ShutdownFlags::parse("save").unwrap().saves(false));
        assert!(!ShutdownFlags::parse("nosave").unwrap().saves(true));
        assert!(default.waits_for_replicas(10, true));
        assert!(!default.waits_for_replicas(0, true));
        assert!(!default.waits_for_replicas(10, false));
        assert!(!ShutdownFlags::parse("now")
            .unwrap()
            .waits_for_replicas(10, true));
    }
}
