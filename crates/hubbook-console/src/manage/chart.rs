//! Report charts: bars for figures per group, a line for a series over weeks, days or hours,
//! drawn server-side with plotters' SVG backend and inlined in the page as an `<svg
//! role="img">` named by its `<title>` and `<desc>`. The SVG carries presentation attributes
//! only (no `style`, which the console's Content-Security-Policy blocks) and names only the
//! generic `sans-serif` font, so nothing is fetched; the table beside it is the accessible
//! alternative with every figure.

use std::ops::Range;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// The drawing's size in SVG units; the page scales it to its column.
const SIZE: (u32, u32) = (720, 340);
/// The width of the x axis's labels area, in SVG units (the drawing less the y axis and margins).
const X_AXIS_WIDTH: usize = 620;
/// The width a label's character takes on the x axis, with room between labels.
const X_LABEL_CHAR_WIDTH: usize = 10;
/// The longest category label drawn, in characters (the table has the full text).
const LABEL_CHARS: usize = 14;
/// The series' colours, from the NHS palette, each at least 3:1 against white.
const COLOURS: [RGBColor; 3] = [
    RGBColor(0x00, 0x5e, 0xb8),
    RGBColor(0x33, 0x00, 0x72),
    RGBColor(0x00, 0x7f, 0x3b),
];
/// The colour of a requirement's line.
const TARGET: RGBColor = RGBColor(0xd5, 0x28, 0x1b);
/// The height of the legend's strip above the plot.
const LEGEND_HEIGHT: u32 = 36;
/// The text colour of the NHS design system.
const TEXT: RGBColor = RGBColor(0x21, 0x2b, 0x32);
/// The colour of the grid lines.
const GRID: RGBColor = RGBColor(0xd8, 0xdd, 0xe0);

/// How a chart draws its series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Bars side by side for each group.
    Bars,
    /// A line through the groups, in order (weeks, days, hours).
    Line,
}

/// What the values measure, for the y axis's numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unit {
    /// A rate from 0 to 1, shown as a percentage.
    Percent,
    /// A count or an amount, shown as a number.
    Number,
}

/// One series: its name for the legend and a value per group (none where it has none).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Series {
    /// The legend's name.
    pub name: String,
    /// One value per group.
    pub values: Vec<Option<f64>>,
}

/// A chart of a report: groups along the x axis, one or more series of values.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Chart {
    /// The chart's accessible name.
    pub title: String,
    /// What it shows, for screen readers (with where the figures are in full).
    pub description: String,
    /// Bars or a line.
    pub kind: Kind,
    /// What the values measure.
    pub unit: Unit,
    /// The y axis's title.
    pub y_title: String,
    /// The groups' labels, in order.
    pub labels: Vec<String>,
    /// The series.
    pub series: Vec<Series>,
    /// A requirement to draw as a horizontal line, with its legend name.
    pub target: Option<(f64, String)>,
}

