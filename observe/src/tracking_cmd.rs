//! CLIENT TRACKING / CACHING / GETREDIR / TRACKINGINFO over a [`TrackingTable`], with Redis 7.0's option rules
//! and error texts (`clientCommand` in `networking.c`).

use crate::error::ObserveError;
use crate::tracking::{ClientDirectory, ClientId, ClientTracking, TrackingTable};
use zedis_resp::{reply, Protocol};

/// Whether `a` and `b` would both match some key (one is a prefix of the other).
fn prefixes_overlap(a: &[u8], b: &[u8]) -> bool {
    let n = a.len().min(b.len());
    a[..n] == b[..n]
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// CLIENT TRACKING's options, parsed.
#[derive(Debug, Default)]
struct Options<'a> {
    redirect: i64,
    bcast: bool,
    optin: bool,
    optout: bool,
    noloop: bool,
    prefixes: Vec<&'a [u8]>,
}

/// Parses the options after `on`/`off` as Redis does (left to right, errors as met).
fn parse_options<'a>(
    args: &[&'a [u8]],
    dir: &impl ClientDirectory,
) -> Result<Options<'a>, ObserveError> {
    let mut opts = Options::default();
    let mut j = 0;
    while j < args.len() {
        let more = j + 1 < args.len();
        let arg = args[j];
        if arg.eq_ignore_ascii_case(b"redirect") && more {
            j += 1;
            if opts.redirect != 0 {
                return Err(ObserveError::RedirectTwice);
            }
            opts.redirect =
                zedis_util::num::parse_i64_exact(args[j]).ok_or(ObserveError::NotAnInteger)?;
            let exists = u64::try_from(opts.redirect).is_ok_and(|id| dir.lookup(id).is_some());
            if !exists {
                return Err(ObserveError::RedirectMissing);
            }
        } else if arg.eq_ignore_ascii_case(b"bcast") {
            opts.bcast = true;
        } else if arg.eq_ignore_ascii_case(b"optin") {
            opts.optin = true;
        } else if arg.eq_ignore_ascii_case(b"optout") {
            opts.optout = true;
        } else if arg.eq_ignore_ascii_case(b"noloop") {
            opts.noloop = true;
        } else if arg.eq_ignore_ascii_case(b"prefix") && more {
            j += 1;
            opts.prefixes.push(args[j]);
        } else {
            return Err(ObserveError::Syntax);
        }
        j += 1;
    }
    Ok(opts)
}

impl TrackingTable {
    /// `CLIENT TRACKING on|off [REDIRECT id] [BCAST] [PREFIX p ...] [OPTIN] [OPTOUT] [NOLOOP]` for client `id`;
    /// `args` starts at `on`/`off`. `Ok` means reply `+OK`.
    ///
    /// Deviation: two provided prefixes overlapping where the first is not the first PREFIX makes Redis 7.0.15
    /// reply the error *and* enable tracking (then reply `+OK` too: two replies); here it is the error alone.
    pub fn client_tracking(
        &mut self,
        id: ClientId,
        args: &[&[u8]],
        dir: &impl ClientDirectory,
    ) -> Result<(), ObserveError> {
        let Some((mode, rest)) = args.split_first() else {
            return Err(ObserveError::Syntax);
        };
        let opts = parse_options(rest, dir)?;
        if mode.eq_ignore_ascii_case(b"off") {
            self.disable(id);
            return Ok(());
        }
        if !mode.eq_ignore_ascii_case(b"on") {
            return Err(ObserveError::Syntax);
        }
        if !opts.bcast && !opts.prefixes.is_empty() {
            return Err(ObserveError::PrefixNeedsBcast);
        }
        let current = self.clients.get(&id);
        if current.is_some_and(|c| c.bcast != opts.bcast) {
            return Err(ObserveError::BcastSwitch);
        }
        if opts.bcast && (opts.optin || opts.optout) {
            return Err(ObserveError::OptWithBcast);
        }
        if opts.optin && opts.optout {
            return Err(ObserveError::OptinAndOptout);
        }
        if current.is_some_and(|c| (opts.optin && c.optout) || (opts.optout && c.optin)) {
            return Err(ObserveError::OptSwitch);
        }
        if opts.bcast {
            self.check_prefix_collisions(id, &opts.prefixes)?;
        }
        let mode = ClientTracking {
            redirect: opts.redirect as u64,
            bcast: opts.bcast,
            optin: opts.optin,
            optout: opts.optout,
            noloop: opts.noloop,
            ..ClientTracking::default()
        };
        self.enable(id, &mode, &opts.prefixes);
        Ok(())
    }

