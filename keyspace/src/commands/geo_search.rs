//! Geo searches: GEOSEARCH, GEOSEARCHSTORE and the legacy GEORADIUS, GEORADIUSBYMEMBER and their `_RO`
//! forms (Redis's `georadiusGeneric`): the 9 geohash boxes around the center are scanned as score ranges,
//! points outside the shape dropped, then sorted, limited, replied or stored.

use super::geo::{parse_lon_lat, parse_radius, parse_unit, reply_coord, BAD_MEMBER};
use super::pqsort::pqsort;
use super::zset_range::store_zset;
use super::zsets::parse_score;
use super::{Ctx, NOT_INTEGER, SYNTAX};
use crate::geohash::{self, Search, Shape};
use crate::num::parse_i64_exact;
use crate::types::ZSet;
use crate::value::{read_obj, Found};
use crate::Keyspace;
use std::cmp::Ordering;
use zedis_kv_pool::KvAllocator;
use zedis_resp::reply;

/// Which command variant (Redis's `RADIUS_*` / `GEOSEARCH*` flags).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Variant {
    Radius { by_member: bool, read_only: bool },
    Search { store: bool },
}

/// Options parsed after the fixed arguments.
#[derive(Default)]
struct Options<'a> {
    withdist: bool,
    withhash: bool,
    withcoord: bool,
    any: bool,
    /// `Some(true)` ascending, `Some(false)` descending.
    sort_asc: Option<bool>,
    count: usize,
    store: Option<&'a [u8]>,
    storedist: bool,
    from_member: bool,
    from_lonlat: bool,
    center: Option<(f64, f64)>,
    shape: Option<(Shape, f64)>,
}

/// One found point.
struct Point {
    member: Vec<u8>,
    longitude: f64,
    latitude: f64,
    dist: f64,
    score: f64,
}

fn parse_options<'a, A: KvAllocator>(
    ctx: &mut Ctx<'a>,
    zset: Option<&ZSet<A>>,
    base: usize,
    variant: Variant,
    opts: &mut Options<'a>,
) -> bool {
    let argv = ctx.argv;
    let search = matches!(variant, Variant::Search { .. });
    let no_store = matches!(
        variant,
        Variant::Radius {
            read_only: true,
            ..
        }
    ) || search;
    let mut i = base;
    while i < argv.len() {
        let left = argv.len() - i - 1;
        let arg = argv[i].to_ascii_lowercase();
        match arg.as_slice() {
            b"withdist" => opts.withdist = true,
            b"withhash" => opts.withhash = true,
            b"withcoord" => opts.withcoord = true,
            b"any" => opts.any = true,
            b"asc" => opts.sort_asc = Some(true),
            b"desc" => opts.sort_asc = Some(false),
            b"count" if left >= 1 => {
                let Some(count) = parse_i64_exact(argv[i + 1]) else {
                    ctx.error(NOT_INTEGER);
                    return false;
                };
                if count <= 0 {
                    ctx.error(b"ERR COUNT must be > 0");
                    return false;
                }
                opts.count = count as usize;
                i += 1;
            }
            b"store" | b"storedist" if left >= 1 && !no_store => {
                opts.store = Some(argv[i + 1]);
                opts.storedist = arg == b"storedist";
                i += 1;
            }
            b"storedist" if variant == (Variant::Search { store: true }) => opts.storedist = true,
            b"frommember" if left >= 1 && search && !opts.from_lonlat => {
                if let Some(zset) = zset {
                    match zset.score(argv[i + 1]).and_then(geohash::decode_score) {
                        Some(center) => opts.center = Some(center),
                        None => {
                            ctx.error(BAD_MEMBER);
                            return false;
                        }
                    }
                }
                opts.from_member = true;
                i += 1;
            }
            b"fromlonlat" if left >= 2 && search && !opts.from_member => {
                let Some(center) = parse_lon_lat(ctx, i + 1) else {
                    return false;
                };
                opts.center = Some(center);
                opts.from_lonlat = true;
                i += 2;
            }
            b"byradius"
                if left >= 2 && search && !matches!(opts.shape, Some((Shape::Box(..), _))) =>
            {
                let Some((radius, unit)) = parse_radius(ctx, i + 1) else {
                    return false;
                };
                opts.shape = Some((Shape::Radius(radius), unit));
                i += 2;
            }
            b"bybox"
                if left >= 3 && search && !matches!(opts.shape, Some((Shape::Radius(_), _))) =>
            {
                let (Some(width), Some(height)) =
                    (parse_score(argv[i + 1]), parse_score(argv[i + 2]))
                else {
                    let which: &[u8] = if parse_score(argv[i + 1]).is_none() {
                        b"width"
                    } else {
                        b"height"
                    };
                    ctx.error(&[b"ERR need numeric ".as_slice(), which].concat());
                    return false;
                };
                if width < 0.0 || height < 0.0 {
                    ctx.error(b"ERR height or width cannot be negative");
                    return false;
                }
                let Some(unit) = parse_unit(ctx, argv[i + 3]) else {
                    return false;
                };
                opts.shape = Some((Shape::Box(width, height), unit));
                i += 3;
            }
            _ => {
                ctx.error(SYNTAX);
                return false;
            }
        }
        i += 1;
    }
    true
}

