//! Geo commands over sorted sets (positions are 52-bit geohash scores, see [`crate::geohash`]):
//! GEOADD, GEOPOS, GEODIST, GEOHASH, and the argument helpers the searches share (the searches
//! themselves are in `geo_search.rs`).

use super::zsets::{parse_score, zadd};
use super::{Ctx, NOT_FLOAT, SYNTAX};
use crate::geohash;
use crate::longdouble::LongDouble;
use crate::types::ZSet;
use crate::value::{read_obj, Found};
use crate::Keyspace;
use zedis_kv_pool::KvAllocator;
use zedis_resp::{reply, Protocol};

pub use super::geo_search::{
    georadius, georadius_ro, georadiusbymember, georadiusbymember_ro, geosearch, geosearchstore,
};

/// Error for a search center member that is missing.
pub(crate) const BAD_MEMBER: &[u8] = b"ERR could not decode requested zset member";

/// Parses `longitude latitude` at `argv[idx..]`; replies the error on failure.
pub(crate) fn parse_lon_lat(ctx: &mut Ctx<'_>, idx: usize) -> Option<(f64, f64)> {
    let (Some(longitude), Some(latitude)) =
        (parse_score(ctx.argv[idx]), parse_score(ctx.argv[idx + 1]))
    else {
        ctx.error(NOT_FLOAT);
        return None;
    };
    if !(geohash::LONG_MIN..=geohash::LONG_MAX).contains(&longitude)
        || !(geohash::LAT_MIN..=geohash::LAT_MAX).contains(&latitude)
    {
        let text = format!("ERR invalid longitude,latitude pair {longitude:.6},{latitude:.6}");
        ctx.error(text.as_bytes());
        return None;
    }
    Some((longitude, latitude))
}

/// Meters per unit (`m`, `km`, `ft`, `mi`); replies the error for another unit.
pub(crate) fn parse_unit(ctx: &mut Ctx<'_>, arg: &[u8]) -> Option<f64> {
    match arg.to_ascii_lowercase().as_slice() {
        b"m" => Some(1.0),
        b"km" => Some(1000.0),
        b"ft" => Some(0.3048),
        b"mi" => Some(1609.34),
        _ => {
            ctx.error(b"ERR unsupported unit provided. please use M, KM, FT, MI");
            None
        }
    }
}

/// Parses `radius unit` at `argv[idx..]`: (radius, meters per unit).
pub(crate) fn parse_radius(ctx: &mut Ctx<'_>, idx: usize) -> Option<(f64, f64)> {
    let Some(radius) = parse_score(ctx.argv[idx]) else {
        ctx.error(b"ERR need numeric radius");
        return None;
    };
    if radius < 0.0 {
        ctx.error(b"ERR radius cannot be negative");
        return None;
    }
    let unit = parse_unit(ctx, ctx.argv[idx + 1])?;
    Some((radius, unit))
}

/// Writes a coordinate as Redis's `addReplyHumanLongDouble`.
pub(crate) fn reply_coord(out: &mut Vec<u8>, proto: Protocol, value: f64) {
    let mut text = Vec::new();
    LongDouble::from_f64(value).format_human(&mut text);
    match proto {
        Protocol::Resp2 => reply::bulk(out, &text),
        Protocol::Resp3 => {
            out.push(b',');
            out.extend_from_slice(&text);
            out.extend_from_slice(b"\r\n");
        }
    }
}

