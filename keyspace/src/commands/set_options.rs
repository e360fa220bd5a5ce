//! SET and GETEX options (Redis's `parseExtendedStringArgumentsOrReply`) and their expire times.

use super::{Ctx, SYNTAX};

/// Expiry options shared by SET and GETEX.
#[derive(Default, Clone, Copy)]
pub(super) struct SetOptions {
    pub(super) nx: bool,
    pub(super) xx: bool,
    pub(super) get: bool,
    pub(super) keep_ttl: bool,
    pub(super) persist: bool,
    /// (unit flag, argument index): 0 EX, 1 PX, 2 EXAT, 3 PXAT.
    pub(super) expire: Option<(u8, usize)>,
}

/// Redis's `parseExtendedStringArgumentsOrReply` for SET (`is_set`) and GETEX.
pub(super) fn parse_set_options(
    ctx: &mut Ctx<'_>,
    first: usize,
    is_set: bool,
) -> Option<SetOptions> {
    let mut opts = SetOptions::default();
    let mut j = first;
    while j < ctx.argv.len() {
        let opt = ctx.argv[j];
        let has_next = j + 1 < ctx.argv.len();
        let eq = |name: &str| opt.eq_ignore_ascii_case(name.as_bytes());
        if eq("nx") && !opts.xx && is_set {
            opts.nx = true;
        } else if eq("xx") && !opts.nx && is_set {
            opts.xx = true;
        } else if eq("get") && is_set {
            opts.get = true;
        } else if eq("keepttl") && !opts.persist && opts.expire.is_none() && is_set {
            opts.keep_ttl = true;
        } else if eq("persist") && !is_set && opts.expire.is_none() && !opts.keep_ttl {
            opts.persist = true;
        } else if let Some(unit) = ["ex", "px", "exat", "pxat"].iter().position(|u| eq(u)) {
            let other_unit = opts.expire.is_some_and(|(u, _)| u != unit as u8);
            if opts.keep_ttl || opts.persist || other_unit || !has_next {
                ctx.error(SYNTAX);
                return None;
            }
            opts.expire = Some((unit as u8, j + 1));
            j += 1;
        } else {
            ctx.error(SYNTAX);
            return None;
        }
        j += 1;
    }
    Some(opts)
}

/// Redis's `getExpireMillisecondsOrReply`: the absolute expire time in ms for an option, or an error reply.
pub(super) fn expire_at_ms(ctx: &mut Ctx<'_>, unit: u8, idx: usize) -> Option<i64> {
    let value = ctx.int_arg(idx)?;
    let seconds = unit == 0 || unit == 2;
    if value <= 0 || (seconds && value > i64::MAX / 1000) {
        ctx.invalid_expire();
        return None;
    }
    let mut ms = if seconds { value * 1000 } else { value };
    if unit < 2 {
        match ms.checked_add(ctx.now_ms) {
            Some(abs) => ms = abs,
            None => {
                ctx.invalid_expire();
                return None;
            }
        }
    }
    if ms <= 0 {
        ctx.invalid_expire();
        return None;
    }
    Some(ms)
}

/// The options of SET/GETEX and their absolute expire time, or `None` after replying the error.
pub(super) fn parse_options_and_expire(
    ctx: &mut Ctx<'_>,
    first: usize,
    is_set: bool,
) -> Option<(SetOptions, Option<i64>)> {
    let opts = parse_set_options(ctx, first, is_set)?;
    let expire = match opts.expire {
        Some((unit, idx)) => Some(expire_at_ms(ctx, unit, idx)?),
        None => None,
    };
    Some((opts, expire))
}
