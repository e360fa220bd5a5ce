//! `user <name> <rules>...` directives in the server's config file (Redis's `ACLAppendUserForLoading`
//! at parse time, `ACLLoadConfiguredUsers` once the server is set up).

use crate::error::{AclError, RuleErrorKind};
use crate::selector::has_spaces;
use crate::split::merge_selector_args;
use crate::store::Acl;
use crate::user::User;

/// Users declared in the config file, validated and waiting to be created. Invariant: names unique.
#[derive(Debug, Default, Clone)]
pub struct ConfigUsers {
    /// Per user: the name, then its merged rules.
    pending: Vec<(Vec<u8>, Vec<Vec<u8>>)>,
}

impl ConfigUsers {
    /// No users.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether no user was declared (Redis refuses `aclfile` together with config users).
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// Validates one `user` directive (`argv[0]` is `user`) and queues it. Unknown commands are accepted
    /// here (Redis checks them at [`ConfigUsers::apply`]). The error is the config loader's text, naming
    /// the argument as Redis does (`Error in user declaration '<arg>': <reason>`).
    pub fn add(&mut self, acl: &Acl, argv: &[&[u8]]) -> Result<(), AclError> {
        let declaration = |arg: &[u8], reason: &str| {
            AclError::Config(format!(
                "Error in user declaration '{}': {reason}",
                String::from_utf8_lossy(arg)
            ))
        };
        if argv.len() < 2 || !argv[0].eq_ignore_ascii_case(b"user") {
            return Err(declaration(
                argv.first().copied().unwrap_or_default(),
                RuleErrorKind::Syntax.message(),
            ));
        }
        if self.pending.iter().any(|(name, _)| name == argv[1]) {
            return Err(declaration(
                argv[1],
                "Duplicate user found. A user can only be defined once in config files",
            ));
        }
        let merged = merge_selector_args(&argv[2..]).map_err(|(error, _)| error)?;
        let mut scratch = User::new(argv[1], acl.pubsub_all);
        for (idx, op) in merged.iter().enumerate() {
            match scratch.apply(&acl.catalog, op, acl.pubsub_all) {
                Ok(()) | Err(RuleErrorKind::UnknownCommand) => {}
                // Redis names `argv[idx]` (the index among the rules, applied to the whole line).
                Err(kind) => {
                    return Err(declaration(
                        argv.get(idx).copied().unwrap_or_default(),
                        kind.message(),
                    ))
                }
            }
        }
        self.pending.push((argv[1].to_vec(), merged));
        Ok(())
    }

    /// Creates the queued users (the `default` user is reset first when declared). On error the server
    /// must refuse to start, as Redis does.
    pub fn apply(&self, acl: &mut Acl) -> Result<(), AclError> {
        for (name, rules) in &self.pending {
            if has_spaces(name) {
                return Err(AclError::Config(
                    "Spaces not allowed in ACL usernames".to_string(),
                ));
            }
            let mut all: Vec<&[u8]> = Vec::with_capacity(rules.len() + 1);
            if name == b"default" {
                all.push(b"reset");
            }
            all.extend(rules.iter().map(Vec::as_slice));
            acl.set_user(name, &all).map_err(|error| match error {
                AclError::Rule { modifier, kind } => AclError::Config(format!(
                    "Error loading ACL rule '{}' for the user named '{}': {}",
                    String::from_utf8_lossy(&modifier),
                    String::from_utf8_lossy(name),
                    kind.message()
                )),
                other => other,
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::CommandCatalog;

    #[test]
    fn config_users_are_validated_then_created() {
        let mut catalog = CommandCatalog::new();
        catalog.add_command("get", 2, false).unwrap();
        let mut acl = Acl::new(catalog, false);
        let mut users = ConfigUsers::new();
        users
            .add(&acl, &[b"user", b"app", b"on", b">pw", b"+get", b"+nosuch"])
            .unwrap();
        let dup = users.add(&acl, &[b"user", b"app", b"on"]).unwrap_err();
        assert_eq!(
            dup.to_string(),
            "Error in user declaration 'app': Duplicate user found. A user can only be defined once in config files"
        );
        let bad = users.add(&acl, &[b"user", b"bob", b"bogus"]).unwrap_err();
        assert_eq!(
            bad.to_string(),
            "Error in user declaration 'user': Syntax error"
        );
        users
            .add(&acl, &[b"user", b"default", b"on", b">x", b"~*", b"+@all"])
            .unwrap();
        let err = users.apply(&mut acl).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Error loading ACL rule '+nosuch' for the user named 'app': Unknown command or category name in ACL"
        );
        let mut users = ConfigUsers::new();
        users
            .add(&acl, &[b"user", b"default", b"on", b">x", b"~*", b"+@all"])
            .unwrap();
        users.apply(&mut acl).unwrap();
        assert_eq!(
            String::from_utf8(acl.list()[0].clone()).unwrap(),
            "user default on sanitize-payload #2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881 \
             ~* resetchannels +@all"
        );
    }
}
