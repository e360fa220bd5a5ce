//! Redis's geohash: 52-bit interleaved (26 steps) positions stored as sorted set scores, the 9-box
//! area cover of a search shape, and the haversine distance, computed as Redis 7.0 does
//! (`geohash.c`, `geohash_helper.c`) so that coordinates and distances print the same digits.

/// Latitude limits (EPSG:900913): the poles cannot be indexed.
pub const LAT_MIN: f64 = -85.05112878;
/// Latitude upper limit.
pub const LAT_MAX: f64 = 85.05112878;
/// Longitude lower limit.
pub const LONG_MIN: f64 = -180.0;
/// Longitude upper limit.
pub const LONG_MAX: f64 = 180.0;
/// Steps of a full-precision hash (26 * 2 = 52 bits, exact in a double).
pub const STEP_MAX: u8 = 26;

/// Earth's quadratic mean radius for WGS-84, in meters.
const EARTH_RADIUS_METERS: f64 = 6372797.560856;
const MERCATOR_MAX: f64 = 20037726.37;
const DEG_TO_RAD: f64 = std::f64::consts::PI / 180.0;

/// A hash of `step` steps (`2 * step` bits); `bits == 0 && step == 0` is "none".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HashBits {
    /// Interleaved bits (latitude in the odd positions... as Redis: `[LAT][LONG]` pairs).
    pub bits: u64,
    /// Number of steps.
    pub step: u8,
}

impl HashBits {
    fn is_zero(self) -> bool {
        self.bits == 0 && self.step == 0
    }
}

/// A rectangle of coordinates.
#[derive(Clone, Copy, Debug, Default)]
pub struct Area {
    /// Longitude min, max.
    pub long: (f64, f64),
    /// Latitude min, max.
    pub lat: (f64, f64),
}

fn interleave64(xlo: u32, ylo: u32) -> u64 {
    const B: [u64; 5] = [
        0x5555555555555555,
        0x3333333333333333,
        0x0F0F0F0F0F0F0F0F,
        0x00FF00FF00FF00FF,
        0x0000FFFF0000FFFF,
    ];
    const S: [u32; 5] = [1, 2, 4, 8, 16];
    let (mut x, mut y) = (u64::from(xlo), u64::from(ylo));
    for i in (0..5).rev() {
        x = (x | (x << S[i])) & B[i];
        y = (y | (y << S[i])) & B[i];
    }
    x | (y << 1)
}

fn deinterleave64(interleaved: u64) -> u64 {
    const B: [u64; 6] = [
        0x5555555555555555,
        0x3333333333333333,
        0x0F0F0F0F0F0F0F0F,
        0x00FF00FF00FF00FF,
        0x0000FFFF0000FFFF,
        0x00000000FFFFFFFF,
    ];
    const S: [u32; 6] = [0, 1, 2, 4, 8, 16];
    let (mut x, mut y) = (interleaved, interleaved >> 1);
    for i in 0..6 {
        x = (x | (x >> S[i])) & B[i];
        y = (y | (y >> S[i])) & B[i];
    }
    x | (y << 32)
}

/// `geohashEncode` over the given ranges; `None` outside them.
pub fn encode_in(
    long_range: (f64, f64),
    lat_range: (f64, f64),
    longitude: f64,
    latitude: f64,
    step: u8,
) -> Option<HashBits> {
    if !(1..=32).contains(&step)
        || !(LONG_MIN..=LONG_MAX).contains(&longitude)
        || !(LAT_MIN..=LAT_MAX).contains(&latitude)
        || latitude < lat_range.0
        || latitude > lat_range.1
        || longitude < long_range.0
        || longitude > long_range.1
    {
        return None;
    }
    let scale = (1u64 << step) as f64;
    let lat_offset = (latitude - lat_range.0) / (lat_range.1 - lat_range.0) * scale;
    let long_offset = (longitude - long_range.0) / (long_range.1 - long_range.0) * scale;
    Some(HashBits {
        bits: interleave64(lat_offset as u32, long_offset as u32),
        step,
    })
}

/// `geohashEncodeWGS84`.
pub fn encode(longitude: f64, latitude: f64, step: u8) -> Option<HashBits> {
    encode_in(
        (LONG_MIN, LONG_MAX),
        (LAT_MIN, LAT_MAX),
        longitude,
        latitude,
        step,
    )
}

/// The 52-bit score of a full-precision hash (`geohashAlign52Bits`).
pub fn align52(hash: HashBits) -> u64 {
    hash.bits << (52 - u32::from(hash.step) * 2)
}

