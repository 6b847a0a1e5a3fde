//! Text → risk prediction, from a model's bytes. No file or network I/O here: the CLI reads the
//! files from disk, the web worker fetches them, and both hand the bytes to [`Classifier`].

use burn::module::Module;
use burn::prelude::*;
use burn::store::ModuleRecord;

use crate::attribution::{OCCLUSION_BATCH, attribution, explained_part, occlusions};
use crate::labels::{HIGH_RISK, N_LEVELS};
use crate::model::bert::{self, BertClassifier};
use crate::model::{Ensemble, NgramModelConfig};
use crate::novelty::Landmarks;
use crate::prediction::Novelty;
use crate::tokenize::{CharTokenizer, Encoded, NGRAM_ORDERS, PieceTokenizer, Pieces};
use crate::windows::{self, Span, WindowScore};
use crate::{Error, TextError, quant};

pub use crate::prediction::argmax;

pub use crate::model_dir::*;

/// The loaded network with the tokenizer it reads through and its settings (those of the
/// manifest's [`Architecture`], carried here so that nothing matches the two as a pair).
pub enum Network {
    Ngram {
        tokenizer: CharTokenizer,
        model: Ensemble,
        cfg: NgramModelConfig,
    },
    Encoder {
        tokenizer: PieceTokenizer,
        model: Box<BertClassifier>,
        spec: EncoderSpec,
        /// Where the spec has `novelty`: the landmarks of the texts it learned from.
        landmarks: Option<Landmarks>,
    },
}

/// Texts run through the network in length groups: each group's text indices with its rows
/// of level and binary probabilities and, for a model with landmarks, the distance to the
/// nearest (`[rows, width]`, not yet read back), and what each text's prediction reports.
struct Prepared {
    groups: Vec<(Vec<usize>, Tensor<2>)>,
    used: Vec<(usize, bool)>,
}

/// Splits texts of these lengths into groups of similar length: a batch is padded to its
/// longest text, and one long post among short ones would otherwise make the whole batch pay
/// for its length (posts: median 30 characters, p99 about 140). Each extra group costs one more
/// call, worth `call_cost` padded token rows; the grouping minimises calls × `call_cost` plus
/// the cells computed. Sorted by length, the best groups are runs of consecutive lengths, and
/// there are at most as many distinct lengths as tokens read, so an exact search is cheap.
fn length_groups(lengths: &[usize], call_cost: usize) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..lengths.len()).collect();
    order.sort_by_key(|&i| lengths[i]);
    let len = |i: usize| lengths[i].max(1);
    // Runs of equal length in `order`: (longest, end in `order`), never split.
    let mut runs: Vec<(usize, usize)> = Vec::new();
    for (k, &i) in order.iter().enumerate() {
        match runs.last_mut() {
            Some((l, end)) if *l == len(i) => *end = k + 1,
            _ => runs.push((len(i), k + 1)),
        }
    }
    // best[j]: the least cost of the first j runs, reached by a last group starting at run from[j].
    let mut best = vec![0usize; runs.len() + 1];
    let mut from = vec![0usize; runs.len() + 1];
    for j in 1..=runs.len() {
        let (longest, end) = runs[j - 1];
        (best[j], from[j]) = (0..j)
            .map(|i| {
                let start = if i == 0 { 0 } else { runs[i - 1].1 };
                (best[i] + call_cost + longest * (end - start), i)
            })
            .min()
            .expect("j ≥ 1");
    }
    let mut groups = Vec::new();
    let mut j = runs.len();
    while j > 0 {
        let i = from[j];
        let start = if i == 0 { 0 } else { runs[i - 1].1 };
        groups.push(order[start..runs[j - 1].1].to_vec());
        j = i;
    }
    groups.reverse();
    groups
}

/// A loaded model with its tokenizer, ready to classify.
pub struct Classifier {
    pub manifest: Manifest,
    network: Network,
    device: Device,
}

fn weights_error(file: &str, detail: String) -> Error {
    Error::Weights {
        what: file.into(),
        detail,
    }
}