impl Chart {
    /// The chart as an inline SVG element whose ids start with `id`, or `None` when there is
    /// nothing to draw (no groups, or no value at all) or the drawing failed.
    pub fn svg(&self, id: &str) -> Option<String> {
        let top = self
            .series
            .iter()
            .flat_map(|s| s.values.iter().flatten())
            .copied()
            .chain(self.target.as_ref().map(|(v, _)| *v))
            .filter(|v| v.is_finite())
            .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))))?;
        if self.labels.is_empty() {
            return None;
        }
        let mut out = String::new();
        if let Err(e) = self.draw(&mut out, nice_top(top, self.unit)) {
            tracing::error!(error = %e, chart = %self.title, "a report chart could not be drawn");
            return None;
        }
        Some(self.accessible(&out, id))
    }

    /// Draws the chart into `out` with the y axis from 0 to `top`.
    fn draw(&self, out: &mut String, top: f64) -> Result<(), Box<dyn std::error::Error + '_>> {
        let n = self.labels.len();
        let unit = self.unit;
        let labels = &self.labels;
        let x_label = move |x: &f64| -> String {
            let i = x.floor().max(0.0) as usize;
            labels.get(i).map(|l| short(l)).unwrap_or_default()
        };
        let y_label = move |y: &f64| -> String {
            match unit {
                Unit::Percent => format!("{:.0}%", y * 100.0),
                Unit::Number if top < 10.0 => format!("{y:.1}"),
                Unit::Number => format!("{y:.0}"),
            }
        };
        let font = || ("sans-serif", 19).into_font().color(&TEXT);
        let root = SVGBackend::with_string(out, SIZE).into_drawing_area();
        root.fill(&WHITE)?;
        // The legend (when there is more than one thing to tell apart) in a strip above the
        // plot, so that it never hides a bar.
        let mut legend: Vec<(String, RGBColor, bool)> = self
            .series
            .iter()
            .enumerate()
            .map(|(j, s)| (s.name.clone(), COLOURS[j % COLOURS.len()], false))
            .collect();
        if let Some((_, name)) = &self.target {
            legend.push((name.clone(), TARGET, true));
        }
        let plot = if legend.len() > 1 {
            let (strip, plot) = root.split_vertically(LEGEND_HEIGHT);
            let mut x = 80;
            for (name, colour, is_line) in &legend {
                let y = LEGEND_HEIGHT as i32 / 2;
                if *is_line {
                    strip.draw(&PathElement::new(
                        [(x, y), (x + 16, y)],
                        colour.stroke_width(3),
                    ))?;
                } else {
                    strip.draw(&Rectangle::new(
                        [(x, y - 7), (x + 14, y + 7)],
                        colour.filled(),
                    ))?;
                }
                strip.draw(&Text::new(
                    name.clone(),
                    (x + 22, y),
                    font().pos(Pos::new(HPos::Left, VPos::Center)),
                ))?;
                x += 46 + 9 * name.chars().count() as i32;
            }
            plot
        } else {
            root.clone()
        };
        let mut chart = ChartBuilder::on(&plot)
            .margin(16)
            .x_label_area_size(40)
            .y_label_area_size(64)
            .build_cartesian_2d(Groups::new(&self.labels), 0f64..top)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .bold_line_style(GRID)
            .light_line_style(WHITE)
            .axis_style(TEXT)
            .x_label_formatter(&x_label)
            .y_label_formatter(&y_label)
            .y_labels(6)
            .y_desc(self.y_title.as_str())
            .label_style(font())
            .axis_desc_style(font())
            .draw()?;
        let count = self.series.len().max(1);
        for (j, series) in self.series.iter().enumerate() {
            let colour = COLOURS[j % COLOURS.len()];
            match self.kind {
                Kind::Bars => {
                    let width = 0.7 / count as f64;
                    chart.draw_series(series.values.iter().enumerate().filter_map(|(i, v)| {
                        let left = i as f64 + 0.15 + j as f64 * width;
                        v.map(|v| Rectangle::new([(left, 0.0), (left + width, v)], colour.filled()))
                    }))?;
                }
                Kind::Line => {
                    // A line through each run of groups with a value, a dot on each value.
                    for run in runs(&series.values) {
                        chart
                            .draw_series(run.iter().map(|&p| Circle::new(p, 4, colour.filled())))?;
                        chart.draw_series(LineSeries::new(run, colour.stroke_width(3)))?;
                    }
                }
            }
        }
        if let Some((value, _)) = &self.target {
            chart.draw_series(LineSeries::new(
                [(0.0, *value), (n as f64, *value)],
                TARGET.stroke_width(2),
            ))?;
        }
        root.present()?;
        Ok(())
    }

    /// The drawing as an image with an accessible name: the `<svg>` scales to its column,
    /// says it is an image, and is named by its title and described by its description.
    fn accessible(&self, drawn: &str, id: &str) -> String {
        let body = drawn.find('>').map_or(drawn, |i| &drawn[i + 1..]);
        format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" width=\"100%\" \
             role=\"img\" aria-labelledby=\"{id}-title {id}-desc\" class=\"console-chart\">\n\
             <title id=\"{id}-title\">{title}</title>\n<desc id=\"{id}-desc\">{desc}</desc>{body}",
            w = SIZE.0,
            h = SIZE.1,
            title = escape(&self.title),
            desc = escape(&self.description),
        )
    }
}

/// The x axis of groups: each group one unit wide, labelled at its centre; when their labels
/// would not fit side by side, every k-th group is labelled.
struct Groups {
    count: usize,
    step: usize,
}

impl Groups {
    fn new(labels: &[String]) -> Self {
        let widest = labels
            .iter()
            .map(|l| short(l).chars().count())
            .max()
            .unwrap_or(1);
        let fits = (X_AXIS_WIDTH / ((widest + 2) * X_LABEL_CHAR_WIDTH)).max(1);
        Self {
            count: labels.len(),
            step: labels.len().div_ceil(fits).max(1),
        }
    }
}

impl Ranged for Groups {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let share = value / self.count.max(1) as f64;
        limit.0 + (share * f64::from(limit.1 - limit.0)).round() as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            return Vec::new();
        }
        (0..self.count)
            .step_by(self.step)
            .map(|i| i as f64 + 0.5)
            .collect()
    }

    fn range(&self) -> Range<f64> {
        0.0..self.count as f64
    }
}

/// The points of each run of consecutive groups that have a value, at the groups' centres.
fn runs(values: &[Option<f64>]) -> Vec<Vec<(f64, f64)>> {
    let mut runs: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut open = false;
    for (i, v) in values.iter().enumerate() {
        match (v, open) {
            (Some(v), true) => runs
                .last_mut()
                .into_iter()
                .for_each(|r| r.push((i as f64 + 0.5, *v))),
            (Some(v), false) => runs.push(vec![(i as f64 + 0.5, *v)]),
            (None, _) => {}
        }
        open = v.is_some();
    }
    runs
}

/// A label cut to [`LABEL_CHARS`] characters, with an ellipsis when cut.
fn short(label: &str) -> String {
    if label.chars().count() <= LABEL_CHARS {
        label.to_owned()
    } else {
        let cut: String = label.chars().take(LABEL_CHARS - 1).collect();
        format!("{}\u{2026}", cut.trim_end())
    }
}