/// `geohashDecode` (WGS84 ranges).
pub fn decode(hash: HashBits) -> Option<Area> {
    if hash.is_zero() {
        return None;
    }
    let separated = deinterleave64(hash.bits);
    let lat_scale = LAT_MAX - LAT_MIN;
    let long_scale = LONG_MAX - LONG_MIN;
    let ilat = separated as u32;
    let ilong = (separated >> 32) as u32;
    let div = (1u64 << hash.step) as f64;
    Some(Area {
        lat: (
            LAT_MIN + (f64::from(ilat) / div) * lat_scale,
            LAT_MIN + ((f64::from(ilat) + 1.0) / div) * lat_scale,
        ),
        long: (
            LONG_MIN + (f64::from(ilong) / div) * long_scale,
            LONG_MIN + ((f64::from(ilong) + 1.0) / div) * long_scale,
        ),
    })
}

/// C's `(uint64_t)score` as gcc compiles it for x86-64 (Redis's `decodeGeohash` casts any score, even
/// one no GEOADD could store): below 2^63 a signed truncation (`cvttsd2si`, so `-5` wraps to
/// `2^64 - 5`), from 2^63 on a truncation of `score - 2^63` with the top bit flipped; an out-of-range
/// or NaN truncation gives `i64::MIN` (so `inf` and `1e300` give 0). Rust's saturating `as u64` would
/// put those at the opposite corner of the map.
fn c_score_bits(score: f64) -> u64 {
    const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;
    let truncate = |x: f64| -> u64 {
        if x.is_nan() || !(-TWO_POW_63..TWO_POW_63).contains(&x) {
            i64::MIN as u64
        } else {
            x as i64 as u64
        }
    };
    if score >= TWO_POW_63 {
        truncate(score - TWO_POW_63) ^ (1 << 63)
    } else {
        truncate(score)
    }
}

/// The `(longitude, latitude)` a sorted set score stands for (`decodeGeohash`).
pub fn decode_score(score: f64) -> Option<(f64, f64)> {
    let area = decode(HashBits {
        bits: c_score_bits(score),
        step: STEP_MAX,
    })?;
    let longitude = ((area.long.0 + area.long.1) / 2.0).clamp(LONG_MIN, LONG_MAX);
    let latitude = ((area.lat.0 + area.lat.1) / 2.0).clamp(LAT_MIN, LAT_MAX);
    Some((longitude, latitude))
}

/// The score GEOADD stores for a position.
pub fn score_of(longitude: f64, latitude: f64) -> Option<u64> {
    encode(longitude, latitude, STEP_MAX).map(align52)
}

/// GEOHASH's 11-character standard geohash (re-encoded over ±90 latitude).
pub fn standard_hash(score: f64) -> Option<[u8; 11]> {
    const ALPHABET: &[u8; 32] = b"0123456789bcdefghjkmnpqrstuvwxyz";
    let (longitude, latitude) = decode_score(score)?;
    // Redis ignores a failed encode here (the decoded position is always in range).
    let hash = encode_in(
        (-180.0, 180.0),
        (-90.0, 90.0),
        longitude,
        latitude,
        STEP_MAX,
    )
    .unwrap_or_default();
    let mut out = [0u8; 11];
    for (i, slot) in out.iter_mut().enumerate() {
        let idx = if i == 10 {
            0
        } else {
            (hash.bits >> (52 - (i + 1) * 5)) & 0x1f
        };
        *slot = ALPHABET[idx as usize];
    }
    Some(out)
}

fn move_x(hash: &mut HashBits, d: i8) {
    if d == 0 {
        return;
    }
    let mut x = hash.bits & 0xaaaaaaaaaaaaaaaa;
    let y = hash.bits & 0x5555555555555555;
    let zz = 0x5555555555555555u64 >> (64 - u32::from(hash.step) * 2);
    if d > 0 {
        x = x.wrapping_add(zz + 1);
    } else {
        x |= zz;
        x = x.wrapping_sub(zz + 1);
    }
    x &= 0xaaaaaaaaaaaaaaaau64 >> (64 - u32::from(hash.step) * 2);
    hash.bits = x | y;
}

fn move_y(hash: &mut HashBits, d: i8) {
    if d == 0 {
        return;
    }
    let x = hash.bits & 0xaaaaaaaaaaaaaaaa;
    let mut y = hash.bits & 0x5555555555555555;
    let zz = 0xaaaaaaaaaaaaaaaau64 >> (64 - u32::from(hash.step) * 2);
    if d > 0 {
        y = y.wrapping_add(zz + 1);
    } else {
        y |= zz;
        y = y.wrapping_sub(zz + 1);
    }
    y &= 0x5555555555555555u64 >> (64 - u32::from(hash.step) * 2);
    hash.bits = x | y;
}