impl Classifier {
    /// Builds a classifier from the three files of a model directory (`weights` is the file
    /// `manifest.architecture.weights_file()` names), verifying each file's SHA-256 against
    /// `config.json` first.
    pub fn from_bytes(
        config: &[u8],
        tokenizer: &[u8],
        weights: &[u8],
        device: &Device,
    ) -> Result<Self, Error> {
        let manifest = Manifest::parse(config)?;
        let weights_file = manifest.architecture.weights_file();
        manifest.verify(TOKENIZER_FILE, tokenizer)?;
        manifest.verify(weights_file, weights)?;
        let vocab_mismatch = |expected: usize, actual: usize| Error::Config {
            what: CONFIG_FILE.into(),
            detail: format!("the model has {expected} vocabulary entries but {TOKENIZER_FILE} has {actual}"),
        };
        let network = match &manifest.architecture {
            Architecture::CharNgram(cfg) => {
                let tokenizer = CharTokenizer::from_json(tokenizer)?;
                if tokenizer.vocab_size() != cfg.vocab_size {
                    return Err(vocab_mismatch(cfg.vocab_size, tokenizer.vocab_size()));
                }
                let record = ModuleRecord::from_bytes(burn::tensor::Bytes::from_bytes_vec(weights.to_vec()))
                    .map(ModuleRecord::cast_to_module_dtype)
                    .map_err(|e| weights_error(weights_file, format!("{e:?}")))?;
                let model = cfg.init_ensemble(device).try_load_record(record).map_err(|e| {
                    weights_error(
                        weights_file,
                        format!("does not fit the architecture in {CONFIG_FILE}: {e:?}"),
                    )
                })?;
                Network::Ngram {
                    tokenizer,
                    model,
                    cfg: cfg.clone(),
                }
            }
            Architecture::Encoder(spec) => {
                let tokenizer = PieceTokenizer::from_json(tokenizer, &spec.query_prefix, spec.max_tokens)?;
                if tokenizer.vocab_size() != spec.encoder.vocab_size {
                    return Err(vocab_mismatch(spec.encoder.vocab_size, tokenizer.vocab_size()));
                }
                let landmarks =
                    (spec.novelty.as_ref()).map(|n| Landmarks::zeros(n, spec.encoder.hidden, device));
                let (model, landmarks) = quant::load_into_with(
                    spec.encoder.init_classifier(device),
                    landmarks,
                    weights,
                    weights_file,
                )?;
                Network::Encoder {
                    tokenizer,
                    model: Box::new(model),
                    spec: spec.clone(),
                    landmarks,
                }
            }
        };
        Ok(Self {
            manifest,
            network,
            device: device.clone(),
        })
    }

    /// Wraps an in-memory model (training and tests); the manifest describes it.
    pub fn from_parts(manifest: Manifest, network: Network, device: &Device) -> Self {
        Self {
            manifest,
            network,
            device: device.clone(),
        }
    }

    pub fn network(&self) -> &Network {
        &self.network
    }

    /// Tokenizes every text and runs the network on each length group (each network with the
    /// inputs it reads, so nothing pairs them later); any empty text fails the whole call with
    /// its index, so a caller never gets predictions that silently skip rows.
    fn prepare(&self, texts: &[&str]) -> Result<Prepared, TextError> {
        match &self.network {
            Network::Ngram {
                tokenizer,
                cfg,
                model,
            } => {
                let encoded: Vec<Encoded> = texts
                    .iter()
                    .enumerate()
                    .map(|(i, t)| tokenizer.encode(t).map_err(|e| TextError::new(i, e)))
                    .collect::<Result<_, _>>()?;
                let lengths: Vec<usize> = encoded
                    .iter()
                    .map(|e| e.features.len().min(cfg.max_chars))
                    .collect();
                let groups = length_groups(&lengths, self.call_cost())
                    .into_iter()
                    .map(|idx| {
                        let refs: Vec<&[[u32; NGRAM_ORDERS]]> =
                            idx.iter().map(|&i| encoded[i].features.as_slice()).collect();
                        let lengths: Vec<usize> = idx.iter().map(|&i| lengths[i]).collect();
                        let shape = self.gpu_shape(&lengths);
                        let batch = cfg.batch_shaped(&refs, shape, &self.device);
                        let (level, binary) = model.probabilities(batch);
                        (idx, Tensor::cat(vec![level, binary], 1))
                    })
                    .collect();
                Ok(Prepared {
                    groups,
                    // Counted in the text as given: normalisation can change the number of
                    // characters (NFKC expands some), and highlighting works on the original.
                    used: encoded
                        .iter()
                        .zip(texts)
                        .map(|(e, t)| {
                            if e.ids.len() <= cfg.max_chars {
                                return (t.chars().count(), false);
                            }
                            let end = e.offsets[cfg.max_chars - 1].1;
                            (t.char_indices().take_while(|(i, _)| *i < end).count(), true)
                        })
                        .collect(),
                })
            }
            Network::Encoder {
                tokenizer,
                model,
                spec,
                landmarks,
            } => {
                let tap = spec.novelty.as_ref().map(|n| n.depth);
                let pieces: Vec<Pieces> = texts
                    .iter()
                    .enumerate()
                    .map(|(i, t)| tokenizer.encode(t).map_err(|e| TextError::new(i, e)))
                    .collect::<Result<_, _>>()?;
                let lengths: Vec<usize> = pieces.iter().map(|p| p.ids.len()).collect();
                let groups = length_groups(&lengths, self.call_cost())
                    .into_iter()
                    .map(|idx| {
                        let rows: Vec<&[u32]> = idx.iter().map(|&i| pieces[i].ids.as_slice()).collect();
                        let shape = self.gpu_shape(&rows.iter().map(|r| r.len()).collect::<Vec<_>>());
                        let (ids, mask) = bert::batch_shaped(&rows, shape, &self.device);
                        let (level, binary, tapped) =
                            model.probabilities_tapped(ids, mask, spec.temperatures, tap);
                        let mut columns = vec![level, binary];
                        if let (Some(landmarks), Some(tapped)) = (landmarks, tapped) {
                            columns.push(landmarks.distance(tapped));
                        }
                        (idx, Tensor::cat(columns, 1))
                    })
                    .collect();
                Ok(Prepared {
                    groups,
                    used: pieces.iter().map(|p| (p.chars_used, p.truncated)).collect(),
                })
            }
        }
    }

