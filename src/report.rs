//! Evaluation reports: a table for the terminal, JSON for machines, Markdown and SVG plots for
//! a report directory.

use std::fmt::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::bootstrap::{Calls, Interval, Intervals, Paired, intervals};
use crate::labels::N_LEVELS;
use crate::metrics::{ClassScore, Scores, confusion_matrix, per_class};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EvalReport {
    #[serde(flatten)]
    pub scores: Scores,
    pub model: String,
    pub data: String,
    pub data_sha256: String,
    pub level_per_class: Vec<ClassScore>,
    /// Rows are true levels 0–10, columns predicted levels.
    pub level_confusion: Vec<Vec<usize>>,
    pub binary_confusion: Option<Vec<Vec<usize>>>,
    /// Bootstrap 95 % intervals of binary F1 and weighted F1 (2,000 resamples, fixed seed).
    pub intervals: Intervals,
    /// With `eval --compare`: the other model and the paired difference (this − that).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compared_with: Option<(String, Paired)>,
}

impl EvalReport {
    pub fn new(
        scores: Scores,
        (model, data, data_sha256): (String, String, String),
        level: (&[usize], &[usize]),
        binary: Option<(&[usize], &[usize])>,
    ) -> Self {
        let labels: Vec<usize> = (0..N_LEVELS).collect();
        let intervals = intervals(&Calls {
            level_true: level.0,
            level_pred: level.1,
            binary: &binary_pairs(level.0.len(), binary),
        });
        Self {
            intervals,
            compared_with: None,
            scores,
            model,
            data,
            data_sha256,
            level_per_class: per_class(level.0, level.1, &labels),
            level_confusion: confusion_matrix(level.0, level.1, N_LEVELS),
            binary_confusion: binary.map(|(t, p)| confusion_matrix(t, p, 2)),
        }
    }

    /// This report's calls, for a paired comparison with another model's on the same posts.
    pub fn calls_of<'a>(
        level: (&'a [usize], &'a [usize]),
        binary: &'a [Option<(usize, usize)>],
    ) -> Calls<'a> {
        Calls {
            level_true: level.0,
            level_pred: level.1,
            binary,
        }
    }

    /// The intervals as text: "85.71 % [81.2, 89.9]".
    fn with_interval(v: Option<Interval>) -> String {
        v.map_or_else(
            || "n/a".into(),
            |i| {
                format!(
                    "{:.2} % [{:.1}, {:.1}]",
                    100.0 * i.value,
                    100.0 * i.low,
                    100.0 * i.high
                )
            },
        )
    }

    fn comparison_lines(&self) -> String {
        let Some((other, p)) = &self.compared_with else {
            return String::new();
        };
        let diff = |d: Option<(Interval, f64)>| {
            d.map_or_else(
                || "n/a".into(),
                |(i, not_better)| {
                    format!(
                        "{:+.2} points [{:+.1}, {:+.1}], not better in {:.1} % of resamples",
                        100.0 * i.value,
                        100.0 * i.low,
                        100.0 * i.high,
                        100.0 * not_better
                    )
                },
            )
        };
        format!(
            "paired bootstrap against {other}:\n  binary F1 {}\n  weighted F1 {}\n",
            diff(p.binary_f1),
            diff(Some(p.level_weighted_f1))
        )
    }

    /// A plain-text summary for the terminal.
    pub fn table(&self) -> String {
        let s = &self.scores;
        let pct = |v: f64| format!("{:6.2} %", 100.0 * v);
        let opt = |v: Option<f64>| v.map_or_else(|| "   n/a  ".to_string(), pct);
        let mut out = String::new();
        let _ = writeln!(
            out,
            "model  {}\ndata   {} ({} posts)\n",
            self.model, self.data, s.n
        );
        let _ = writeln!(out, "binary  F1 (high risk)      {}", opt(s.binary_f1));
        let _ = writeln!(out, "binary  accuracy            {}", opt(s.binary_accuracy));
        let _ = writeln!(out, "level   weighted F1         {}", pct(s.level_weighted_f1));
        let _ = writeln!(out, "level   macro F1            {}", pct(s.level_macro_f1));
        let _ = writeln!(out, "level   accuracy            {}", pct(s.level_accuracy));
        let _ = writeln!(
            out,
            "level   within-1 accuracy   {}",
            pct(s.level_within1_accuracy)
        );
        let _ = writeln!(out, "level   mean abs. error     {:6.3}", s.level_mae);
        let _ = writeln!(
            out,
            "\n95 % bootstrap intervals: binary F1 {}, weighted F1 {}",
            Self::with_interval(self.intervals.binary_f1),
            Self::with_interval(Some(self.intervals.level_weighted_f1))
        );
        out += &self.comparison_lines();
        let _ = writeln!(out, "\nlevel  precision  recall     F1  support");
        for c in &self.level_per_class {
            let _ = writeln!(
                out,
                "{:5}  {:9.4}  {:6.4}  {:6.4}  {:7}",
                c.label, c.precision, c.recall, c.f1, c.support
            );
        }
        out
    }

    pub fn markdown(&self) -> String {
        let s = &self.scores;
        let opt = |v: Option<f64>| v.map_or_else(|| "n/a".into(), |v| format!("{:.2} %", 100.0 * v));
        let mut out = format!(
            "# Evaluation\n\nModel: `{}`  \nData: `{}` ({} posts, SHA-256 `{}`)\n\n\
             | metric | value |\n|---|---|\n\
             | binary F1 (high risk) | {} |\n| binary accuracy | {} |\n\
             | level weighted F1 | {:.2} % |\n| level macro F1 | {:.2} % |\n\
             | level accuracy | {:.2} % |\n| level within-1 accuracy | {:.2} % |\n| level MAE | {:.3} |\n\n\
             ![confusion matrix](confusion.svg)\n\n![per-level F1](per_class_f1.svg)\n\n\
             | level | precision | recall | F1 | support |\n|---|---|---|---|---|\n",
            self.model,
            self.data,
            s.n,
            self.data_sha256,
            opt(s.binary_f1),
            opt(s.binary_accuracy),
            100.0 * s.level_weighted_f1,
            100.0 * s.level_macro_f1,
            100.0 * s.level_accuracy,
            100.0 * s.level_within1_accuracy,
            s.level_mae
        );
        for c in &self.level_per_class {
            let _ = writeln!(
                out,
                "| {} | {:.4} | {:.4} | {:.4} | {} |",
                c.label, c.precision, c.recall, c.f1, c.support
            );
        }
        let _ = writeln!(
            out,
            "\n95 % bootstrap intervals ({} resamples, seed {}): binary F1 {}, weighted F1 {}\n",
            crate::bootstrap::RESAMPLES,
            crate::bootstrap::SEED,
            Self::with_interval(self.intervals.binary_f1),
            Self::with_interval(Some(self.intervals.level_weighted_f1))
        );
        out += &self.comparison_lines();
        out
    }

    /// Writes `report.md`, `report.json`, `confusion.svg` and `per_class_f1.svg` into `dir`.
    pub fn write_dir(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        std::fs::write(dir.join("report.md"), self.markdown())?;
        std::fs::write(
            dir.join("report.json"),
            serde_json::to_string_pretty(self).expect("report serialises") + "\n",
        )?;
        std::fs::write(dir.join("confusion.svg"), confusion_svg(&self.level_confusion))?;
        std::fs::write(dir.join("per_class_f1.svg"), per_class_svg(&self.level_per_class))
    }
}

