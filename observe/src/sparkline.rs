//! Redis's `sparkline.c`: an ASCII graph of a sequence of samples, `rows` characters high (three levels per
//! row: `_`, `o`, `#` with the fill option, `|` below the top of a filled column), with each sample's label
//! written vertically under its column after one blank line.

/// The characters of one row's three levels, filled style (Redis's `charset_fill`).
const CHARSET_FILL: &[u8; 3] = b"_o#";
/// Levels per row.
const CHARSET_LEN: i64 = 3;
/// Blank rows between the graph and the labels.
const LABEL_MARGIN_TOP: usize = 1;

/// A sequence of samples to draw, each with an optional label.
#[derive(Debug, Default, Clone)]
pub struct Sequence {
    samples: Vec<(f64, Option<Vec<u8>>)>,
    min: f64,
    max: f64,
    labels: usize,
}

impl Sequence {
    /// An empty sequence.
    pub fn new() -> Sequence {
        Sequence::default()
    }

    /// Adds a sample (an empty label counts as none, as in Redis).
    pub fn push(&mut self, value: f64, label: Option<&str>) {
        let label = label
            .filter(|l| !l.is_empty())
            .map(|l| l.as_bytes().to_vec());
        if self.samples.is_empty() {
            self.min = value;
            self.max = value;
        } else if value < self.min {
            self.min = value;
        } else if value > self.max {
            self.max = value;
        }
        if label.is_some() {
            self.labels += 1;
        }
        self.samples.push((value, label));
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// Redis's `sparklineRender` with `SPARKLINE_FILL` (linear scale): the graph in chunks of `columns`
    /// samples, chunks separated by an empty line, appended to `out`.
    pub fn render_filled(&self, out: &mut String, columns: usize, rows: usize) {
        let mut start = 0;
        while start < self.samples.len() {
            let len = (self.samples.len() - start).min(columns);
            if start != 0 {
                out.push('\n');
            }
            self.render_range(out, rows, start, len);
            start += columns;
        }
    }

    /// Redis's `sparklineRenderRange` for `len` samples from `offset`.
    fn render_range(&self, out: &mut String, rows: usize, offset: usize, len: usize) {
        let mut relmax = self.max - self.min;
        if relmax == 0.0 {
            relmax = 1.0;
        }
        let steps = CHARSET_LEN * rows as i64;
        let mut chars = vec![b' '; len];
        let mut row = 0usize;
        loop {
            let mut more = false;
            chars.fill(b' ');
            for (j, slot) in chars.iter_mut().enumerate() {
                let (value, label) = &self.samples[j + offset];
                let relval = value - self.min;
                // C: `step = (int) (relval*steps)/relmax;` truncates twice.
                let mut step = (((relval * steps as f64) as i64) as f64 / relmax) as i64;
                step = step.clamp(0, steps - 1);
                if row < rows {
                    more = true;
                    let charidx = step - (rows - row - 1) as i64 * CHARSET_LEN;
                    if (0..CHARSET_LEN).contains(&charidx) {
                        *slot = CHARSET_FILL[charidx as usize];
                    } else if charidx >= CHARSET_LEN {
                        *slot = b'|';
                    }
                } else {
                    if self.labels > 0 && row - rows < LABEL_MARGIN_TOP {
                        more = true;
                        break;
                    }
                    if let Some(label) = label {
                        let label_char = row - rows - LABEL_MARGIN_TOP;
                        if label.len() > label_char {
                            more = true;
                            *slot = label[label_char];
                        }
                    }
                }
            }
            if !more {
                break;
            }
            row += 1;
            out.push_str(&String::from_utf8_lossy(&chars));
            out.push('\n');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_levels_and_vertical_labels() {
        let mut seq = Sequence::new();
        seq.push(1.0, Some("1s"));
        seq.push(12.0, Some("10s"));
        seq.push(6.0, None);
        let mut out = String::new();
        seq.render_filled(&mut out, 80, 4);
        // 12 steps: 1 -> step 0 (bottom `_`), 12 -> step 11 (top `#`), 6 -> (5*12)/11 = 5 (second row `#`).
        assert_eq!(out, " # \n | \n |#\n_||\n   \n11 \ns0 \n s \n");
    }

    #[test]
    fn long_sequences_render_in_chunks_of_columns() {
        let mut seq = Sequence::new();
        for j in 0..100 {
            seq.push(f64::from(j % 7), Some("x"));
        }
        let mut out = String::new();
        seq.render_filled(&mut out, 80, 4);
        // Each chunk: 4 graph rows, a blank row, 1 label row; chunks separated by an empty line.
        let chunks: Vec<&str> = out.split("\n\n").collect();
        assert_eq!(chunks.len(), 2);
        assert!(chunks[0].lines().all(|l| l.len() == 80));
        assert_eq!(chunks[0].lines().count(), 6);
        assert!(chunks[1].lines().all(|l| l.len() == 20));
        // Same scale in both chunks: the sample equal to the maximum is a full column.
        assert_eq!(&chunks[1][3..4], "#"); // sample 83: 83 % 7 == 6, the maximum
    }
}
