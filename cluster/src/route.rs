//! Where a command's keys are served (`getNodeByQuery`) and the redirection error to send
//! (`clusterRedirectClient`): -MOVED, -ASK, -CROSSSLOT, -TRYAGAIN, -CLUSTERDOWN. The server calls
//! [`ClusterState::route`] before dispatch with the keys its command table finds (for EXEC: the keys of
//! every queued command) and a way to test whether a key exists in db 0.

use crate::slot::key_hash_slot;
use crate::state::ClusterState;

/// A command as the router sees it.
#[derive(Debug, Clone, Default)]
pub struct RouteQuery<'a> {
    /// The keys, in order (for EXEC, those of every queued command).
    pub keys: Vec<&'a [u8]>,
    /// The command (or a queued command of EXEC) writes.
    pub is_write: bool,
    /// The client sent ASKING (one-shot) or the command has Redis's `asking` flag (RESTORE-ASKING).
    pub asking: bool,
    /// The client sent READONLY.
    pub readonly_client: bool,
    /// SSUBSCRIBE, SUNSUBSCRIBE or SPUBLISH.
    pub pubsub_shard: bool,
    /// MIGRATE (served locally while a slot migrates).
    pub is_migrate: bool,
    /// `cluster-allow-reads-when-down`.
    pub allow_reads_when_down: bool,
    /// `cluster-allow-pubsubshard-when-down` (Redis's default: yes).
    pub allow_pubsubshard_when_down: bool,
}

/// The router's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// Run it here.
    Local,
    /// `-MOVED <slot> <ip>:<port>`.
    Moved {
        /// The slot.
        slot: u16,
        /// The owner's address.
        ip: String,
        /// The owner's client port.
        port: u16,
    },
    /// `-ASK <slot> <ip>:<port>`.
    Ask {
        /// The slot.
        slot: u16,
        /// The migration target's address.
        ip: String,
        /// Its client port.
        port: u16,
    },
    /// `-CROSSSLOT`.
    CrossSlot,
    /// `-TRYAGAIN`.
    TryAgain,
    /// `-CLUSTERDOWN The cluster is down`.
    Down,
    /// `-CLUSTERDOWN ... only accepts read commands`.
    DownReadOnly,
    /// `-CLUSTERDOWN Hash slot not served`.
    Unbound,
}

impl Route {
    /// The error reply line without the leading `-` (None for [`Route::Local`]).
    pub fn error_text(&self) -> Option<String> {
        Some(match self {
            Route::Local => return None,
            Route::Moved { slot, ip, port } => format!("MOVED {slot} {ip}:{port}"),
            Route::Ask { slot, ip, port } => format!("ASK {slot} {ip}:{port}"),
            Route::CrossSlot => "CROSSSLOT Keys in request don't hash to the same slot".to_string(),
            Route::TryAgain => {
                "TRYAGAIN Multiple keys request during rehashing of slot".to_string()
            }
            Route::Down => "CLUSTERDOWN The cluster is down".to_string(),
            Route::DownReadOnly => {
                "CLUSTERDOWN The cluster is down and only accepts read commands".to_string()
            }
            Route::Unbound => "CLUSTERDOWN Hash slot not served".to_string(),
        })
    }
}

impl ClusterState {
    /// `getNodeByQuery`: where `q` runs. `key_exists` is asked only while the slot is migrating or
    /// importing (as Redis looks keys up only then).
    pub fn route(&self, q: &RouteQuery<'_>, key_exists: impl FnMut(&[u8]) -> bool) -> Route {
        self.route_keys(&q.keys, q, key_exists)
    }

