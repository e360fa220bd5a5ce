//! Describing selectors as rules (ACL LIST, ACL GETUSER, ACL SAVE): Redis recomputes the command rules
//! from the bitmap, picking categories greedily and then fixing single commands. Same algorithm, same
//! output, given the same catalog order.

use crate::catalog::{AclCommandId, CommandCatalog};
use crate::category::CATEGORIES;
use crate::selector::{Selector, FLAG_ALL_CHANNELS, FLAG_ALL_KEYS, PERM_ALL, PERM_READ};

/// Commands of `category` whose bit is set (`on`) and clear (`off`) in `selector`.
fn count_category(catalog: &CommandCatalog, selector: &Selector, category: u32) -> (usize, usize) {
    let (mut on, mut off) = (0, 0);
    let mut count = |id: AclCommandId| {
        if catalog.entry(id).categories & category != 0 {
            if selector.command_bit(id) {
                on += 1;
            } else {
                off += 1;
            }
        }
    };
    for &id in catalog.top_level() {
        count(id);
        for &sub in &catalog.entry(id).subcommands {
            count(sub);
        }
    }
    (on, off)
}

/// The command rules of `selector` (`ACLDescribeSelectorCommandRules`): `+@all`/`-@all`, then the best
/// categories, then single commands and first-args.
pub(crate) fn command_rules(catalog: &CommandCatalog, selector: &Selector) -> Vec<u8> {
    let additive = !selector.allows_future_commands();
    let mut rules = Vec::new();
    // As rules are emitted they are applied to `fake`, so the differences left are always known.
    let mut fake = Selector::new(0);
    let base: &[u8] = if additive { b"-@all" } else { b"+@all" };
    let _ = fake.apply(catalog, base);
    rules.extend_from_slice(base);
    rules.push(b' ');

    let mut temp = Selector::new(0);
    temp.allowed = selector.allowed;
    let mut applied = [false; CATEGORIES.len()];
    loop {
        let mut best = None;
        let (mut min_diff, mut max_same) = (i32::MAX as usize, 0);
        for (idx, _) in CATEGORIES.iter().enumerate() {
            if applied[idx] {
                continue;
            }
            let (on, off) = count_category(catalog, &temp, 1 << idx);
            let (diff, same) = if additive { (off, on) } else { (on, off) };
            if same > diff && (diff < min_diff || (diff == min_diff && same > max_same)) {
                best = Some(idx);
                min_diff = diff;
                max_same = same;
            }
        }
        let Some(idx) = best else { break };
        fake.change_category(catalog, 1 << idx, additive);
        temp.change_category(catalog, 1 << idx, !additive);
        rules.push(if additive { b'+' } else { b'-' });
        rules.push(b'@');
        rules.extend_from_slice(CATEGORIES[idx].as_bytes());
        rules.push(b' ');
        applied[idx] = true;
    }

    for &id in catalog.top_level() {
        single_command_rules(catalog, selector, &mut fake, id, &mut rules);
    }
    rules.pop();
    debug_assert_eq!(
        fake.allowed, selector.allowed,
        "described rules must rebuild the bitmap"
    );
    rules
}

fn single_command_rules(
    catalog: &CommandCatalog,
    selector: &Selector,
    fake: &mut Selector,
    id: AclCommandId,
    rules: &mut Vec<u8>,
) {
    let entry = catalog.entry(id);
    let user_bit = selector.command_bit(id);
    if user_bit != fake.command_bit(id) {
        rules.push(if user_bit { b'+' } else { b'-' });
        rules.extend_from_slice(entry.name.as_bytes());
        rules.push(b' ');
        fake.change_command(catalog, id, user_bit);
    }
    for &sub in &entry.subcommands {
        single_command_rules(catalog, selector, fake, sub, rules);
    }
    if !user_bit {
        for arg in selector.first_args_of(id) {
            rules.push(b'+');
            rules.extend_from_slice(entry.name.as_bytes());
            rules.push(b'|');
            rules.extend_from_slice(arg);
            rules.push(b' ');
        }
    }
}

/// One key pattern as a rule: `~p`, `%R~p`, `%W~p`.
pub(crate) fn key_pattern_rule(out: &mut Vec<u8>, pattern: &[u8], flags: u8) {
    out.extend_from_slice(match flags {
        PERM_ALL => b"~".as_slice(),
        PERM_READ => b"%R~",
        _ => b"%W~",
    });
    out.extend_from_slice(pattern);
}