fn neighbor(hash: HashBits, dx: i8, dy: i8) -> HashBits {
    let mut moved = hash;
    move_x(&mut moved, dx);
    move_y(&mut moved, dy);
    moved
}

/// A search shape: a circle (radius) or an axis-aligned box, in `unit_meters` units.
#[derive(Clone, Copy, Debug)]
pub enum Shape {
    /// BYRADIUS.
    Radius(f64),
    /// BYBOX width, height.
    Box(f64, f64),
}

/// A search: center, shape and the unit's size in meters.
#[derive(Clone, Copy, Debug)]
pub struct Search {
    /// Center longitude, latitude.
    pub center: (f64, f64),
    /// Shape in `unit_meters`.
    pub shape: Shape,
    /// Meters per unit.
    pub unit_meters: f64,
}

fn estimate_steps(mut range_meters: f64, lat: f64) -> u8 {
    if range_meters == 0.0 {
        return 26;
    }
    let mut step: i32 = 1;
    while range_meters < MERCATOR_MAX {
        range_meters *= 2.0;
        step += 1;
    }
    step -= 2;
    if !(-66.0..=66.0).contains(&lat) {
        step -= 1;
        if !(-80.0..=80.0).contains(&lat) {
            step -= 1;
        }
    }
    step.clamp(1, 26) as u8
}

impl Search {
    /// `geohashBoundingBox`: min long, min lat, max long, max lat.
    fn bounds(&self) -> [f64; 4] {
        let (longitude, latitude) = self.center;
        let (height, width) = match self.shape {
            Shape::Radius(r) => (r * self.unit_meters, r * self.unit_meters),
            Shape::Box(w, h) => (self.unit_meters * h / 2.0, self.unit_meters * w / 2.0),
        };
        let lat_delta = (height / EARTH_RADIUS_METERS) / DEG_TO_RAD;
        let long_delta_top =
            (width / EARTH_RADIUS_METERS / ((latitude + lat_delta) * DEG_TO_RAD).cos())
                / DEG_TO_RAD;
        let long_delta_bottom =
            (width / EARTH_RADIUS_METERS / ((latitude - lat_delta) * DEG_TO_RAD).cos())
                / DEG_TO_RAD;
        let delta = if latitude < 0.0 {
            long_delta_bottom
        } else {
            long_delta_top
        };
        [
            longitude - delta,
            latitude - lat_delta,
            longitude + delta,
            latitude + lat_delta,
        ]
    }

    /// The boxes to scan, in Redis's order (center, N, S, E, W, NE, NW, SE, SW); useless ones are none.
    pub fn boxes(&self) -> [HashBits; 9] {
        let [min_lon, min_lat, max_lon, max_lat] = self.bounds();
        let radius_meters = match self.shape {
            Shape::Radius(r) => r,
            Shape::Box(w, h) => ((w / 2.0) * (w / 2.0) + (h / 2.0) * (h / 2.0)).sqrt(),
        } * self.unit_meters;
        let (longitude, latitude) = self.center;
        let mut steps = estimate_steps(radius_meters, latitude);
        let mut hash = encode(longitude, latitude, steps).unwrap_or_default();
        let around = |hash: HashBits| {
            let n = |dx, dy| neighbor(hash, dx, dy);
            [
                n(0, 1),
                n(0, -1),
                n(1, 0),
                n(-1, 0),
                n(1, 1),
                n(-1, 1),
                n(1, -1),
                n(-1, -1),
            ]
        };
        let mut ring = around(hash);
        let decoded = |h: HashBits| decode(h).unwrap_or_default();
        let (north, south, east, west) = (
            decoded(ring[0]),
            decoded(ring[1]),
            decoded(ring[2]),
            decoded(ring[3]),
        );
        let decrease = north.lat.1 < max_lat
            || south.lat.0 > min_lat
            || east.long.1 < max_lon
            || west.long.0 > min_lon;
        if steps > 1 && decrease {
            steps -= 1;
            hash = encode(longitude, latitude, steps).unwrap_or_default();
            ring = around(hash);
        }
        let area = decoded(hash);
        // ring: 0 N, 1 S, 2 E, 3 W, 4 NE, 5 NW, 6 SE, 7 SW.
        if steps >= 2 {
            let none = HashBits::default();
            if area.lat.0 < min_lat {
                (ring[1], ring[7], ring[6]) = (none, none, none);
            }
            if area.lat.1 > max_lat {
                (ring[0], ring[4], ring[5]) = (none, none, none);
            }
            if area.long.0 < min_lon {
                (ring[3], ring[7], ring[5]) = (none, none, none);
            }
            if area.long.1 > max_lon {
                (ring[2], ring[6], ring[4]) = (none, none, none);
            }
        }
        [
            hash, ring[0], ring[1], ring[2], ring[3], ring[4], ring[5], ring[6], ring[7],
        ]
    }