    /// [`ClusterState::route`] with the keys apart (`q.keys` is ignored), so the per-command check
    /// allocates nothing.
    pub(crate) fn route_keys(
        &self,
        keys: &[&[u8]],
        q: &RouteQuery<'_>,
        mut key_exists: impl FnMut(&[u8]) -> bool,
    ) -> Route {
        let me = self.myself_idx();
        let Some((&first, rest)) = keys.split_first() else {
            return Route::Local;
        };
        let slot = key_hash_slot(first);
        let Some(owner) = self.slot_owner(slot) else {
            return Route::Unbound;
        };
        let migrating = owner == me && self.migrating_to(slot).is_some();
        let importing = !migrating && self.importing_from(slot).is_some();
        let mut multiple_keys = false;
        for &key in rest {
            if key != first {
                if key_hash_slot(key) != slot {
                    return Route::CrossSlot;
                }
                multiple_keys = true;
            }
        }
        let (mut missing, mut existing) = (0usize, 0usize);
        if (migrating || importing) && !q.pubsub_shard {
            for &key in keys {
                if key_exists(key) {
                    existing += 1;
                } else {
                    missing += 1;
                }
            }
        }
        if !self.is_ok() {
            if q.pubsub_shard {
                if !q.allow_pubsubshard_when_down {
                    return Route::Down;
                }
            } else if !q.allow_reads_when_down {
                return Route::Down;
            } else if q.is_write {
                return Route::DownReadOnly;
            }
        }
        if (migrating || importing) && q.is_migrate {
            return Route::Local;
        }
        if migrating && missing > 0 {
            if existing > 0 {
                return Route::TryAgain;
            }
            let Some(target) = self.migrating_to(slot).and_then(|t| self.node(t)) else {
                return Route::TryAgain;
            };
            return Route::Ask {
                slot,
                ip: target.ip.clone(),
                port: target.port,
            };
        }
        if importing && q.asking {
            return if multiple_keys && missing > 0 {
                Route::TryAgain
            } else {
                Route::Local
            };
        }
        let myself = self.myself();
        if (q.readonly_client || q.pubsub_shard)
            && !q.is_write
            && myself.is_replica()
            && myself.master == Some(owner)
        {
            return Route::Local;
        }
        if owner == me {
            return Route::Local;
        }
        match self.node(owner) {
            Some(n) => Route::Moved {
                slot,
                ip: n.ip.clone(),
                port: n.port,
            },
            None => Route::Unbound,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Config;

    const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    const C: &str = "cccccccccccccccccccccccccccccccccccccccc";

    /// Myself (A) owns 0-8191 but for "bar"'s slot, plus "foo"'s slot, which it migrates to B; B owns the
    /// rest, and A imports "bar"'s slot from B. C is B's replica.
    fn state(myself_flags: &str, master: &str) -> ClusterState {
        let foo = key_hash_slot(b"foo");
        let bar = key_hash_slot(b"bar");
        assert!(bar < 8192 && foo >= 8192);
        let text = format!(
            "{A} 10.0.0.1:7000@17000 {myself_flags} {master} 0 0 1 connected 0-{} {} {foo} [{foo}->-{B}] [{bar}-<-{B}]\n\
             {B} 10.0.0.2:7001@17001 master - 0 0 2 connected {bar} 8192-{} {}-16383\n\
             {C} 10.0.0.3:7002@17002 slave {B} 0 0 2 connected\n",
            bar - 1,
            bar + 1,
            foo - 1,
            foo + 1
        );
        let mut s = ClusterState::from_nodes_conf(Config::default(), &text, 1).unwrap();
        s.state_ok = true;
        s
    }

    fn q<'a>(keys: &[&'a str]) -> RouteQuery<'a> {
        RouteQuery {
            keys: keys.iter().map(|k| k.as_bytes()).collect(),
            ..RouteQuery::default()
        }
    }

    #[test]
    fn redirections() {
        let s = state("myself,master", "-");
        let none = |_: &[u8]| false;
        let all = |_: &[u8]| true;
        assert_eq!(s.route(&q(&[]), none), Route::Local);
        let bar = key_hash_slot(b"bar");
        let local = (0u16..)
            .map(|i| format!("k{i}"))
            .find(|k| key_hash_slot(k.as_bytes()) < 8192 && key_hash_slot(k.as_bytes()) != bar)
            .unwrap();
        assert_eq!(s.route(&q(&[&local, &local]), none), Route::Local);
        let remote = (0u16..)
            .map(|i| format!("k{i}"))
            .find(|k| key_hash_slot(k.as_bytes()) >= 8192)
            .unwrap();
        let slot = key_hash_slot(remote.as_bytes());
        let moved = s.route(&q(&[&remote]), none);
        assert_eq!(
            moved,
            Route::Moved {
                slot,
                ip: "10.0.0.2".into(),
                port: 7001
            }
        );
        assert_eq!(
            moved.error_text().unwrap(),
            format!("MOVED {slot} 10.0.0.2:7001")
        );
        assert_eq!(s.route(&q(&["foo", "bar"]), none), Route::CrossSlot);
        // Migrating: present keys are served, missing ones are asked elsewhere, a mix must retry.
        assert_eq!(s.route(&q(&["foo"]), all), Route::Local);
        let foo = key_hash_slot(b"foo");
        assert_eq!(
            s.route(&q(&["foo"]), none),
            Route::Ask {
                slot: foo,
                ip: "10.0.0.2".into(),
                port: 7001
            }
        );
        let mut first = true;
        let mixed = |_: &[u8]| std::mem::replace(&mut first, false);
        assert_eq!(s.route(&q(&["{foo}1", "{foo}2"]), mixed), Route::TryAgain);
        // Importing: only with ASKING, and not a multi-key request with missing keys.
        assert_eq!(
            s.route(&q(&["bar"]), none),
            Route::Moved {
                slot: bar,
                ip: "10.0.0.2".into(),
                port: 7001
            }
        );
        let asking = RouteQuery {
            asking: true,
            ..q(&["bar"])
        };
        assert_eq!(s.route(&asking, none), Route::Local);
        let asking_multi = RouteQuery {
            asking: true,
            ..q(&["{bar}1", "{bar}2"])
        };
        assert_eq!(s.route(&asking_multi, none), Route::TryAgain);
        let migrate = RouteQuery {
            is_migrate: true,
            ..q(&["foo"])
        };
        assert_eq!(s.route(&migrate, none), Route::Local);
    }

    #[test]
    fn down_and_replicas() {
        let mut s = state("myself,master", "-");
        s.state_ok = false;
        assert_eq!(
            s.route(&q(&["bar"]), |_| false).error_text().unwrap(),
            "CLUSTERDOWN The cluster is down"
        );
        let reads = RouteQuery {
            allow_reads_when_down: true,
            is_write: true,
            ..q(&["x"])
        };
        assert_eq!(s.route(&reads, |_| false), Route::DownReadOnly);
        let shard = RouteQuery {
            pubsub_shard: true,
            allow_pubsubshard_when_down: true,
            ..q(&["x"])
        };
        assert_ne!(s.route(&shard, |_| false), Route::Down);
        // A replica of B serves B's keys to READONLY clients, reads only.
        let text = format!(
            "{C} 10.0.0.3:7002@17002 myself,slave {B} 0 0 2 connected\n\
             {B} 10.0.0.2:7001@17001 master - 0 0 2 connected 0-16383\n"
        );
        let mut r = ClusterState::from_nodes_conf(Config::default(), &text, 1).unwrap();
        r.state_ok = true;
        assert!(matches!(
            r.route(&q(&["k"]), |_| false),
            Route::Moved { port: 7001, .. }
        ));
        let ro = RouteQuery {
            readonly_client: true,
            ..q(&["k"])
        };
        assert_eq!(r.route(&ro, |_| false), Route::Local);
        let ro_write = RouteQuery {
            readonly_client: true,
            is_write: true,
            ..q(&["k"])
        };
        assert!(matches!(r.route(&ro_write, |_| false), Route::Moved { .. }));
        let fresh = ClusterState::new(Config::default(), 1);
        assert_eq!(fresh.route(&q(&["fresh"]), |_| false), Route::Unbound);
    }
}
