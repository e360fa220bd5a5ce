//! The ACL file (`aclfile`): ACL SAVE writes one `user <name> <rules>` line per user; ACL LOAD (and
//! startup) reads it back all-or-nothing, with Redis's error texts naming file and line.

use crate::error::{AclError, RuleErrorKind};
use crate::selector::has_spaces;
use crate::split::merge_selector_args;
use crate::store::{Acl, UserId};
use crate::user::User;

fn trim(bytes: &[u8], set: &[u8]) -> Vec<u8> {
    let start = bytes
        .iter()
        .position(|b| !set.contains(b))
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !set.contains(b))
        .map_or(start, |e| e + 1);
    bytes[start..end.max(start)].to_vec()
}

impl Acl {
    /// ACL SAVE's file content.
    pub fn save_text(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for line in self.list() {
            out.extend_from_slice(&line);
            out.push(b'\n');
        }
        out
    }

    /// ACL LOAD: replaces every user by the users of `content` (the file named `filename`, as configured,
    /// for the messages). On any error nothing changes and the error lists every problem as Redis does.
    /// On success returns the handles that no longer exist (the server closes their clients); the
    /// `default` user keeps its handle, and gets its creation rules when the file does not name it.
    pub fn load_text(&mut self, filename: &str, content: &[u8]) -> Result<Vec<UserId>, AclError> {
        let mut errors = String::new();
        let mut users: Vec<User> = Vec::new();
        for (idx, raw) in content.split(|&b| b == b'\n').enumerate() {
            let line_number = idx + 1;
            let line = trim(raw, b" \t\r\n");
            if line.is_empty() {
                continue;
            }
            let argv: Vec<&[u8]> = line.split(|&b| b == b' ').collect();
            if argv[0] != b"user" || argv.len() < 2 {
                errors.push_str(&format!(
                    "{filename}:{line_number} should start with user keyword followed by the username. "
                ));
                continue;
            }
            let name = argv[1];
            if has_spaces(name) {
                errors.push_str(&format!(
                    "'{filename}:{line_number}: username '{}' contains invalid characters. ",
                    String::from_utf8_lossy(name)
                ));
                continue;
            }
            if users.iter().any(|u| u.name == name) {
                errors.push_str(&format!(
                    "WARNING: Duplicate user '{}' found on line {line_number}. ",
                    String::from_utf8_lossy(name)
                ));
                continue;
            }
            let mut user = User::new(name, self.pubsub_all);
            let Ok(merged) = merge_selector_args(&argv[2..]) else {
                errors.push_str(&format!(
                    "{filename}:{line_number}: Unmatched parenthesis in selector definition."
                ));
                continue;
            };
            let mut syntax_error = false;
            for op in &merged {
                let op = trim(op, b"\t\r\n");
                let Err(kind) = user.apply(&self.catalog, &op, self.pubsub_all) else {
                    continue;
                };
                if kind == RuleErrorKind::UnknownCommand {
                    errors.push_str(&format!(
                        "{filename}:{line_number}: Error in applying operation '{}': {}. ",
                        String::from_utf8_lossy(&op),
                        kind.message()
                    ));
                } else if !syntax_error {
                    errors.push_str(&format!("{filename}:{line_number}: {}. ", kind.message()));
                    syntax_error = true;
                }
            }
            users.push(user);
        }
        if !errors.is_empty() {
            errors.push_str("WARNING: ACL errors detected, no change to the previously active ACL rules was performed");
            return Err(AclError::Load(errors));
        }
        if !users.iter().any(|u| u.name == b"default") {
            users.push(self.default_user_rules(b"default"));
        }
        Ok(self.replace_all(users))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::CommandCatalog;

    fn acl() -> Acl {
        let mut catalog = CommandCatalog::new();
        catalog.add_command("get", 2 | (1 << 7), false).unwrap();
        catalog.add_command("set", 4 | (1 << 7), false).unwrap();
        Acl::new(catalog, false)
    }

    #[test]
    fn save_then_load_round_trips() {
        let mut acl = acl();
        acl.set_user(b"alice", &[b"on", b">pw", b"~a*", b"+get"])
            .unwrap();
        let text = acl.save_text();
        let alice = acl.user_id(b"alice").unwrap();
        let mut other = self::acl();
        let gone = other.load_text("users.acl", &text).unwrap();
        assert!(gone.is_empty());
        assert_eq!(other.save_text(), text);
        let gone = acl
            .load_text("users.acl", b"user default on nopass ~* &* +@all\n")
            .unwrap();
        assert_eq!(gone, vec![alice]);
        assert!(acl.user(alice).is_none());
    }

    #[test]
    fn errors_name_lines_and_change_nothing() {
        let mut acl = acl();
        let before = acl.save_text();
        let err = acl
            .load_text(
                "users.acl",
                b"\nuser a on +nosuch\nfoo\nuser b ~a b\nuser a on\n  \nuser c (on\n",
            )
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "users.acl:2: Error in applying operation '+nosuch': Unknown command or category name in ACL. \
             users.acl:3 should start with user keyword followed by the username. \
             users.acl:4: Syntax error. WARNING: Duplicate user 'a' found on line 5. \
             users.acl:7: Unmatched parenthesis in selector definition.\
             WARNING: ACL errors detected, no change to the previously active ACL rules was performed"
        );
        assert_eq!(acl.save_text(), before);
    }
}
