//! `sosrisk predict`: classify texts from an argument, a file or standard input.

use std::io::Read;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};

use sosrisk::artifact;
use sosrisk::assessment::Reason;
use sosrisk::infer::Prediction;
use sosrisk::labels::{self, N_LEVELS};

use super::shared::{Backend, DEFAULT_MODEL, read_table_texts};

#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// The text to classify.
    pub text: Option<String>,
    /// A file of texts: CSV, TSV or TXT (UTF-8, UTF-16 or GB18030, detected) or an .xlsx workbook.
    #[arg(long)]
    pub file: Option<PathBuf>,
    /// The file's text column (default: the one named "text").
    #[arg(long)]
    pub column: Option<String>,
    /// The workbook's sheet (default: the first).
    #[arg(long)]
    pub sheet: Option<String>,
    #[arg(long, default_value = DEFAULT_MODEL)]
    pub model: PathBuf,
    /// One JSON object per text.
    #[arg(long)]
    pub json: bool,
    /// Also say which characters drove P(high risk): each one's effect when left out.
    #[arg(long)]
    pub explain: bool,
    #[arg(long, value_enum, default_value = "flex")]
    pub backend: Backend,
}

pub fn run(args: Args) -> Result<()> {
    let Args {
        text,
        file,
        column,
        sheet,
        model,
        json,
        explain,
        backend,
    } = args;
    let texts: Vec<(String, String)> = match (text, file.as_deref()) {
        (Some(_), Some(_)) => bail!("give either a text or --file, not both"),
        (Some(t), None) => vec![("the text argument".into(), t)],
        (None, Some(f)) => read_table_texts(f, column.as_deref(), sheet.as_deref())?,
        (None, None) => {
            let mut buf = Vec::new();
            std::io::stdin()
                .read_to_end(&mut buf)
                .context("reading standard input")?;
            let all = String::from_utf8(buf).map_err(|e| {
                anyhow::anyhow!(
                    "standard input is not valid UTF-8 (at byte {})",
                    e.utf8_error().valid_up_to()
                )
            })?;
            all.lines()
                .enumerate()
                .filter(|(_, l)| !sosrisk::text::is_blank(l))
                .map(|(i, l)| (format!("standard input, line {}", i + 1), l.to_string()))
                .collect()
        }
    };
    if texts.is_empty() {
        bail!("no text to classify");
    }
    let clf = artifact::load(&model, &backend.device())?;
    for chunk in texts.chunks(64) {
        let refs: Vec<&str> = chunk.iter().map(|(_, t)| t.as_str()).collect();
        let preds = clf
            .predict(&refs)
            .map_err(|e| anyhow::anyhow!("{}: {}", chunk[e.index].0, e.error))?;
        for (mut pred, (from, text)) in preds.into_iter().zip(chunk) {
            if explain {
                let weights = clf
                    .explain(text, &pred)
                    .map_err(|e| anyhow::anyhow!("{from}: {e}"))?;
                pred.attribution = Some(weights);
            }
            if json {
                println!("{}", serde_json::to_string(&pred)?);
            } else {
                print_prediction(&pred, text, texts.len() == 1);
            }
        }
    }
    Ok(())
}

/// Why the answer is "review", in words (none for agreeing heads).
fn reason_words(p: &Prediction) -> String {
    match p.reason {
        Reason::Agree => String::new(),
        Reason::HeadsDisagree => ": the level and the high/low call disagree".into(),
        Reason::WishWithoutPlan => ": a wish to die without a plan".into(),
        Reason::Phrase => format!(
            ": the text says \"{}\"",
            p.phrase.as_ref().map_or("", |h| h.phrase.as_str())
        ),
    }
}

fn print_prediction(p: &Prediction, text: &str, detailed: bool) {
    println!(
        "{}{} | level {} ({}, p = {:.3}) | {} risk (p(high) = {:.3}){}",
        format!("{:?}", p.call).to_uppercase(),
        reason_words(p),
        p.level,
        p.band,
        p.level_probs[p.level],
        labels::binary_name(usize::from(p.high_risk)),
        p.high_risk_prob,
        match (p.truncated, p.window) {
            (true, _) => format!(" | only the first {} characters were read", p.chars_used),
            (false, Some(w)) => format!(
                " | read in {} windows; characters {}–{} decided",
                p.windows.len(),
                w.start + 1,
                w.end
            ),
            (false, None) => String::new(),
        }
    );
    if p.unfamiliar() {
        println!("  note: this text is unlike the texts the model learned from; read it yourself");
    }
    if detailed {
        for level in 0..N_LEVELS {
            let prob = p.level_probs[level];
            let bar = "█".repeat((prob * 40.0).round() as usize);
            println!(
                "  {level:>2} {prob:5.3} {bar:<40} {}",
                labels::LEVEL_DESCRIPTIONS[level]
            );
        }
        println!("A screening aid, not a diagnosis.");
    }
    if let Some(weights) = &p.attribution {
        // Weights are per character of the deciding window (the whole text when it fits).
        let start = p.window.map_or(0, |w| w.start);
        let mut ranked: Vec<(char, f32)> = text.chars().skip(start).zip(weights.iter().copied()).collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
        let top: Vec<String> = ranked
            .iter()
            .filter(|(_, w)| *w > 0.0)
            .take(8)
            .map(|(c, w)| format!("{c} {w:+.3}"))
            .collect();
        println!(
            "  raised P(high) most (P(high) minus P(high) without the character): {}",
            if top.is_empty() {
                "none".into()
            } else {
                top.join(", ")
            }
        );
    }
}