/// Heat map of a confusion matrix; cell shade is the share of its row.
pub fn confusion_svg(m: &[Vec<usize>]) -> String {
    let n = m.len();
    let (cell, margin) = (36, 60);
    let size = margin + cell * n + 10;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{size}\" height=\"{size}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"{}\" y=\"14\" text-anchor=\"middle\">predicted level</text>\n\
         <text x=\"14\" y=\"{}\" text-anchor=\"middle\" transform=\"rotate(-90 14 {})\">true level</text>\n",
        margin + cell * n / 2,
        margin + cell * n / 2,
        margin + cell * n / 2
    );
    for (i, row) in m.iter().enumerate() {
        let total: usize = row.iter().sum::<usize>().max(1);
        let _ = writeln!(
            svg,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{i}</text>",
            margin - 6,
            margin + cell * i + cell / 2 + 4
        );
        let _ = writeln!(
            svg,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{i}</text>",
            margin + cell * i + cell / 2,
            margin - 8
        );
        for (j, &v) in row.iter().enumerate() {
            let share = v as f64 / total as f64;
            let shade = (255.0 * (1.0 - share)) as u8;
            let ink = if share > 0.5 { "white" } else { "black" };
            let (x, y) = (margin + cell * j, margin + cell * i);
            let _ = writeln!(
                svg,
                "<rect x=\"{x}\" y=\"{y}\" width=\"{cell}\" height=\"{cell}\" fill=\"rgb({shade},{shade},255)\" stroke=\"#ccc\"/>\
                 <text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"{ink}\">{v}</text>",
                x + cell / 2,
                y + cell / 2 + 4
            );
        }
    }
    svg + "</svg>\n"
}

/// Bar chart of F1 per level.
pub fn per_class_svg(scores: &[ClassScore]) -> String {
    let (bar, gap, height, margin) = (30, 8, 200, 40);
    let width = margin + scores.len() * (bar + gap) + 10;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n<text x=\"{margin}\" y=\"14\">F1 per level</text>\n",
        height + 60
    );
    for (i, s) in scores.iter().enumerate() {
        let h = (s.f1 * height as f64).round() as usize;
        let x = margin + i * (bar + gap);
        let base = 30 + height;
        let _ = writeln!(
            svg,
            "<rect x=\"{x}\" y=\"{}\" width=\"{bar}\" height=\"{h}\" fill=\"#4a6fa5\"/>\
             <text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{:.2}</text>\
             <text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            base - h,
            x + bar / 2,
            base - h - 4,
            s.f1,
            x + bar / 2,
            base + 16,
            s.label
        );
    }
    svg + "</svg>\n"
}

/// Per post, (true, predicted) binary where the post has a binary label; `binary` holds the
/// labelled posts' pairs in order, or is absent.
pub fn binary_pairs(n: usize, binary: Option<(&[usize], &[usize])>) -> Vec<Option<(usize, usize)>> {
    match binary {
        Some((t, p)) if t.len() == n => t.iter().zip(p).map(|(&a, &b)| Some((a, b))).collect(),
        _ => vec![None; n],
    }
}
