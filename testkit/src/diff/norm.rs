//! Reply comparison with the documented normalisations (see [`Norm`]): only where Redis itself is
//! nondeterministic (iteration order of hash tables, random picks, elapsed time).

use super::gen_core::Norm;
use zedis_resp::Frame;

/// A canonical text for `frame`: aggregates keep their order.
fn exact(frame: &Frame) -> String {
    format!("{frame:?}")
}

/// The elements of an aggregate (array, set, push), or `None`.
fn elements(frame: &Frame) -> Option<&[Frame]> {
    match frame {
        Frame::Array(items) | Frame::Set(items) | Frame::Push(items) => Some(items),
        _ => None,
    }
}

/// The aggregate kind marker (so an array never equals a set).
fn kind(frame: &Frame) -> &'static str {
    match frame {
        Frame::Array(_) => "array",
        Frame::Set(_) => "set",
        Frame::Push(_) => "push",
        Frame::Map(_) => "map",
        _ => "scalar",
    }
}

fn multiset(frame: &Frame) -> String {
    let Some(items) = elements(frame) else {
        return exact(frame);
    };
    let mut texts: Vec<String> = items.iter().map(exact).collect();
    texts.sort();
    format!("{}{texts:?}", kind(frame))
}

fn pairs(frame: &Frame) -> String {
    let mut texts: Vec<String> = match frame {
        Frame::Map(pairs) => pairs
            .iter()
            .map(|(k, v)| exact(&Frame::Array(vec![k.clone(), v.clone()])))
            .collect(),
        Frame::Array(items) if items.len() % 2 == 0 => items
            .chunks(2)
            .map(|p| exact(&Frame::Array(p.to_vec())))
            .collect(),
        other => return exact(other),
    };
    texts.sort();
    format!("{}{texts:?}", kind(frame))
}

/// Types and lengths only; errors, integers and nulls stay exact.
fn shape(frame: &Frame) -> String {
    match frame {
        Frame::Bulk(_) => "bulk".into(),
        Frame::Double(_) => "double".into(),
        Frame::Array(items) | Frame::Set(items) | Frame::Push(items) => {
            let inner: Vec<String> = items.iter().map(shape).collect();
            format!("{}{inner:?}", kind(frame))
        }
        Frame::Map(pairs) => format!("map{}", pairs.len()),
        other => exact(other),
    }
}

fn scan(frame: &Frame, as_pairs: bool) -> String {
    match frame {
        Frame::Array(items) if items.len() == 2 => {
            let rest = if as_pairs {
                pairs(&items[1])
            } else {
                multiset(&items[1])
            };
            format!("scan[{}, {rest}]", exact(&items[0]))
        }
        other => exact(other),
    }
}

/// XPENDING's extended reply with each entry's idle time (third element) replaced by 0.
fn without_idle(frame: &Frame) -> Frame {
    match frame {
        Frame::Array(entries) => Frame::Array(
            entries
                .iter()
                .map(|e| match e {
                    Frame::Array(f) if f.len() == 4 => Frame::Array(vec![
                        f[0].clone(),
                        f[1].clone(),
                        Frame::Integer(0),
                        f[3].clone(),
                    ]),
                    other => other.clone(),
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Whether two replies agree under `norm` (the caller has compared the raw bytes first, so `Exact` here only
/// serves the elements of an EXEC reply). `queued` gives the modes of the commands an EXEC ran.
pub fn agree(norm: Norm, a: &Frame, b: &Frame, queued: &[Norm]) -> bool {
    match norm {
        Norm::Exact => a == b,
        Norm::Multiset => multiset(a) == multiset(b),
        Norm::Pairs => pairs(a) == pairs(b),
        Norm::Shape => shape(a) == shape(b),
        Norm::Scan => scan(a, false) == scan(b, false),
        Norm::ScanPairs => scan(a, true) == scan(b, true),
        Norm::Within(tolerance) => match (a, b) {
            (Frame::Integer(x), Frame::Integer(y)) if *x >= 0 && *y >= 0 => {
                (x - y).abs() <= tolerance
            }
            _ => a == b,
        },
        Norm::Flag => match (a, b) {
            (Frame::Integer(x), Frame::Integer(y)) => (0..=1).contains(x) && (0..=1).contains(y),
            _ => a == b,
        },
        Norm::Pending => without_idle(a) == without_idle(b),
        Norm::Exec => match (a, b) {
            (Frame::Array(xs), Frame::Array(ys))
                if xs.len() == ys.len() && xs.len() == queued.len() =>
            {
                xs.iter()
                    .zip(ys)
                    .zip(queued)
                    .all(|((x, y), n)| agree(*n, x, y, &[]))
            }
            _ => a == b,
        },
    }
}
