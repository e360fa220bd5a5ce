//! LOLWUT: Redis 7.0.15's `lolwut.c`, `lolwut5.c` and `lolwut6.c`.
//!
//! # Format
//! ```text
//! LOLWUT [VERSION <v>] [<arg> ...]
//! ```
//! `VERSION v` (only when at least one more argument follows `LOLWUT`) picks the art by `"%u.0.0"` of `v`:
//! 5 (and 4.9) draws Georg Nees's "Schotter" with Braille characters (`[cols [squares-per-row
//! [squares-per-col]]]`, defaults 66 8 12, limits 1..=1000, 1..=200, 1..=200); 6 (and 5.9) draws a city
//! skyline with ANSI colours (`[cols [rows]]`, defaults 80 20, limits 1..=1000 each); any other version (and
//! LOLWUT without VERSION on a 7.x server) replies only `Redis ver. <server version>`. Each art ends with its
//! dedication and `Redis ver. <server version>`. Arguments that are not integers get
//! `ERR value is not an integer or out of range`; extra arguments are ignored. The reply is a verbatim `txt`
//! string (bulk in RESP2).
//!
//! The drawing uses C's `rand()`; [`CRand`] is glibc's generator, so a seeded stream draws what
//! redis-server draws from the same `rand()` state (`tests/lolwut_seeded.rs` fixes redis-server's seed with
//! an `LD_PRELOAD` shim and compares the art byte for byte; `tests/lolwut_reference.rs` compares what does not
//! depend on the seed). The server keeps one [`CRand`] for the process, seeded at start as Redis does
//! ([`CRand::seeded_at_start`]).
//!
//! Zedis limit: a version-5 canvas above [`CANVAS_PIXELS_MAX`] pixels (Redis allows 2000 × 399,200 for
//! `LOLWUT VERSION 5 1000 1 200`, an 800 MB canvas and a 300 MB reply) is refused with
//! `ERR LOLWUT canvas too large`.

use std::f64::consts::PI;

use zedis_resp::{reply, Protocol};

use crate::cnum::{c_eq, get_long};
pub use crate::crand::CRand;
use crate::crand::RAND_MAX;
use crate::ObserveError;

/// Most pixels of a canvas Zedis draws (one byte each).
pub const CANVAS_PIXELS_MAX: u64 = 16 << 20;

/// A canvas of `width × height` colour bytes (Redis's `lwCanvas`).
pub(crate) struct Canvas {
    pub(crate) width: i32,
    pub(crate) height: i32,
    pixels: Vec<u8>,
}

impl Canvas {
    pub(crate) fn new(width: i32, height: i32, color: u8) -> Canvas {
        let len = usize::try_from(width).unwrap_or(0) * usize::try_from(height).unwrap_or(0);
        Canvas {
            width,
            height,
            pixels: vec![color; len],
        }
    }

    fn index(&self, x: i32, y: i32) -> Option<usize> {
        if x < 0 || x >= self.width || y < 0 || y >= self.height {
            return None;
        }
        usize::try_from(x + y * self.width).ok()
    }

    pub(crate) fn draw(&mut self, x: i32, y: i32, color: u8) {
        if let Some(i) = self.index(x, y) {
            self.pixels[i] = color;
        }
    }

    pub(crate) fn get(&self, x: i32, y: i32) -> u8 {
        self.index(x, y).map_or(0, |i| self.pixels[i])
    }

    /// Bresenham, as `lwDrawLine`.
    fn line(&mut self, mut x1: i32, mut y1: i32, x2: i32, y2: i32, color: u8) {
        let dx = (x2 - x1).abs();
        let dy = (y2 - y1).abs();
        let sx = if x1 < x2 { 1 } else { -1 };
        let sy = if y1 < y2 { 1 } else { -1 };
        let mut err = dx - dy;
        loop {
            self.draw(x1, y1, color);
            if x1 == x2 && y1 == y2 {
                break;
            }
            let e2 = err * 2;
            if e2 > -dy {
                err -= dy;
                x1 += sx;
            }
            if e2 < dx {
                err += dx;
                y1 += sy;
            }
        }
    }

    /// `lwDrawSquare`, with C's float/double mix: `size` and `k` are floats, the trigonometry doubles.
    // Redis's truncated literal, not SQRT_2: the rounding of `size` depends on it.
    #[allow(clippy::approx_constant)]
    fn square(&mut self, x: i32, y: i32, size: f32, angle: f32, color: u8) {
        let size = (f64::from(size) / 1.414_213_562_3) as f32;
        let size = f64::from(size).round() as f32;
        let mut k = (PI / 4.0 + f64::from(angle)) as f32;
        let mut px = [0i32; 4];
        let mut py = [0i32; 4];
        for j in 0..4 {
            px[j] = (f64::from(k).sin() * f64::from(size) + f64::from(x)).round() as i32;
            py[j] = (f64::from(k).cos() * f64::from(size) + f64::from(y)).round() as i32;
            k = (f64::from(k) + PI / 2.0) as f32;
        }
        for j in 0..4 {
            self.line(px[j], py[j], px[(j + 1) % 4], py[(j + 1) % 4], color);
        }
    }
}

