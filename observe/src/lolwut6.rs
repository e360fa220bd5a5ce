//! LOLWUT version 6 (`lolwut6.c`): a city skyline in four ANSI colours, one terminal cell per pixel.

use crate::lolwut::{arg_or, CRand, Canvas};
use crate::ObserveError;

/// One building (`struct skyscraper`).
struct Skyscraper {
    xoff: i32,
    width: i32,
    height: i32,
    windows: bool,
    color: u8,
}

/// `generateSkyscraper`.
fn skyscraper(canvas: &mut Canvas, si: &Skyscraper, rand: &mut CRand) {
    let start_y = canvas.height - 1;
    let end_y = start_y - si.height + 1;
    let mut y = start_y;
    while y >= end_y {
        for x in si.xoff..si.xoff + si.width {
            // The roof is four pixels narrower.
            if y == end_y && (x <= si.xoff + 1 || x >= si.xoff + si.width - 2) {
                continue;
            }
            let mut color = si.color;
            if si.windows
                && x > si.xoff + 1
                && x < si.xoff + si.width - 2
                && y > end_y + 1
                && y < start_y - 1
            {
                let rel_x = x - (si.xoff + 1);
                let rel_y = y - (end_y + 1);
                if (rel_x / 2) % 2 != 0 && rel_y % 2 != 0 {
                    loop {
                        color = 1 + (rand.next_value() % 2) as u8;
                        if color != si.color {
                            break;
                        }
                    }
                    if rel_x % 2 != 0 {
                        color = canvas.get(x - 1, y);
                    }
                }
            }
            canvas.draw(x, y, color);
        }
        y -= 1;
    }
}

/// `generateSkyline`: two background passes without windows, then the foreground with windows.
fn skyline_canvas(canvas: &mut Canvas, rand: &mut CRand) {
    let h = canvas.height;
    for color in [2u8, 1] {
        let mut offset = -10;
        while offset < canvas.width {
            offset += rand.next_value() % 8;
            let width = 10 + rand.next_value() % 9;
            let height = if color == 2 {
                h / 2 + (rand.next_value() % h) / 2
            } else {
                h / 2 + (rand.next_value() % h) / 3
            };
            let si = Skyscraper {
                xoff: offset,
                width,
                height,
                windows: false,
                color,
            };
            skyscraper(canvas, &si, rand);
            offset += if color == 2 { width / 2 } else { width + 1 };
        }
    }
    let mut offset = -10;
    while offset < canvas.width {
        offset += rand.next_value() % 8;
        let mut width = 5 + rand.next_value() % 14;
        if width % 4 != 0 {
            width += width % 3;
        }
        let height = h / 3 + (rand.next_value() % h) / 2;
        let si = Skyscraper {
            xoff: offset,
            width,
            height,
            windows: true,
            color: 0,
        };
        skyscraper(canvas, &si, rand);
        offset += width + 5;
    }
}

/// Version 6's `renderCanvas`: each pixel a space with foreground and background colour set.
fn render_ansi(canvas: &Canvas) -> String {
    let mut text =
        String::with_capacity(usize::try_from(canvas.width * canvas.height).unwrap_or(0) * 22 + 16);
    for y in 0..canvas.height {
        for x in 0..canvas.width {
            let escape = match canvas.get(x, y) {
                1 => "0;90;100m",
                2 => "0;37;47m",
                3 => "0;97;107m",
                _ => "0;30;40m",
            };
            text.push_str("\x1b[");
            text.push_str(escape);
            text.push_str(" \x1b[0m");
        }
        if y != canvas.height - 1 {
            text.push('\n');
        }
    }
    text
}

/// `lolwut6Command`: `[cols [rows]]`, defaults 80 × 20, each clamped to `1..=1000`.
pub(crate) fn skyline(
    args: &[&[u8]],
    server_version: &str,
    rand: &mut CRand,
) -> Result<String, ObserveError> {
    let cols = arg_or(args, 0, 80, 1, 1000)? as i32;
    let rows = arg_or(args, 1, 20, 1, 1000)? as i32;
    let mut canvas = Canvas::new(cols, rows, 3);
    skyline_canvas(&mut canvas, rand);
    let mut text = render_ansi(&canvas);
    text.push_str(
        "\nDedicated to the 8 bit game developers of past and present.\n\
         Original 8 bit image from Plaguemon by hikikomori. Redis ver. ",
    );
    text.push_str(server_version);
    text.push('\n');
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lolwut::render;

    #[test]
    fn skyline_shape() {
        let text = render(
            &[b"LOLWUT", b"VERSION", b"6", b"10", b"4"],
            "7.0.15",
            &mut CRand::new(3),
        )
        .unwrap();
        let lines: Vec<&str> = text.split('\n').collect();
        assert_eq!(lines.len(), 4 + 2 + 1);
        for line in &lines[..4] {
            assert_eq!(line.matches("\x1b[0m").count(), 10);
        }
        assert_eq!(
            lines[5],
            "Original 8 bit image from Plaguemon by hikikomori. Redis ver. 7.0.15"
        );
        // Clamped: 0 columns draw 1.
        let one = render(
            &[b"LOLWUT", b"VERSION", b"6", b"0", b"1"],
            "7.0.15",
            &mut CRand::new(3),
        )
        .unwrap();
        assert_eq!(
            one.split('\n').next().unwrap().matches("\x1b[0m").count(),
            1
        );
    }
}
