//! `sosrisk export`: a model's weights as SafeTensors in PyTorch's layout, for the peer harness.

use std::path::PathBuf;

use anyhow::Result;

#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    #[arg(long, default_value = "models/e5")]
    pub model: PathBuf,
    #[arg(long)]
    pub out: PathBuf,
}

pub fn run(args: Args) -> Result<()> {
    let clf = sosrisk::artifact::load(&args.model, &burn::prelude::Device::flex())?;
    sosrisk::export::safetensors(&clf, &args.out).map_err(anyhow::Error::msg)?;
    eprintln!("wrote {}", args.out.display());
    Ok(())
}