/// Which art a version string selects (`lolwutCommand`'s test of its first three characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Art {
    /// Version 5 (or 4.9): Schotter.
    Schotter,
    /// Version 6 (or 5.9): the skyline.
    Skyline,
    /// Anything else: the version line only.
    VersionOnly,
}

impl Art {
    /// The art for a `major.minor.patch` version string.
    pub fn for_version(version: &str) -> Art {
        let v = version.as_bytes();
        let at = |i: usize| v.get(i).copied().unwrap_or(0);
        match (at(0), at(1), at(2)) {
            (b'5', b'.', c) if c != b'9' => Art::Schotter,
            (b'4', b'.', b'9') => Art::Schotter,
            (b'6', b'.', c) if c != b'9' => Art::Skyline,
            (b'5', b'.', b'9') => Art::Skyline,
            _ => Art::VersionOnly,
        }
    }
}

/// LOLWUT's text for `argv` (`argv[0]` = `LOLWUT`) on a server reporting `server_version`, drawing from
/// `rand`.
pub fn render(
    argv: &[&[u8]],
    server_version: &str,
    rand: &mut CRand,
) -> Result<String, ObserveError> {
    let (art, args) = if argv.len() >= 3 && c_eq(argv[1], "version") {
        let version = get_long(argv[2])?;
        (
            Art::for_version(&format!("{}.0.0", version as u32)),
            &argv[3..],
        )
    } else {
        (
            Art::for_version(server_version),
            argv.get(1..).unwrap_or_default(),
        )
    };
    match art {
        Art::Schotter => schotter(args, server_version, rand),
        Art::Skyline => crate::lolwut6::skyline(args, server_version, rand),
        Art::VersionOnly => Ok(format!("Redis ver. {server_version}\n")),
    }
}

/// LOLWUT's reply: [`render`]'s text as a verbatim `txt` string, or the error (nothing written).
pub fn reply_lolwut(
    out: &mut Vec<u8>,
    proto: Protocol,
    argv: &[&[u8]],
    server_version: &str,
    rand: &mut CRand,
) -> Result<(), ObserveError> {
    let text = render(argv, server_version, rand)?;
    reply::verbatim(out, proto, b"txt", text.as_bytes());
    Ok(())
}

/// Reads `args[i]` as a `long` when present, then clamps it to `min..=max`.
pub(crate) fn arg_or(
    args: &[&[u8]],
    i: usize,
    default: i64,
    min: i64,
    max: i64,
) -> Result<i64, ObserveError> {
    let value = match args.get(i) {
        Some(arg) => get_long(arg)?,
        None => default,
    };
    Ok(value.clamp(min, max))
}

/// `rand() / RAND_MAX / per_col * y` in floats.
fn offset(rand: &mut CRand, squares_per_col: i32, y: i32) -> f32 {
    rand.next_value() as f32 / RAND_MAX as f32 / squares_per_col as f32 * y as f32
}

/// `lwDrawSchotter`: the canvas, or `None` above [`CANVAS_PIXELS_MAX`].
fn draw_schotter(
    console_cols: i32,
    squares_per_row: i32,
    squares_per_col: i32,
    rand: &mut CRand,
) -> Option<Canvas> {
    let canvas_width = console_cols * 2;
    let padding = if canvas_width > 4 { 2 } else { 0 };
    let square_side = (canvas_width - padding * 2) as f32 / squares_per_row as f32;
    let canvas_height = (square_side * squares_per_col as f32 + (padding * 2) as f32) as i32;
    let pixels = u64::try_from(canvas_width).ok()? * u64::try_from(canvas_height).ok()?;
    if pixels > CANVAS_PIXELS_MAX {
        return None;
    }
    let mut canvas = Canvas::new(canvas_width, canvas_height, 0);
    for y in 0..squares_per_col {
        for x in 0..squares_per_row {
            let mut sx = (x as f32 * square_side + square_side / 2.0 + padding as f32) as i32;
            let mut sy = (y as f32 * square_side + square_side / 2.0 + padding as f32) as i32;
            let mut angle = 0.0f32;
            if y > 1 {
                let mut r1 = offset(rand, squares_per_col, y);
                let mut r2 = offset(rand, squares_per_col, y);
                let mut r3 = offset(rand, squares_per_col, y);
                if rand.next_value() % 2 != 0 {
                    r1 = -r1;
                }
                if rand.next_value() % 2 != 0 {
                    r2 = -r2;
                }
                if rand.next_value() % 2 != 0 {
                    r3 = -r3;
                }
                angle = r1;
                sx = (sx as f32 + r2 * square_side / 3.0) as i32;
                sy = (sy as f32 + r3 * square_side / 3.0) as i32;
            }
            canvas.square(sx, sy, square_side, angle, 1);
        }
    }
    Some(canvas)
}