    /// The distance in meters from the center to `(longitude, latitude)` if inside the shape.
    pub fn distance_if_within(&self, longitude: f64, latitude: f64) -> Option<f64> {
        let (x1, y1) = self.center;
        match self.shape {
            Shape::Radius(r) => {
                let d = distance(x1, y1, longitude, latitude);
                (d <= r * self.unit_meters).then_some(d)
            }
            Shape::Box(w, h) => {
                let (width, height) = (w * self.unit_meters, h * self.unit_meters);
                if lat_distance(latitude, y1) > height / 2.0 {
                    return None;
                }
                if distance(longitude, latitude, x1, latitude) > width / 2.0 {
                    return None;
                }
                Some(distance(x1, y1, longitude, latitude))
            }
        }
    }
}

/// The score range `[min, max)` of the points inside a box (`scoresOfGeoHashBox`).
pub fn box_scores(hash: HashBits) -> (f64, f64) {
    let min = align52(hash);
    let max = align52(HashBits {
        bits: hash.bits + 1,
        step: hash.step,
    });
    (min as f64, max as f64)
}

fn lat_distance(lat1: f64, lat2: f64) -> f64 {
    EARTH_RADIUS_METERS * (lat2 * DEG_TO_RAD - lat1 * DEG_TO_RAD).abs()
}

/// Haversine distance in meters (`geohashGetDistance`).
pub fn distance(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> f64 {
    let lon1r = lon1 * DEG_TO_RAD;
    let lon2r = lon2 * DEG_TO_RAD;
    let v = ((lon2r - lon1r) / 2.0).sin();
    if v == 0.0 {
        return lat_distance(lat1, lat2);
    }
    let lat1r = lat1 * DEG_TO_RAD;
    let lat2r = lat2 * DEG_TO_RAD;
    let u = ((lat2r - lat1r) / 2.0).sin();
    let a = u * u + lat1r.cos() * lat2r.cos() * v * v;
    2.0 * EARTH_RADIUS_METERS * a.sqrt().asin()
}

/// Redis's `fixedpoint_d2string(.., 4)`: a distance with 4 decimals (round half to even).
pub fn format_distance(out: &mut Vec<u8>, d: f64) {
    if d == 0.0 {
        out.extend_from_slice(b"0.0000");
        return;
    }
    let scaled = (d * 10000.0).round_ties_even() as i64;
    if scaled < 0 {
        out.push(b'-');
    }
    let value = scaled.unsigned_abs();
    out.extend_from_slice(format!("{}.{:04}", value / 10000, value % 10000).as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interleave_round_trips() {
        for (x, y) in [
            (0u32, 0u32),
            (1, 2),
            (0xdead_beef, 0x1234_5678),
            (u32::MAX, 7),
        ] {
            let v = deinterleave64(interleave64(x, y));
            assert_eq!((v as u32, (v >> 32) as u32), (x, y));
        }
    }

    #[test]
    fn out_of_range_scores_decode_as_redis_casts_them() {
        // Values from redis-server 7.0.15: GEOPOS of members with these scores.
        let corner = decode_score(0.0).unwrap();
        assert_eq!(decode_score(f64::INFINITY), Some(corner));
        assert_eq!(decode_score(1e300), Some(corner));
        assert_eq!(c_score_bits(-5.0), u64::MAX - 4);
        assert_eq!(decode_score(-5.0), Some((180.0, 85.05112878)));
        assert_eq!(c_score_bits(f64::NEG_INFINITY), 1 << 63);
        assert_eq!(c_score_bits(1.5 * 9_223_372_036_854_775_808.0), 3 << 62);
    }

    #[test]
    fn known_positions_match_redis() {
        // GEOADD Sicily 13.361389 38.115556 "Palermo" stores 3479099956230698 in Redis.
        assert_eq!(score_of(13.361389, 38.115556), Some(3479099956230698));
        let (lon, lat) = decode_score(3479099956230698.0).unwrap();
        assert!((lon - 13.361389).abs() < 1e-5 && (lat - 38.115556).abs() < 1e-5);
        assert_eq!(&standard_hash(3479099956230698.0).unwrap(), b"sqc8b49rny0");
        let catania = score_of(15.087269, 37.502669).unwrap() as f64;
        let (lon2, lat2) = decode_score(catania).unwrap();
        let mut out = Vec::new();
        format_distance(&mut out, distance(lon, lat, lon2, lat2));
        assert_eq!(out, b"166274.1516");
        assert_eq!(score_of(200.0, 0.0), None);
    }
}