    /// What one more batch costs, in padded token rows (see [`length_groups`]). On the CPU a
    /// call of the encoder costs about as much as a few tokens (measured with `sosrisk bench
    /// --batch 32` over call costs from 0 to 256: 0–8 were fastest), while each token costs
    /// the n-gram model next to nothing. On a GPU every call has fixed costs (dispatch,
    /// read-back, and in the browser a shader compiled per new shape), so fewer, larger batches win.
    fn call_cost(&self) -> usize {
        match (&self.network, self.device == Device::flex()) {
            (Network::Encoder { .. }, true) => 6,
            (Network::Ngram { .. }, true) => 32,
            _ => 256,
        }
    }

    /// On a GPU, the shape a group of rows of these lengths is padded to: the batch to a power
    /// of two, the length to 16 or a multiple of 32 ([`padded_length`]), so that after the
    /// warm-up no new text length or batch size compiles a kernel (`tests/kernels.rs`). On the
    /// CPU nothing is padded: every padded cell costs time there and compiles nothing.
    fn gpu_shape(&self, lengths: &[usize]) -> (usize, usize) {
        if self.device == Device::flex() {
            return (lengths.len(), 0);
        }
        let longest = lengths.iter().copied().max().unwrap_or(1);
        (lengths.len().next_power_of_two(), padded_length(longest))
    }

    /// The read-back columns of a row: the level probabilities, the binary head's two, and the
    /// distance to the nearest landmark where the model has landmarks.
    fn width(&self) -> usize {
        match &self.network {
            Network::Encoder {
                landmarks: Some(_), ..
            } => N_LEVELS + 3,
            _ => N_LEVELS + 2,
        }
    }

    /// The prediction for one text's read-back row, screened by the safety net over its whole text.
    fn finish(&self, text: &str, (chars_used, truncated): (usize, bool), row: &[f32]) -> Prediction {
        let mut p = Prediction::from_probabilities(
            row[..N_LEVELS].to_vec(),
            row[N_LEVELS + HIGH_RISK],
            self.manifest.binary_threshold,
            (chars_used, truncated),
        );
        if let (Some(&distance), Architecture::Encoder(EncoderSpec { novelty: Some(n), .. })) =
            (row.get(N_LEVELS + 2), &self.manifest.architecture)
        {
            p.novelty = Some(Novelty {
                distance,
                unfamiliar: distance > n.threshold,
            });
        }
        p.screen(text)
    }

