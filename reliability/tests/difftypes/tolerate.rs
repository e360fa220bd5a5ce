//! The divergences the types fuzzer accepts: the known Zedis bugs of [`known::KNOWN`] and two Redis
//! behaviours Zedis does not copy (SORT's leaked `errno`, SORT ALPHA's hash-table order of ties), each
//! checked against the reference's data through a connection of its own, and counted.

use super::known;
use zedis_resp::frame::Frame;
use zedis_testkit::diff::{Conn, Reply, Tolerance};

/// What explained divergences, and the connection it looks at Redis's state through.
pub struct Explained {
    /// A third redis-server connection for looking at state while replies are pending on the others.
    redis_side: Conn,
    /// How many times each known divergence ([`known::KNOWN`]) was met.
    pub known: Vec<usize>,
    /// How many times [`Explained::sort_errno_leak`] explained a divergence.
    pub errno_leaks: usize,
    /// How many times [`Explained::sort_alpha_ties`] explained a divergence.
    pub alpha_ties: usize,
}

impl Explained {
    /// Nothing explained yet; looks at the redis-server on `redis_port`.
    pub fn new(redis_port: u16) -> Explained {
        Explained {
            redis_side: Conn::open(redis_port),
            known: vec![0; known::KNOWN.len()],
            errno_leaks: 0,
            alpha_ties: 0,
        }
    }

    /// Prints what was accepted, and how often.
    pub fn report(&self) {
        if self.errno_leaks > 0 {
            eprintln!(
                "  SORT refused by Redis after its zsetConvert left ERANGE: {} times",
                self.errno_leaks
            );
        }
        if self.alpha_ties > 0 {
            eprintln!(
                "  SORT ALPHA ties (equal up to a NUL) in another order: {} times",
                self.alpha_ties
            );
        }
        for (k, n) in known::KNOWN.iter().zip(&self.known) {
            if *n > 0 {
                eprintln!("  known divergence met {n} times: {}", k.name);
            }
        }
    }

    /// Redis 7.0.15's SORT converts a listpack sorted set to a skiplist first (`zsetConvert`), reading
    /// each score with `strtod`; a subnormal score sets `errno = ERANGE`, which SORT's own numeric
    /// conversion then reads as its failure (it never clears `errno`), so Redis refuses a numeric SORT
    /// of such a set with "One or more scores can't be converted into double". A Redis bug Zedis does
    /// not copy: the divergence is accepted exactly there (numeric SORT, that error, Zedis sorted, and the
    /// key a sorted set holding a subnormal score).
    fn sort_errno_leak(&mut self, args: &[Vec<u8>], zedis: &[u8], redis: &[u8]) -> bool {
        let name = args[0].to_ascii_uppercase();
        if !matches!(name.as_slice(), b"SORT" | b"SORT_RO")
            || args.iter().any(|a| a.eq_ignore_ascii_case(b"ALPHA"))
            || redis != b"-ERR One or more scores can't be converted into double\r\n"
            || zedis.first() != Some(&b'*')
        {
            return false;
        }
        let query = [
            b"ZRANGE".to_vec(),
            args[1].clone(),
            b"0".to_vec(),
            b"-1".to_vec(),
            b"WITHSCORES".to_vec(),
        ];
        let Ok((_, Frame::Array(items))) = self.redis_side.call(&query) else {
            return false;
        };
        items.iter().skip(1).step_by(2).any(|score| match score {
            Frame::Bulk(text) => std::str::from_utf8(text)
                .ok()
                .and_then(|t| t.parse::<f64>().ok())
                .is_some_and(|v| v != 0.0 && v.abs() < f64::MIN_POSITIVE),
            _ => false,
        })
    }

    /// SORT ... ALPHA without STORE compares with `strcoll`, which stops at a NUL, so elements equal up
    /// to their first NUL (`""` and `"\0\xff"`) are ties. Redis's sort keeps ties in input order, and
    /// the input order of a set or sorted set is its hash table's (`dictNext`), which Zedis does not
    /// share. Accepted when both replies hold the same per-element groups (one reply per GET) in any
    /// order and the key is a set or sorted set with two members equal as C strings.
    fn sort_alpha_ties(&mut self, args: &[Vec<u8>], zedis: &Frame, redis: &Frame) -> bool {
        let upper: Vec<Vec<u8>> = args.iter().map(|a| a.to_ascii_uppercase()).collect();
        if !matches!(upper[0].as_slice(), b"SORT" | b"SORT_RO")
            || !upper.iter().any(|a| a == b"ALPHA")
            || upper.iter().any(|a| a == b"STORE" || a == b"BY")
        {
            return false;
        }
        let (Frame::Array(z), Frame::Array(r)) = (zedis, redis) else {
            return false;
        };
        let per = upper.iter().filter(|a| *a == b"GET").count().max(1);
        let groups = |v: &[Frame]| {
            let mut chunks: Vec<String> = v.chunks(per).map(|c| format!("{c:?}")).collect();
            chunks.sort();
            chunks
        };
        if z.len() != r.len() || groups(z) != groups(r) {
            return false;
        }
        let kind = match self.redis_side.call(&[b"TYPE".to_vec(), args[1].clone()]) {
            Ok((_, Frame::Simple(t))) => t,
            _ => return false,
        };
        let query: Vec<Vec<u8>> = match kind.as_slice() {
            b"set" => vec![b"SMEMBERS".to_vec(), args[1].clone()],
            b"zset" => vec![
                b"ZRANGE".to_vec(),
                args[1].clone(),
                b"0".to_vec(),
                b"-1".to_vec(),
            ],
            _ => return false,
        };
        let Ok((_, Frame::Array(members))) = self.redis_side.call(&query) else {
            return false;
        };
        let mut c_strings: Vec<&[u8]> = members
            .iter()
            .filter_map(|f| match f {
                Frame::Bulk(b) => Some(b.split(|&x| x == 0).next().unwrap_or_default()),
                _ => None,
            })
            .collect();
        let all = c_strings.len();
        c_strings.sort();
        c_strings.dedup();
        c_strings.len() < all
    }
}

impl Tolerance for Explained {
    fn accepts(
        &mut self,
        args: &[Vec<u8>],
        zedis: &Reply,
        redis: &Reply,
        agree: &dyn Fn(&[u8], &[u8]) -> bool,
    ) -> bool {
        if let Some(used) = known::classify(args, &zedis.0, &redis.0, agree) {
            used.into_iter().for_each(|k| self.known[k] += 1);
        } else if self.sort_errno_leak(args, &zedis.0, &redis.0) {
            self.errno_leaks += 1;
        } else if self.sort_alpha_ties(args, &zedis.1, &redis.1) {
            self.alpha_ties += 1;
        } else {
            return false;
        }
        true
    }
}