/// Version 5's `renderCanvas`: 2×4 pixel cells as Braille characters (U+2800 + bits).
fn render_braille(canvas: &Canvas) -> String {
    let mut text = String::new();
    let mut y = 0;
    while y < canvas.height {
        let mut x = 0;
        while x < canvas.width {
            let bits = [
                (x, y),
                (x, y + 1),
                (x, y + 2),
                (x + 1, y),
                (x + 1, y + 1),
                (x + 1, y + 2),
                (x, y + 3),
                (x + 1, y + 3),
            ];
            let byte = bits
                .iter()
                .enumerate()
                .filter(|(_, &(px, py))| canvas.get(px, py) != 0)
                .fold(0u32, |acc, (bit, _)| acc | 1 << bit);
            text.push(char::from_u32(0x2800 + byte).unwrap_or(' '));
            x += 2;
        }
        if y != canvas.height - 1 {
            text.push('\n');
        }
        y += 4;
    }
    text
}

/// `lolwut5Command`.
fn schotter(
    args: &[&[u8]],
    server_version: &str,
    rand: &mut CRand,
) -> Result<String, ObserveError> {
    let cols = arg_or(args, 0, 66, 1, 1000)? as i32;
    let per_row = arg_or(args, 1, 8, 1, 200)? as i32;
    let per_col = arg_or(args, 2, 12, 1, 200)? as i32;
    let canvas = draw_schotter(cols, per_row, per_col, rand).ok_or(ObserveError::LolwutTooLarge)?;
    let mut text = render_braille(&canvas);
    text.push_str("\nGeorg Nees - schotter, plotter on paper, 1968. Redis ver. ");
    text.push_str(server_version);
    text.push('\n');
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(argv: &[&[u8]], seed: u32) -> Result<String, String> {
        render(argv, "7.0.15", &mut CRand::new(seed)).map_err(|e| e.to_string())
    }

    #[test]
    fn version_selection() {
        assert_eq!(Art::for_version("5.0.0"), Art::Schotter);
        assert_eq!(Art::for_version("4.9.1"), Art::Schotter);
        assert_eq!(Art::for_version("5.9.0"), Art::Skyline);
        assert_eq!(Art::for_version("6.2.0"), Art::Skyline);
        assert_eq!(Art::for_version("7.0.15"), Art::VersionOnly);
        assert_eq!(Art::for_version("55.0.0"), Art::VersionOnly);
        assert_eq!(text(&[b"lolwut"], 1), Ok("Redis ver. 7.0.15\n".into()));
        assert_eq!(
            text(&[b"lolwut", b"version"], 1),
            Ok("Redis ver. 7.0.15\n".into())
        );
        // (unsigned)4294967301 == 5
        assert!(text(&[b"lolwut", b"version", b"4294967301"], 1)
            .unwrap()
            .contains("Georg Nees"));
        assert_eq!(
            text(&[b"lolwut", b"version", b"x"], 1),
            Err("ERR value is not an integer or out of range".into())
        );
        assert_eq!(
            text(&[b"lolwut", b"version", b"5", b"1", b"x"], 1),
            Err("ERR value is not an integer or out of range".into())
        );
    }

    #[test]
    fn schotter_dimensions_and_determinism() {
        let a = text(&[b"lolwut", b"version", b"5"], 7).unwrap();
        assert_eq!(a, text(&[b"lolwut", b"version", b"5"], 7).unwrap());
        // 66 columns: canvas 132 wide, squares of 16 pixels, 12 rows: 196 pixels high, 49 text lines; the
        // last one (y = 192 is not height - 1) ends in a newline, so an empty line precedes the trailer.
        let lines: Vec<&str> = a.lines().collect();
        assert_eq!(lines.len(), 51);
        assert!(lines[..49].iter().all(|l| l.chars().count() == 66));
        assert_eq!(lines[49], "");
        assert_eq!(
            lines[50],
            "Georg Nees - schotter, plotter on paper, 1968. Redis ver. 7.0.15"
        );
        assert_eq!(
            text(&[b"lolwut", b"version", b"5", b"1000", b"1", b"200"], 1),
            Err("ERR LOLWUT canvas too large".into())
        );
    }
}