    /// The windows each text is read in ([`crate::windows`]), after the [`windows::MAX_CHARS`] bound.
    fn plan<'t>(&self, texts: &[&'t str]) -> Result<Plan<'t>, TextError> {
        let mut plan = Plan::default();
        for (i, text) in texts.iter().enumerate() {
            let (bounded, cut) = windows::bounded(text);
            let spans = match &self.network {
                Network::Ngram { tokenizer, cfg, .. } => tokenizer.windows(bounded, cfg.max_chars),
                Network::Encoder { tokenizer, .. } => tokenizer.windows(bounded),
            }
            .map_err(|e| TextError::new(i, e))?;
            let first = plan.pieces.len();
            for span in &spans {
                plan.pieces.push(if spans.len() == 1 {
                    bounded
                } else {
                    windows::slice(bounded, *span)
                });
                plan.owner.push(i);
            }
            plan.texts.push((bounded, cut, first, spans));
        }
        Ok(plan)
    }

    /// Classifies a batch of texts, waiting for the read-back (natively; in a browser, where
    /// WebGPU cannot wait, use [`Self::predict_async`]). A text longer than the model reads at
    /// once is read in overlapping windows, and its result is the window with the highest
    /// P(high risk) ([`crate::windows`]).
    pub fn predict(&self, texts: &[&str]) -> Result<Vec<Prediction>, TextError> {
        // One loop for both: on the CPU and on native wgpu the read-back future completes when
        // polled to the end, which is what burn's own synchronous read does.
        futures_lite::future::block_on(self.predict_async(texts))
    }

    /// Joins the rows of every length group into one `[rows, width]` tensor, groups in order:
    /// one read-back per request, on the CPU
    /// and on a GPU alike (a GPU read-back waits for the queue; two per group waited 2× as often).
    /// Each group comes back with its row count: rows that only pad a GPU batch to its shape
    /// are read back too and skipped in [`Self::read`] (cutting them off on the GPU would be
    /// one more kernel for every batch size).
    fn join(groups: Vec<(Vec<usize>, Tensor<2>)>) -> (Tensor<2>, Vec<(Vec<usize>, usize)>) {
        let mut parts = Vec::with_capacity(groups.len());
        let mut order = Vec::with_capacity(groups.len());
        for (idx, rows) in groups {
            order.push((idx, rows.dims()[0]));
            parts.push(rows);
        }
        (Tensor::cat(parts, 0), order)
    }

    /// The predictions from the read-back values of [`Self::join`].
    fn read(
        &self,
        texts: &[&str],
        used: &[(usize, bool)],
        values: &[f32],
        order: &[(Vec<usize>, usize)],
    ) -> Vec<Prediction> {
        let width = self.width();
        let mut of_text: Vec<&[f32]> = vec![&[]; texts.len()];
        let mut row = 0;
        for (idx, padded) in order {
            for (k, &i) in idx.iter().enumerate() {
                of_text[i] = &values[(row + k) * width..(row + k + 1) * width];
            }
            row += padded;
        }
        (0..texts.len())
            .map(|i| self.finish(texts[i], used[i], of_text[i]))
            .collect()
    }

    /// Why `prediction` (this classifier's, for `text`) came out as it did: for each character
    /// read, P(high risk) minus P(high risk) of the text without that character (without its
    /// span of neighbours, in texts longer than 32 characters).
    pub fn explain(&self, text: &str, prediction: &Prediction) -> Result<Vec<f32>, Error> {
        futures_lite::future::block_on(self.explain_async(text, prediction))
    }

    /// [`Self::explain`] with asynchronous read-back.
    pub async fn explain_async(&self, text: &str, prediction: &Prediction) -> Result<Vec<f32>, Error> {
        let part = explained_part(text, prediction);
        let (variants, of_char) = occlusions(part, part.chars().count());
        let texts: Vec<&str> = variants.iter().flatten().map(String::as_str).collect();
        let mut probs = Vec::with_capacity(texts.len());
        for chunk in texts.chunks(OCCLUSION_BATCH) {
            let predictions = self.predict_async(chunk).await.map_err(|e| e.error)?;
            probs.extend(predictions.iter().map(|p| p.high_risk_prob));
        }
        Ok(attribution(
            &variants,
            &of_char,
            &probs,
            prediction.high_risk_prob,
        ))
    }

    /// [`Self::predict`] with asynchronous read-back, which WebGPU in a browser requires.
    pub async fn predict_async(&self, texts: &[&str]) -> Result<Vec<Prediction>, TextError> {
        let plan = self.plan(texts)?;
        let mut pieces = Vec::with_capacity(plan.pieces.len());
        for (c, chunk) in plan.pieces.chunks(PIECES_PER_CALL).enumerate() {
            let at = |k: usize| plan.owner[c * PIECES_PER_CALL + k];
            let predicted = self.predict_pieces(chunk).await;
            pieces.extend(predicted.map_err(|e| TextError::new(at(e.index), e.error))?);
        }
        Ok(plan.assemble(pieces))
    }

    async fn predict_pieces(&self, texts: &[&str]) -> Result<Vec<Prediction>, TextError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let prepared = self.prepare(texts)?;
        let (joined, order) = Self::join(prepared.groups);
        let values = joined
            .into_data_async()
            .await
            .map_err(|e| TextError::new(0, weights_error("read-back", format!("{e:?}"))))?
            .try_into_vec::<f32>()
            .expect("f32 probabilities");
        Ok(self.read(texts, &prepared.used, &values, &order))
    }
}