/// The whole selector as rules (`ACLDescribeSelector`): keys, channels, commands.
pub(crate) fn selector_rules(catalog: &CommandCatalog, selector: &Selector) -> Vec<u8> {
    let mut out = Vec::new();
    if selector.flags & FLAG_ALL_KEYS != 0 {
        out.extend_from_slice(b"~* ");
    } else {
        for pattern in &selector.patterns {
            key_pattern_rule(&mut out, &pattern.pattern, pattern.flags);
            out.push(b' ');
        }
    }
    if selector.flags & FLAG_ALL_CHANNELS != 0 {
        out.extend_from_slice(b"&* ");
    } else {
        out.extend_from_slice(b"resetchannels ");
        for channel in &selector.channels {
            out.push(b'&');
            out.extend_from_slice(channel);
            out.push(b' ');
        }
    }
    out.extend_from_slice(&command_rules(catalog, selector));
    out
}

/// ACL GETUSER's `keys` field: `~*`, or the patterns joined by spaces.
pub(crate) fn keys_field(selector: &Selector) -> Vec<u8> {
    if selector.flags & FLAG_ALL_KEYS != 0 {
        return b"~*".to_vec();
    }
    let mut out = Vec::new();
    for (idx, pattern) in selector.patterns.iter().enumerate() {
        if idx > 0 {
            out.push(b' ');
        }
        key_pattern_rule(&mut out, &pattern.pattern, pattern.flags);
    }
    out
}

/// ACL GETUSER's `channels` field: `&*`, or `&pattern`s joined by spaces.
pub(crate) fn channels_field(selector: &Selector) -> Vec<u8> {
    if selector.flags & FLAG_ALL_CHANNELS != 0 {
        return b"&*".to_vec();
    }
    let mut out = Vec::new();
    for (idx, channel) in selector.channels.iter().enumerate() {
        if idx > 0 {
            out.push(b' ');
        }
        out.push(b'&');
        out.extend_from_slice(channel);
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::catalog::test_catalog;
    use crate::Acl;
    use proptest::prelude::*;

    fn rule() -> impl Strategy<Value = String> {
        let words = [
            "+get",
            "-get",
            "+set",
            "-set",
            "+config",
            "-config",
            "+config|get",
            "-config|set",
            "+select|0",
            "+select|9",
            "+@read",
            "-@read",
            "+@write",
            "-@slow",
            "+@fast",
            "-@dangerous",
            "+@all",
            "-@all",
            "~a*",
            "%R~r",
            "%W~w",
            "&ch",
            "allkeys",
            "resetkeys",
            "allchannels",
            "resetchannels",
            "on",
            "off",
            ">pw",
            "nopass",
            "reset",
            "(+get ~s)",
            "(-@all +lpush %W~q)",
            "clearselectors",
        ];
        prop::sample::select(words.to_vec()).prop_map(str::to_string)
    }

    proptest! {
        /// Applying a user's description to a fresh user rebuilds the same user (the describer's promise).
        #[test]
        fn description_rebuilds_the_user(rules in prop::collection::vec(rule(), 0..12)) {
            let mut acl = Acl::new(test_catalog(), false);
            let rules: Vec<&[u8]> = rules.iter().map(|r| r.as_bytes()).collect();
            prop_assume!(acl.set_user(b"a", &rules).is_ok());
            let line = acl.list().into_iter().find(|l| l.starts_with(b"user a ")).unwrap();
            let description = &line[b"user a ".len()..];
            let args: Vec<&[u8]> = description.split(|&b| b == b' ').collect();
            acl.set_user(b"b", &args).unwrap();
            let a = acl.user(acl.user_id(b"a").unwrap()).unwrap().clone();
            let b = acl.user(acl.user_id(b"b").unwrap()).unwrap();
            // First-args of an allowed command are hidden state, and so is the all-commands shortcut flag
            // once a bit was cleared and set again (Redis keeps both too): compare the rest.
            for (x, y) in a.selectors.iter().zip(&b.selectors) {
                let flags = |s: &crate::selector::Selector| s.flags & !crate::selector::FLAG_ALL_COMMANDS;
                prop_assert_eq!((flags(x), x.allowed, &x.patterns, &x.channels), (flags(y), y.allowed, &y.patterns, &y.channels));
            }
            prop_assert_eq!(a.selectors.len(), b.selectors.len());
            prop_assert_eq!(a.describe(acl.catalog()), b.describe(acl.catalog()));
        }

        /// Arbitrary bytes as rules and user names never panic, and a refused SETUSER changes nothing.
        #[test]
        fn arbitrary_rules_never_panic(
            name in prop::collection::vec(any::<u8>(), 0..8),
            rules in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..12), 0..6),
        ) {
            let mut acl = Acl::new(test_catalog(), false);
            let before = acl.list();
            let rules: Vec<&[u8]> = rules.iter().map(Vec::as_slice).collect();
            if acl.set_user(&name, &rules).is_err() {
                prop_assert_eq!(acl.list(), before);
            }
            let _ = acl.list();
            prop_assert!(acl.bytes() > 0);
        }
    }
}