/// # Format
/// `GEOADD key [NX | XX] [CH] longitude latitude member [longitude latitude member ...]`
///
/// Runs as the ZADD it stands for, which is also what the AOF logs.
pub fn geoadd<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let (mut nx, mut xx, mut first) = (false, false, 2);
    while let Some(opt) = ctx.argv.get(first) {
        if opt.eq_ignore_ascii_case(b"nx") {
            nx = true;
        } else if opt.eq_ignore_ascii_case(b"xx") {
            xx = true;
        } else if !opt.eq_ignore_ascii_case(b"ch") {
            break;
        }
        first += 1;
    }
    if (ctx.argv.len() - first) % 3 != 0 || (xx && nx) {
        return ctx.error(SYNTAX);
    }
    let mut argv: Vec<Vec<u8>> = vec![b"ZADD".to_vec()];
    argv.extend(ctx.argv[1..first].iter().map(|a| a.to_vec()));
    for idx in (first..ctx.argv.len()).step_by(3) {
        let Some((longitude, latitude)) = parse_lon_lat(ctx, idx) else {
            return;
        };
        let score = geohash::score_of(longitude, latitude).unwrap_or(0);
        argv.push(score.to_string().into_bytes());
        argv.push(ctx.argv[idx + 2].to_vec());
    }
    let args: Vec<&[u8]> = argv.iter().map(Vec::as_slice).collect();
    let dirty = ctx.fx.dirty;
    let mut inner = Ctx {
        argv: &args,
        out: &mut *ctx.out,
        proto: ctx.proto,
        db: ctx.db,
        now_ms: ctx.now_ms,
        fx: &mut *ctx.fx,
    };
    zadd(ks, &mut inner);
    if ctx.fx.dirty != dirty {
        ctx.fx.rewrite(argv);
    }
}

/// # Format
/// `GEOPOS key [member [member ...]]`
pub fn geopos<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let zset = match read_obj::<A, ZSet<A>>(ks, ctx, ctx.argv[1]) {
        Found::WrongType => return,
        Found::Missing => None,
        Found::Some(zset) => Some(&*zset),
    };
    reply::array_len(ctx.out, ctx.argv.len() - 2);
    for &member in &ctx.argv[2..] {
        match zset
            .and_then(|z| z.score(member))
            .and_then(geohash::decode_score)
        {
            Some((longitude, latitude)) => {
                reply::array_len(ctx.out, 2);
                reply_coord(ctx.out, ctx.proto, longitude);
                reply_coord(ctx.out, ctx.proto, latitude);
            }
            None => reply::null_array(ctx.out, ctx.proto),
        }
    }
}

/// # Format
/// `GEODIST key member1 member2 [M | KM | FT | MI]`
pub fn geodist<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let unit = match ctx.argv.len() {
        5 => match parse_unit(ctx, ctx.argv[4]) {
            Some(unit) => unit,
            None => return,
        },
        n if n > 5 => return ctx.error(SYNTAX),
        _ => 1.0,
    };
    let zset = match read_obj::<A, ZSet<A>>(ks, ctx, ctx.argv[1]) {
        Found::WrongType => return,
        Found::Missing => return reply::null(ctx.out, ctx.proto),
        Found::Some(zset) => zset,
    };
    let position = |member: &[u8]| zset.score(member).and_then(geohash::decode_score);
    match (position(ctx.argv[2]), position(ctx.argv[3])) {
        (Some((x1, y1)), Some((x2, y2))) => {
            let mut text = Vec::new();
            geohash::format_distance(&mut text, geohash::distance(x1, y1, x2, y2) / unit);
            reply::bulk(ctx.out, &text);
        }
        _ => reply::null(ctx.out, ctx.proto),
    }
}

/// # Format
/// `GEOHASH key [member [member ...]]`
pub fn geohash_cmd<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let zset = match read_obj::<A, ZSet<A>>(ks, ctx, ctx.argv[1]) {
        Found::WrongType => return,
        Found::Missing => None,
        Found::Some(zset) => Some(&*zset),
    };
    reply::array_len(ctx.out, ctx.argv.len() - 2);
    for &member in &ctx.argv[2..] {
        match zset
            .and_then(|z| z.score(member))
            .and_then(geohash::standard_hash)
        {
            Some(hash) => reply::bulk(ctx.out, &hash),
            None => reply::null(ctx.out, ctx.proto),
        }
    }
}