/// Checks the option combinations Redis rejects; replies the error.
fn check_options(ctx: &mut Ctx<'_>, opts: &Options<'_>, variant: Variant) -> bool {
    let name = String::from_utf8_lossy(ctx.argv[0]).into_owned();
    let error = if opts.store.is_some() && (opts.withdist || opts.withhash || opts.withcoord) {
        let what = if variant == (Variant::Search { store: true }) {
            "GEOSEARCHSTORE"
        } else {
            "STORE option in GEORADIUS"
        };
        Some(format!(
            "ERR {what} is not compatible with WITHDIST, WITHHASH and WITHCOORD options"
        ))
    } else if matches!(variant, Variant::Search { .. }) && !(opts.from_member || opts.from_lonlat) {
        Some(format!(
            "ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for {name}"
        ))
    } else if matches!(variant, Variant::Search { .. }) && opts.shape.is_none() {
        Some(format!(
            "ERR exactly one of BYRADIUS and BYBOX can be specified for {name}"
        ))
    } else if opts.any && opts.count == 0 {
        Some("ERR the ANY argument requires COUNT argument".to_string())
    } else {
        None
    };
    match error {
        Some(text) => {
            ctx.error(text.as_bytes());
            false
        }
        None => true,
    }
}

/// The points of `zset` inside `search`, box by box in Redis's order, stopping at `limit` (0: none).
fn points_in<A: KvAllocator>(zset: &ZSet<A>, search: &Search, limit: usize) -> Vec<Point> {
    let mut points = Vec::new();
    let boxes = search.boxes();
    let mut last: Option<usize> = None;
    for (i, hash) in boxes.iter().enumerate() {
        if hash.bits == 0 && hash.step == 0 {
            continue;
        }
        if last.is_some_and(|l| boxes[l] == *hash) {
            continue;
        }
        if limit != 0 && points.len() >= limit {
            break;
        }
        let (min, max) = geohash::box_scores(*hash);
        let start = zset.count_before(|_, s| s < min);
        let end = zset.count_before(|_, s| s < max);
        for (member, score) in zset.range(start, end, false) {
            let Some((longitude, latitude)) = geohash::decode_score(score) else {
                continue;
            };
            if let Some(dist) = search.distance_if_within(longitude, latitude) {
                points.push(Point {
                    member: member.to_vec(),
                    longitude,
                    latitude,
                    dist,
                    score,
                });
            }
            if limit != 0 && points.len() >= limit {
                break;
            }
        }
        last = Some(i);
    }
    points
}

fn reply_points(ctx: &mut Ctx<'_>, points: &[Point], opts: &Options<'_>, unit: f64) {
    let extra =
        usize::from(opts.withdist) + usize::from(opts.withhash) + usize::from(opts.withcoord);
    reply::array_len(ctx.out, points.len());
    for point in points {
        if extra > 0 {
            reply::array_len(ctx.out, extra + 1);
        }
        reply::bulk(ctx.out, &point.member);
        if opts.withdist {
            let mut text = Vec::new();
            geohash::format_distance(&mut text, point.dist / unit);
            reply::bulk(ctx.out, &text);
        }
        if opts.withhash {
            reply::integer(ctx.out, point.score as i64);
        }
        if opts.withcoord {
            reply::array_len(ctx.out, 2);
            reply_coord(ctx.out, ctx.proto, point.longitude);
            reply_coord(ctx.out, ctx.proto, point.latitude);
        }
    }
}

