//! SVG plots: horizontal bars (median with a min–max whisker) per server, lines against a numeric sweep
//! parameter, and RSS / used_memory over time.

use std::path::Path;

use anyhow::{anyhow, Result};
use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;

use crate::report::{fmt, headline, Summary};
use crate::runner::{slug, RunData};
use crate::workload::Workload;

fn err<E: std::fmt::Display>(error: E) -> anyhow::Error {
    anyhow!("plotting: {error}")
}

/// Draws every plot; returns `(file name, title)` pairs in report order.
pub fn draw_all(
    data: &RunData,
    summary: &[Summary],
    out_dir: &Path,
) -> Result<Vec<(String, String)>> {
    let kinds: Vec<_> = data
        .points
        .iter()
        .map(|p| Workload::from_table(&p.workload).map(|w| w.kind))
        .collect::<Result<_>>()?;
    let numeric_sweep = data.spec.sweep.is_some()
        && data.points.len() > 1
        && data.points.iter().all(|p| p.x.is_some());
    let mut drawn = Vec::new();
    let mut seen = Vec::new();
    for kind in &kinds {
        for metric in headline(*kind).iter().filter(|m| m.plot) {
            if seen.contains(&metric.name) {
                continue;
            }
            seen.push(metric.name);
            let rows: Vec<&Summary> = summary.iter().filter(|s| s.metric == metric.name).collect();
            if rows.is_empty() {
                continue;
            }
            let file = format!("{}.svg", metric.name);
            let path = out_dir.join(&file);
            metric_chart(data, &rows, metric.title, numeric_sweep, &path)?;
            drawn.push((file, metric.title.to_owned()));
        }
    }
    for point in &data.points {
        let any = data
            .samples
            .iter()
            .any(|s| s.point == point.label && s.round == 0);
        if any {
            let file = format!("memory-{}.svg", slug(&point.label));
            let title = format!(
                "RSS (solid) and used_memory (dashed) over time, {}",
                point.label
            );
            memory_chart(&out_dir.join(&file), &title, data, &point.label)?;
            drawn.push((file, title));
        }
    }
    Ok(drawn)
}

/// Lines against the sweep value when the spec sweeps a numeric parameter, else bars per (point, server).
fn metric_chart(
    data: &RunData,
    rows: &[&Summary],
    title: &str,
    numeric_sweep: bool,
    path: &Path,
) -> Result<()> {
    if numeric_sweep {
        let param = data.spec.sweep.as_ref().map_or("", |s| s.param.as_str());
        let series: Vec<(String, Vec<(f64, f64)>)> = data
            .servers
            .iter()
            .map(|plan| {
                let points = data
                    .points
                    .iter()
                    .filter_map(|p| {
                        let s = rows
                            .iter()
                            .find(|s| s.point == p.label && s.server == plan.label)?;
                        Some((p.x?, s.median))
                    })
                    .collect();
                (plan.label.clone(), points)
            })
            .filter(|(_, points): &(String, Vec<_>)| !points.is_empty())
            .collect();
        line_chart(path, title, param, &series)?;
    } else {
        let multi = data.points.len() > 1;
        let bars: Vec<Bar> = data
            .points
            .iter()
            .flat_map(|p| data.servers.iter().map(move |s| (p, s)))
            .filter_map(|(p, plan)| {
                let s = rows
                    .iter()
                    .find(|s| s.point == p.label && s.server == plan.label)?;
                let label = if multi {
                    format!("{} @ {}", plan.label, p.label)
                } else {
                    plan.label.clone()
                };
                Some(Bar {
                    label,
                    median: s.median,
                    min: s.min,
                    max: s.max,
                })
            })
            .collect();
        bar_chart(path, title, &bars)?;
    }
    Ok(())
}

/// One bar: median with a min–max whisker.
pub struct Bar {
    /// Row label.
    pub label: String,
    /// Bar length.
    pub median: f64,
    /// Whisker start.
    pub min: f64,
    /// Whisker end.
    pub max: f64,
}

