//! `sosrisk novelty`: fit an encoder model's landmarks (`sosrisk::novelty`) on the texts it
//! learned from, set the threshold on texts it did not, and append them to the model directory.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use burn::prelude::*;

use sosrisk::artifact;
use sosrisk::data::{self, Post};
use sosrisk::infer::{Architecture, Classifier, Network};
use sosrisk::model::bert;
use sosrisk::novelty::{self, Landmarks, NoveltySpec};
use sosrisk::train::Rng;

use super::finetune::DEFAULT_EVERYDAY;
use super::shared::{DEFAULT_DATA, fold_number};

#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// The encoder model directory; its weight file and config.json are rewritten.
    #[arg(long)]
    pub model: PathBuf,
    /// SOS-1K (its training posts, and the validation fold for the threshold).
    #[arg(long, default_value = DEFAULT_DATA)]
    pub data: PathBuf,
    /// Ordinary texts: the same fixed sample of the train split that `finetune` learns from.
    #[arg(long, default_value = DEFAULT_EVERYDAY)]
    pub everyday: PathBuf,
    #[arg(long, default_value_t = 3000)]
    pub everyday_rows: usize,
    /// The posts GPT-4 wrote to the level definitions (default: augmentation.csv beside --data).
    #[arg(long)]
    pub augmentation: Option<PathBuf>,
    /// Number of landmarks (k-means centres).
    #[arg(long, default_value_t = 256)]
    pub landmarks: usize,
    /// Layers after which the hidden states are pooled.
    #[arg(long, default_value_t = 4)]
    pub depth: usize,
    /// Share of held-out posts within the threshold.
    #[arg(long, default_value_t = 0.95)]
    pub within: f32,
    /// The fold the model was validated on (default: its config's only validation fold; with
    /// none, every fifth training post is held out of the landmarks for the threshold).
    #[arg(long, value_parser = fold_number)]
    pub val_fold: Option<usize>,
}

/// k-means rounds: the assignment stops changing well before this on ~7,000 texts.
const ROUNDS: usize = 30;
/// Texts per forward pass, sorted by length so that little is padding.
const BATCH: usize = 16;
/// The ordinary texts `finetune` holds out as its watch set before its pool (`Pools::read`).
const WATCH: usize = 500;