/// Redis's `georadiusGeneric`: `argv[src]` is the sorted set.
fn search_generic<A: KvAllocator>(
    ks: &mut Keyspace<A>,
    ctx: &mut Ctx<'_>,
    src: usize,
    variant: Variant,
) {
    let zset = match read_obj::<A, ZSet<A>>(ks, ctx, ctx.argv[src]) {
        Found::WrongType => return,
        Found::Missing => None,
        Found::Some(zset) => Some(&*zset),
    };
    let mut opts = Options::default();
    let base = match variant {
        Variant::Radius {
            by_member: false, ..
        } => {
            let Some(center) = parse_lon_lat(ctx, 2) else {
                return;
            };
            let Some((radius, unit)) = parse_radius(ctx, 4) else {
                return;
            };
            (opts.center, opts.shape) = (Some(center), Some((Shape::Radius(radius), unit)));
            6
        }
        Variant::Radius {
            by_member: true, ..
        } => {
            if let Some(zset) = zset {
                let Some(center) = zset.score(ctx.argv[2]).and_then(geohash::decode_score) else {
                    return ctx.error(BAD_MEMBER);
                };
                let Some((radius, unit)) = parse_radius(ctx, 3) else {
                    return;
                };
                (opts.center, opts.shape) = (Some(center), Some((Shape::Radius(radius), unit)));
            }
            5
        }
        Variant::Search { store: true } => {
            opts.store = Some(ctx.argv[1]);
            3
        }
        Variant::Search { store: false } => 2,
    };
    if !parse_options(ctx, zset, base, variant, &mut opts) || !check_options(ctx, &opts, variant) {
        return;
    }
    let (Some(zset), Some(center), Some((shape, unit))) = (zset, opts.center, opts.shape) else {
        return match opts.store {
            Some(dst) => store_zset(ks, ctx, dst, &[], "georadiusstore"),
            None => reply::array_len(ctx.out, 0),
        };
    };
    let search = Search {
        center,
        shape,
        unit_meters: unit,
    };
    let mut points = points_in(zset, &search, if opts.any { opts.count } else { 0 });
    let sort = match opts.sort_asc {
        None if opts.count != 0 && !opts.any => Some(true),
        other => other,
    };
    if let Some(asc) = sort {
        // `sort_gp_asc`/`sort_gp_desc`: by distance only, so equal distances are ties.
        let mut by_dist = |a: &Point, b: &Point| {
            let order = a.dist.partial_cmp(&b.dist).unwrap_or(Ordering::Equal);
            if asc {
                order
            } else {
                order.reverse()
            }
        };
        let returned = if opts.count == 0 {
            points.len()
        } else {
            opts.count.min(points.len())
        };
        if returned == points.len() {
            // Redis's `qsort` is glibc's merge sort here: stable, as `sort_by`.
            points.sort_by(by_dist);
        } else {
            // Only the first `returned` are wanted: Redis's `pqsort`, whose ties land elsewhere.
            pqsort(&mut points, &mut by_dist, 0, returned - 1);
        }
    }
    if opts.count != 0 {
        points.truncate(opts.count);
    }
    let Some(dst) = opts.store else {
        return reply_points(ctx, &points, &opts, unit);
    };
    let mut pairs: Vec<(Vec<u8>, f64)> = points
        .into_iter()
        .map(|p| {
            let score = if opts.storedist {
                p.dist / unit
            } else {
                p.score
            };
            (p.member, score)
        })
        .collect();
    pairs.sort_by(|a, b| {
        a.1.partial_cmp(&b.1)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| a.0.cmp(&b.0))
    });
    let event = if matches!(variant, Variant::Search { .. }) {
        "geosearchstore"
    } else {
        "georadiusstore"
    };
    let mark = ctx.out.len();
    store_zset(ks, ctx, dst, &pairs, event);
    if !pairs.is_empty() && ctx.out.get(mark) == Some(&b':') {
        // Redis counts one change per stored point.
        ctx.fx.dirty += pairs.len() as u64 - 1;
    }
}

/// # Format
/// `GEORADIUS key longitude latitude radius <M | KM | FT | MI> [WITHCOORD] [WITHDIST] [WITHHASH]
/// [COUNT count [ANY]] [ASC | DESC] [STORE key | STOREDIST key]`
pub fn georadius<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    search_generic(
        ks,
        ctx,
        1,
        Variant::Radius {
            by_member: false,
            read_only: false,
        },
    );
}

/// # Format
/// `GEORADIUS_RO key longitude latitude radius <M | KM | FT | MI> [WITHCOORD] [WITHDIST] [WITHHASH]
/// [COUNT count [ANY]] [ASC | DESC]`
pub fn georadius_ro<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    search_generic(
        ks,
        ctx,
        1,
        Variant::Radius {
            by_member: false,
            read_only: true,
        },
    );
}

/// # Format
/// `GEORADIUSBYMEMBER key member radius <M | KM | FT | MI> [WITHCOORD] [WITHDIST] [WITHHASH]
/// [COUNT count [ANY]] [ASC | DESC] [STORE key | STOREDIST key]`
pub fn georadiusbymember<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    search_generic(
        ks,
        ctx,
        1,
        Variant::Radius {
            by_member: true,
            read_only: false,
        },
    );
}

/// # Format
/// `GEORADIUSBYMEMBER_RO key member radius <M | KM | FT | MI> [WITHCOORD] [WITHDIST] [WITHHASH]
/// [COUNT count [ANY]] [ASC | DESC]`
pub fn georadiusbymember_ro<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    search_generic(
        ks,
        ctx,
        1,
        Variant::Radius {
            by_member: true,
            read_only: true,
        },
    );
}

/// # Format
/// `GEOSEARCH key <FROMMEMBER member | FROMLONLAT longitude latitude> <BYRADIUS radius <M | KM | FT | MI>
/// | BYBOX width height <M | KM | FT | MI>> [ASC | DESC] [COUNT count [ANY]] [WITHCOORD] [WITHDIST] [WITHHASH]`
pub fn geosearch<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    search_generic(ks, ctx, 1, Variant::Search { store: false });
}

/// # Format
/// `GEOSEARCHSTORE destination source <FROMMEMBER member | FROMLONLAT longitude latitude> <BYRADIUS radius
/// <M | KM | FT | MI> | BYBOX width height <M | KM | FT | MI>> [ASC | DESC] [COUNT count [ANY]] [STOREDIST]`
pub fn geosearchstore<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    search_generic(ks, ctx, 2, Variant::Search { store: true });
}