/// The top of the y axis: a little above the largest value, at a round number (and at most
/// 100% for rates that do not exceed it).
fn nice_top(largest: f64, unit: Unit) -> f64 {
    let padded = (largest * 1.1).max(match unit {
        Unit::Percent => 0.05,
        Unit::Number => 1.0,
    });
    let magnitude = 10f64.powf(padded.log10().floor());
    let top = [1.0, 1.5, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|t| *t >= padded)
        .unwrap_or(padded);
    if unit == Unit::Percent && largest <= 1.0 {
        top.min(1.0)
    } else {
        top
    }
}

/// Text escaped for XML.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use plotters::coord::ranged1d::BoldPoints;

    use super::*;

    fn chart(kind: Kind, values: Vec<Option<f64>>) -> Chart {
        Chart {
            title: "Utilisation by week".into(),
            description: "A line of the utilisation of each week; the table has the figures."
                .into(),
            kind,
            unit: Unit::Percent,
            y_title: "Utilisation".into(),
            labels: (0..values.len())
                .map(|i| format!("2026-W{:02}", 40 + i))
                .collect(),
            series: vec![Series {
                name: "Utilisation".into(),
                values,
            }],
            target: None,
        }
    }

    #[test]
    fn charts_are_named_images_without_style_or_remote_fonts() {
        for kind in [Kind::Bars, Kind::Line] {
            let mut c = chart(kind, vec![Some(0.5), None, Some(0.8)]);
            c.target = Some((0.9, "Target <90%>".into()));
            let svg = c.svg("chart").unwrap();
            assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
            assert!(svg.contains("role=\"img\" aria-labelledby=\"chart-title chart-desc\""));
            assert!(svg.contains("<title id=\"chart-title\">Utilisation by week</title>"));
            assert!(svg.contains("Target &lt;90%&gt;"), "the legend is escaped");
            assert_eq!(svg.matches("<svg").count(), 1, "{svg}");
            assert!(!svg.contains("style="), "no style attribute: {svg}");
            assert!(!svg.contains("url("), "no fetched resource");
            let fonts: Vec<&str> = svg
                .split("font-family=\"")
                .skip(1)
                .map(|rest| &rest[..rest.find('"').unwrap()])
                .collect();
            assert!(!fonts.is_empty() && fonts.iter().all(|f| *f == "sans-serif"));
            assert!(svg.contains("\n2026-W40\n") && svg.contains("\n2026-W42\n"));
            assert!(svg.trim_end().ends_with("</svg>"));
        }
        let bars = chart(Kind::Bars, vec![Some(0.5), None, Some(0.8)])
            .svg("c")
            .unwrap();
        assert_eq!(
            bars.matches("fill=\"#005EB8\"").count(),
            2,
            "one bar per value, and no legend for one series: {bars}"
        );
    }

    #[test]
    fn lines_break_where_a_group_has_no_value() {
        assert_eq!(
            runs(&[Some(1.0), Some(2.0), None, Some(3.0), None]),
            vec![vec![(0.5, 1.0), (1.5, 2.0)], vec![(3.5, 3.0)]]
        );
        assert!(runs(&[None, None]).is_empty());
    }

    #[test]
    fn long_axes_label_every_kth_group_so_labels_never_overlap() {
        let weeks: Vec<String> = (1..=53).map(|w| format!("2026-W{w:02}")).collect();
        let axis = Groups::new(&weeks);
        let labelled = axis.key_points(BoldPoints(4));
        assert!(
            labelled.len() * 10 * X_LABEL_CHAR_WIDTH <= X_AXIS_WIDTH,
            "{labelled:?}"
        );
        assert_eq!(labelled[0], 0.5);
        let few = Groups::new(&["Mon".to_owned(), "Tue".to_owned()]);
        assert_eq!(few.key_points(BoldPoints(4)), [0.5, 1.5]);
    }

    #[test]
    fn nothing_to_draw_is_no_chart() {
        assert_eq!(chart(Kind::Bars, vec![None, None]).svg("c"), None);
        assert_eq!(chart(Kind::Line, vec![]).svg("c"), None);
    }

    #[test]
    fn axes_end_at_round_numbers_and_labels_are_cut() {
        assert_eq!(nice_top(0.42, Unit::Percent), 0.5);
        assert_eq!(nice_top(0.95, Unit::Percent), 1.0);
        assert_eq!(nice_top(0.0, Unit::Percent), 0.05);
        assert_eq!(nice_top(73.0, Unit::Number), 100.0);
        assert_eq!(nice_top(98.3, Unit::Number), 150.0);
        assert_eq!(nice_top(180.0, Unit::Number), 200.0);
        assert_eq!(nice_top(0.0, Unit::Number), 1.0);
        assert_eq!(short("Hub North"), "Hub North");
        assert_eq!(short("Smith, Jones & Partners"), "Smith, Jones\u{2026}");
    }
}