/// The pieces a batch of texts is classified in: each text's windows, in order.
#[derive(Default)]
struct Plan<'t> {
    pieces: Vec<&'t str>,
    /// The text each piece belongs to.
    owner: Vec<usize>,
    /// Per text: its bounded form, whether it was cut, its first piece, and its windows.
    texts: Vec<(&'t str, bool, usize, Vec<Span>)>,
}

impl Plan<'_> {
    /// One prediction per text: the deciding window's, screened over the whole (bounded) text.
    fn assemble(self, pieces: Vec<Prediction>) -> Vec<Prediction> {
        self.texts
            .into_iter()
            .map(|(text, cut, first, spans)| {
                let of_text = &pieces[first..first + spans.len()];
                let p_high: Vec<f32> = of_text.iter().map(|p| p.high_risk_prob).collect();
                let k = windows::deciding(&p_high);
                let mut p = of_text[k].clone();
                if spans.len() > 1 {
                    p.window = Some(spans[k]);
                    p.windows = spans
                        .iter()
                        .zip(of_text)
                        .map(|(s, w)| WindowScore {
                            start: s.start,
                            end: s.end,
                            level: w.level,
                            high_risk_prob: w.high_risk_prob,
                        })
                        .collect();
                }
                p.chars_used = text.chars().count();
                p.truncated = cut;
                p.screen(text)
            })
            .collect()
    }
}

/// Texts (or windows of long texts) per forward pass at most: a 20,000-character text is about
/// 200 windows of the encoder, and in one pass their activations would take hundreds of MB
/// (wasm memory, once grown, stays grown).
const PIECES_PER_CALL: usize = 32;

/// The length a GPU batch of rows up to `longest` long is padded to: 16, else the next multiple
/// of 32 (the encoder's 160 tokens give 16, 32, 64, 96, 128 and 160). Measured on lavapipe, the
/// kernels compiled then depend on the batch size only ([`crate::web::backend::LADDER`]).
fn padded_length(longest: usize) -> usize {
    if longest <= 16 {
        16
    } else {
        longest.div_ceil(32) * 32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gpu_lengths_are_padded_to_16_or_a_multiple_of_32() {
        let padded: Vec<usize> = [1, 16, 17, 32, 33, 64, 65, 100, 129, 160, 500]
            .iter()
            .map(|&n| padded_length(n))
            .collect();
        assert_eq!(padded, [16, 16, 32, 32, 64, 64, 96, 128, 160, 160, 512]);
    }

    #[test]
    fn length_groups_cover_every_text_once_at_the_least_cost() {
        let cost = |lengths: &[usize], groups: &[Vec<usize>], call: usize| -> usize {
            let max = |g: &Vec<usize>| g.iter().map(|&i| lengths[i].max(1)).max().unwrap();
            groups.iter().map(|g| call + max(g) * g.len()).sum()
        };
        let lengths = [30, 5, 160, 31, 29, 150, 6, 33, 0, 80, 2, 30];
        let mut sorted: Vec<usize> = (0..lengths.len()).collect();
        sorted.sort_by_key(|&i| lengths[i]);
        for call in [0, 6, 32, 256, 10_000] {
            let groups = length_groups(&lengths, call);
            let mut seen: Vec<usize> = groups.iter().flatten().copied().collect();
            seen.sort();
            assert_eq!(seen, (0..lengths.len()).collect::<Vec<_>>());
            // Every split of the length-sorted texts into runs costs at least as much.
            let n = sorted.len();
            let least = (0..1u32 << (n - 1))
                .map(|cuts| {
                    let mut split = vec![vec![sorted[0]]];
                    for (k, &i) in sorted.iter().enumerate().skip(1) {
                        if cuts & (1 << (k - 1)) != 0 {
                            split.push(Vec::new());
                        }
                        split.last_mut().unwrap().push(i);
                    }
                    cost(&lengths, &split, call)
                })
                .min()
                .unwrap();
            assert_eq!(
                cost(&lengths, &groups, call),
                least,
                "call cost {call}: {groups:?}"
            );
        }
        // Free calls: no padding at all; dear calls: one batch.
        assert!(
            length_groups(&lengths, 0)
                .iter()
                .all(|g| g.iter().all(|&i| lengths[i].max(1) == lengths[g[0]].max(1)))
        );
        assert_eq!(length_groups(&lengths, 10_000).len(), 1);
        assert_eq!(length_groups(&[40; 32], 6).len(), 1);
        assert!(length_groups(&[], 6).is_empty());
    }
}