    /// Redis's `checkPrefixCollisionsOrReply`.
    fn check_prefix_collisions(
        &self,
        id: ClientId,
        prefixes: &[&[u8]],
    ) -> Result<(), ObserveError> {
        let existing = self.clients.get(&id).map(|c| &c.prefixes);
        for (i, new) in prefixes.iter().enumerate() {
            if let Some(old) = existing
                .into_iter()
                .flatten()
                .find(|old| prefixes_overlap(old, new))
            {
                return Err(ObserveError::PrefixOverlapsExisting {
                    new: lossy(new),
                    existing: lossy(old),
                });
            }
            if let Some(later) = prefixes[i + 1..]
                .iter()
                .find(|later| prefixes_overlap(new, later))
            {
                return Err(ObserveError::PrefixOverlapsProvided {
                    first: lossy(new),
                    second: lossy(later),
                });
            }
        }
        Ok(())
    }

    /// CLIENT CACHING yes|no for client `id`.
    pub fn client_caching(&mut self, id: ClientId, arg: &[u8]) -> Result<(), ObserveError> {
        let Some(state) = self.clients.get_mut(&id) else {
            return Err(ObserveError::CachingNeedsTracking);
        };
        if arg.eq_ignore_ascii_case(b"yes") {
            if !state.optin {
                return Err(ObserveError::CachingYesNeedsOptin);
            }
        } else if arg.eq_ignore_ascii_case(b"no") {
            if !state.optout {
                return Err(ObserveError::CachingNoNeedsOptout);
            }
        } else {
            return Err(ObserveError::Syntax);
        }
        state.caching = true;
        Ok(())
    }

    /// CLIENT GETREDIR's reply: -1 when not tracking, else the redirect id (0: none).
    pub fn reply_getredir(&self, out: &mut Vec<u8>, id: ClientId) {
        let redirect = self.clients.get(&id).map_or(-1, |c| c.redirect as i64);
        reply::integer(out, redirect);
    }

    /// CLIENT TRACKINGINFO's reply: `flags` (a set), `redirect`, `prefixes`.
    pub fn reply_trackinginfo(&self, out: &mut Vec<u8>, proto: Protocol, id: ClientId) {
        let state = self.clients.get(&id);
        let mut flags: Vec<&[u8]> = vec![if state.is_some() { b"on" } else { b"off" }];
        if let Some(c) = state {
            let pairs: [(bool, &[u8]); 7] = [
                (c.bcast, b"bcast"),
                (c.optin, b"optin"),
                (c.optin && c.caching, b"caching-yes"),
                (c.optout, b"optout"),
                (c.optout && c.caching, b"caching-no"),
                (c.noloop, b"noloop"),
                (c.broken_redirect, b"broken_redirect"),
            ];
            flags.extend(pairs.iter().filter(|(on, _)| *on).map(|(_, name)| *name));
        }
        reply::map_len(out, proto, 3);
        reply::bulk(out, b"flags");
        reply::set_len(out, proto, flags.len());
        for flag in flags {
            reply::bulk(out, flag);
        }
        reply::bulk(out, b"redirect");
        reply::integer(out, state.map_or(-1, |c| c.redirect as i64));
        reply::bulk(out, b"prefixes");
        let prefixes = state.map(|c| c.prefixes.len()).unwrap_or(0);
        reply::array_len(out, prefixes);
        for prefix in state.into_iter().flat_map(|c| &c.prefixes) {
            reply::bulk(out, prefix);
        }
    }
}