/// A horizontal bar chart (labels read better down the side than under rotated bars).
pub fn bar_chart(path: &Path, title: &str, bars: &[Bar]) -> Result<()> {
    let n = bars.len();
    let height = 90 + 26 * n as u32;
    let root = SVGBackend::new(path, (900, height)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let top = bars.iter().map(|b| b.max.max(b.median)).fold(0.0, f64::max);
    let top = if top > 0.0 { top * 1.1 } else { 1.0 };
    let label_width = bars
        .iter()
        .map(|b| b.label.len())
        .max()
        .unwrap_or(5)
        .clamp(6, 60) as u32
        * 7
        + 10;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(label_width)
        .build_cartesian_2d(0.0..top, (0..n).into_segmented())
        .map_err(err)?;
    let labels: Vec<&str> = bars.iter().map(|b| b.label.as_str()).collect();
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(n)
        .y_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) => labels.get(*i).map_or(String::new(), |s| (*s).to_owned()),
            _ => String::new(),
        })
        .x_label_formatter(&|x| fmt(*x))
        .draw()
        .map_err(err)?;
    chart
        .draw_series(bars.iter().enumerate().map(|(i, b)| {
            let mut rect = Rectangle::new(
                [
                    (0.0, SegmentValue::Exact(i)),
                    (b.median, SegmentValue::Exact(i + 1)),
                ],
                Palette99::pick(i).mix(0.8).filled(),
            );
            rect.set_margin(3, 3, 0, 0);
            rect
        }))
        .map_err(err)?;
    chart
        .draw_series(bars.iter().enumerate().map(|(i, b)| {
            PathElement::new(
                vec![
                    (b.min, SegmentValue::CenterOf(i)),
                    (b.max, SegmentValue::CenterOf(i)),
                ],
                BLACK,
            )
        }))
        .map_err(err)?;
    chart
        .draw_series(bars.iter().enumerate().map(|(i, b)| {
            Text::new(
                format!(" {}", fmt(b.median)),
                (b.max.max(b.median), SegmentValue::CenterOf(i)),
                ("sans-serif", 12),
            )
        }))
        .map_err(err)?;
    root.present().map_err(err)?;
    Ok(())
}

/// Lines of median values against a numeric sweep parameter, one per server.
pub fn line_chart(
    path: &Path,
    title: &str,
    x_name: &str,
    series: &[(String, Vec<(f64, f64)>)],
) -> Result<()> {
    let root = SVGBackend::new(path, (900, 500)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let xs = series.iter().flat_map(|(_, p)| p.iter().map(|&(x, _)| x));
    let (x_min, x_max) = xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
        (lo.min(x), hi.max(x))
    });
    let (x_min, x_max) = if x_min < x_max {
        (x_min, x_max)
    } else {
        (x_min - 1.0, x_min + 1.0)
    };
    let y_max = series
        .iter()
        .flat_map(|(_, p)| p.iter().map(|&(_, y)| y))
        .fold(0.0, f64::max);
    let y_max = if y_max > 0.0 { y_max * 1.1 } else { 1.0 };
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(60)
        .build_cartesian_2d(x_min..x_max, 0.0..y_max)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc(x_name)
        .y_label_formatter(&|y| fmt(*y))
        .draw()
        .map_err(err)?;
    for (i, (label, points)) in series.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        chart
            .draw_series(LineSeries::new(
                points.iter().copied(),
                color.stroke_width(2),
            ))
            .map_err(err)?
            .label(label.as_str())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
        chart
            .draw_series(points.iter().map(|&p| Circle::new(p, 3, color.filled())))
            .map_err(err)?;
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(err)?;
    root.present().map_err(err)?;
    Ok(())
}

/// RSS (solid) and used_memory (dashed) in MB over time for round 0 of one point, one colour per server.
pub fn memory_chart(path: &Path, title: &str, data: &RunData, point: &str) -> Result<()> {
    let root = SVGBackend::new(path, (900, 500)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let samples: Vec<_> = data
        .samples
        .iter()
        .filter(|s| s.point == point && s.round == 0)
        .collect();
    let t_max = samples.iter().map(|s| s.t_s).fold(0.0, f64::max).max(0.1);
    let mb = |b: u64| b as f64 / (1024.0 * 1024.0);
    let y_max = samples
        .iter()
        .map(|s| mb(s.rss_bytes.max(s.used_memory)))
        .fold(0.0, f64::max)
        .max(0.1)
        * 1.1;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 16))
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..t_max, 0.0..y_max)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("seconds")
        .y_desc("MB")
        .draw()
        .map_err(err)?;
    for (i, plan) in data.servers.iter().enumerate() {
        let mine: Vec<_> = samples.iter().filter(|s| s.server == plan.label).collect();
        if mine.is_empty() {
            continue;
        }
        let color = Palette99::pick(i).to_rgba();
        chart
            .draw_series(LineSeries::new(
                mine.iter().map(|s| (s.t_s, mb(s.rss_bytes))),
                color.stroke_width(2),
            ))
            .map_err(err)?
            .label(plan.label.as_str())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
        chart
            .draw_series(DashedLineSeries::new(
                mine.iter().map(|s| (s.t_s, mb(s.used_memory))),
                6,
                4,
                color.stroke_width(1),
            ))
            .map_err(err)?;
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(err)?;
    root.present().map_err(err)?;
    Ok(())
}