pub fn run(args: Args) -> Result<()> {
    let device = Device::flex();
    let clf = artifact::load(&args.model, &device)?;
    let Architecture::Encoder(spec) = &clf.manifest.architecture else {
        bail!("{}: landmarks need an encoder model (e5)", args.model.display());
    };
    if spec.novelty.is_some() {
        bail!("{}: the model has landmarks already", args.model.display());
    }
    if args.depth > spec.encoder.layers || args.landmarks == 0 {
        bail!(
            "--depth is 0 to {} and --landmarks at least 1",
            spec.encoder.layers
        );
    }
    let val_fold = args.val_fold.or_else(|| {
        let folds = clf.manifest.training["data"]["val_folds"].as_array()?;
        (folds.len() == 1)
            .then(|| folds[0].as_u64())
            .flatten()
            .map(|f| f as usize)
    });
    let sos = data::read_labelled(&args.data)?;
    let train: Vec<&Post> = sos
        .posts
        .iter()
        .filter(|p| p.split.as_deref() == Some("train"))
        .collect();
    let (mut learned, held_out): (Vec<&str>, Vec<&str>) = match val_fold {
        Some(f) => (
            train
                .iter()
                .filter(|p| p.fold != Some(f))
                .map(|p| p.text.as_str())
                .collect(),
            train
                .iter()
                .filter(|p| p.fold == Some(f))
                .map(|p| p.text.as_str())
                .collect(),
        ),
        None => {
            let fifth = |keep: bool| -> Vec<&str> {
                (train.iter().enumerate())
                    .filter(|(i, _)| (i % 5 == 0) != keep)
                    .map(|(_, p)| p.text.as_str())
                    .collect()
            };
            (fifth(true), fifth(false))
        }
    };
    let posts = learned.len();
    let ordinary = super::finetune::ordinary_train_split(&args.everyday)?;
    let watch: Vec<&str> = ordinary.iter().take(WATCH).map(|p| p.text.as_str()).collect();
    learned.extend(
        ordinary
            .iter()
            .skip(WATCH)
            .take(args.everyday_rows)
            .map(|p| p.text.as_str()),
    );
    let augmentation = args
        .augmentation
        .clone()
        .unwrap_or_else(|| args.data.with_file_name("augmentation.csv"));
    let generated = super::finetune::gpt4_rows(&augmentation, val_fold)?;
    let before = learned.len();
    learned.extend(generated.iter().map(|r| r.text.as_str()));
    eprintln!(
        "landmarks from {} texts ({posts} posts, {} ordinary, {} GPT-4 posts), after {} layers",
        learned.len(),
        before - posts,
        learned.len() - before,
        args.depth
    );
    let x = pooled(&clf, &learned, args.depth)?;
    let mut order: Vec<usize> = (0..learned.len()).collect();
    Rng(0x1a2d_3a4c).shuffle(&mut order);
    let k = args.landmarks.min(learned.len());
    let landmarks = Landmarks::new(novelty::spherical_kmeans(x, k, ROUNDS, &order));
    let distances = |texts: &[&str]| -> Result<Vec<f32>> {
        let d = landmarks.distance(pooled(&clf, texts, args.depth)?);
        Ok(d.into_data()
            .convert::<f32>()
            .try_into_vec::<f32>()
            .expect("f32 distances"))
    };
    let held = distances(&held_out)?;
    let threshold = novelty::quantile(&held, args.within);
    let unfamiliar = |d: &[f32]| 100.0 * d.iter().filter(|&&v| v > threshold).count() as f32 / d.len() as f32;
    let held_label = match val_fold {
        Some(f) => format!("fold {f}'s {} posts", held_out.len()),
        None => format!("{} training posts held out of the landmarks", held_out.len()),
    };
    println!(
        "threshold {threshold:.4}: {held_label} unfamiliar {:.1} %; held-out ordinary texts ({}) {:.1} %",
        unfamiliar(&held),
        watch.len(),
        unfamiliar(&distances(&watch)?)
    );
    let spec = NoveltySpec {
        depth: args.depth,
        landmarks: k,
        threshold,
        fitted_on: format!(
            "{} texts the model learned from ({posts} SOS-1K posts, {} ordinary texts, {} GPT-4 posts); \
             threshold: {:.0} % of {held_label} within",
            learned.len(),
            before - posts,
            learned.len() - before,
            100.0 * args.within
        ),
    };
    artifact::add_landmarks(&args.model, &landmarks, spec)?;
    println!("{}: landmarks added", args.model.display());
    Ok(())
}

/// The mean-pooled hidden states after `depth` layers of every text, `[texts, hidden]`.
fn pooled(clf: &Classifier, texts: &[&str], depth: usize) -> Result<Tensor<2>> {
    let Network::Encoder { tokenizer, model, .. } = clf.network() else {
        bail!("landmarks need an encoder model (e5)");
    };
    let pieces: Vec<Vec<u32>> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| {
            tokenizer
                .encode(t)
                .map(|p| p.ids)
                .with_context(|| format!("text {}", i + 1))
        })
        .collect::<Result<_>>()?;
    let mut by_length: Vec<usize> = (0..texts.len()).collect();
    by_length.sort_by_key(|&i| pieces[i].len());
    let device = Device::flex();
    let parts: Vec<Tensor<2>> = by_length
        .chunks(BATCH)
        .map(|chunk| {
            let ids: Vec<&[u32]> = chunk.iter().map(|&i| pieces[i].as_slice()).collect();
            let (ids, mask) = bert::batch(&ids, &device);
            model.encoder.pooled_after(ids, mask, depth)
        })
        .collect();
    // Row r holds text by_length[r]: put every text back at its own index.
    let mut back = vec![0i64; texts.len()];
    for (r, &i) in by_length.iter().enumerate() {
        back[i] = r as i64;
    }
    Ok(Tensor::cat(parts, 0).select(0, Tensor::<1, Int>::from_data(back.as_slice(), &device)))
}
