//! Text → risk prediction, from a model's bytes. No file or network I/O here: the CLI reads the
//! files from disk, the web worker fetches them, and both hand the bytes to [`Classifier`].

use std::collections::BTreeMap;

use burn::module::Module;
use burn::prelude::*;
use burn::store::ModuleRecord;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::labels::{self, HIGH_RISK, N_LEVELS};
use crate::model::bert::{self, BertClassifier, BertConfig};
use crate::model::{Ensemble, NgramModelConfig};
use crate::text::is_blank;
use crate::tokenize::{CharTokenizer, Encoded, NGRAM_ORDERS, PieceTokenizer, Pieces};
use crate::windows::{self, Span, WindowScore};
use crate::{Error, quant};

pub use crate::prediction::argmax;

/// Identifies the model-directory layout this code reads.
pub const FORMAT: &str = "sosrisk-model/1";
/// The n-gram model's weights (burnpack, f16).
pub const WEIGHTS_FILE: &str = "weights.bpk";
/// The encoder's weights (block-wise quantised, see [`crate::quant`]).
pub const QUANTISED_WEIGHTS_FILE: &str = "weights.q8";
pub const TOKENIZER_FILE: &str = "tokenizer.json";
pub const CONFIG_FILE: &str = "config.json";

/// The network a model directory holds, with its shape (`architecture` and `model` in
/// `config.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "architecture", content = "model")]
pub enum Architecture {
    /// The from-scratch character n-gram ensemble.
    #[serde(rename = "char-ngram")]
    CharNgram(NgramModelConfig),
    /// The fine-tuned multilingual-e5-small encoder.
    #[serde(rename = "e5")]
    Encoder(EncoderSpec),
}

/// Shape and reading settings of a fine-tuned encoder.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EncoderSpec {
    pub encoder: BertConfig,
    /// Tokens read per text, `<s>` and `</s>` included.
    pub max_tokens: usize,
    pub query_prefix: String,
    /// Each head's softmax temperature (level, binary), fitted on the validation fold.
    pub temperatures: [f32; 2],
}

impl Architecture {
    pub fn name(&self) -> &'static str {
        match self {
            Self::CharNgram(_) => "char-ngram",
            Self::Encoder(_) => "e5",
        }
    }

    /// The file the weights are in.
    pub fn weights_file(&self) -> &'static str {
        match self {
            Self::CharNgram(_) => WEIGHTS_FILE,
            Self::Encoder(_) => QUANTISED_WEIGHTS_FILE,
        }
    }

    /// One paragraph for people (model card, web page).
    pub fn describe(&self) -> String {
        match self {
            Self::CharNgram(m) => format!(
                "TF-IDF-weighted character 1–3-gram embeddings of {} dimensions, bag + attention \
                 pooling, one hidden layer of {}, two heads; an ensemble of {} such models. \
                 Vocabulary: {} characters and n-grams. Reads at most {} characters. Weights in f16.",
                m.d_model, m.d_hidden, m.members, m.vocab_size, m.max_chars
            ),
            Self::Encoder(e) => format!(
                "multilingual-e5-small ({} layers, {} wide, {} heads), fine-tuned on SOS-1K with a \
                 level head and a binary head on its mean-pooled output. Vocabulary pruned to {} \
                 pieces. Reads at most {} tokens. Weights block-wise quantised: {}-bit embeddings, \
                 {}-bit layers.",
                e.encoder.layers,
                e.encoder.hidden,
                e.encoder.heads,
                e.encoder.vocab_size,
                e.max_tokens,
                crate::quant::DEFAULT_POLICY.embedding_bits,
                crate::quant::DEFAULT_POLICY.other_bits
            ),
        }
    }
}

/// `config.json` of a model directory.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    #[serde(flatten)]
    pub architecture: Architecture,
    pub levels: Vec<String>,
    pub binary: Vec<String>,
    /// A text is high risk when the binary head's probability reaches this; chosen on the
    /// validation folds to maximise F1 of the high-risk class.
    #[serde(default = "half")]
    pub binary_threshold: f32,
    /// SHA-256 of each file the model needs, by file name: checked before use.
    pub files: BTreeMap<String, String>,
    /// How the model was trained (settings, data file and its SHA-256); informational.
    #[serde(default)]
    pub training: serde_json::Value,
}

impl Manifest {
    /// A fresh model's manifest: threshold ½ and no file hashes yet (saving adds them).
    pub fn new(architecture: Architecture, training: serde_json::Value) -> Self {
        Self {
            format: FORMAT.into(),
            architecture,
            levels: labels::LEVEL_DESCRIPTIONS.iter().map(|s| s.to_string()).collect(),
            binary: vec![
                labels::binary_name(0).into(),
                labels::binary_name(HIGH_RISK).into(),
            ],
            binary_threshold: 0.5,
            files: BTreeMap::new(),
            training,
        }
    }

    pub fn parse(bytes: &[u8]) -> Result<Self, Error> {
        let manifest: Manifest = serde_json::from_slice(bytes).map_err(|e| Error::Config {
            what: CONFIG_FILE.into(),
            detail: e.to_string(),
        })?;
        if manifest.format != FORMAT {
            return Err(Error::Config {
                what: CONFIG_FILE.into(),
                detail: format!("format is {:?}, this build reads {FORMAT:?}", manifest.format),
            });
        }
        Ok(manifest)
    }

    /// Fails unless `bytes` hash to what the manifest records for `file`.
    pub fn verify(&self, file: &str, bytes: &[u8]) -> Result<(), Error> {
        let expected = self.files.get(file).ok_or_else(|| Error::Config {
            what: CONFIG_FILE.into(),
            detail: format!("no SHA-256 listed for {file}"),
        })?;
        let actual = sha256_hex(bytes);
        if &actual != expected {
            return Err(Error::Checksum {
                what: file.into(),
                expected: expected.clone(),
                actual,
            });
        }
        Ok(())
    }
}

fn half() -> f32 {
    0.5
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

pub use crate::prediction::Prediction;

/// The loaded network with the tokenizer it reads through.
pub enum Network {
    Ngram {
        tokenizer: CharTokenizer,
        model: Ensemble,
    },
    Encoder {
        tokenizer: PieceTokenizer,
        model: Box<BertClassifier>,
    },
}

/// Texts turned into batches of input tensors (each with the indices of its texts), with what
/// each text's prediction reports.
struct Prepared {
    groups: Vec<(Vec<usize>, Inputs)>,
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

enum Inputs {
    Ngram(crate::model::Batch),
    Encoder(Tensor<2, Int>, Tensor<2>),
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
                Network::Ngram { tokenizer, model }
            }
            Architecture::Encoder(spec) => {
                let tokenizer = PieceTokenizer::from_json(tokenizer, &spec.query_prefix, spec.max_tokens)?;
                if tokenizer.vocab_size() != spec.encoder.vocab_size {
                    return Err(vocab_mismatch(spec.encoder.vocab_size, tokenizer.vocab_size()));
                }
                let model = quant::load_into(spec.encoder.init_classifier(device), weights, weights_file)?;
                Network::Encoder {
                    tokenizer,
                    model: Box::new(model),
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

    /// Tokenizes every text; any empty text fails the whole call with its index, so a caller
    /// never gets predictions that silently skip rows.
    fn prepare(&self, texts: &[&str]) -> Result<Prepared, (usize, Error)> {
        match (&self.network, &self.manifest.architecture) {
            (Network::Ngram { tokenizer, .. }, Architecture::CharNgram(cfg)) => {
                let encoded: Vec<Encoded> = texts
                    .iter()
                    .enumerate()
                    .map(|(i, t)| tokenizer.encode(t).map_err(|e| (i, e)))
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
                        let inputs = Inputs::Ngram(cfg.batch(&refs, &self.device));
                        (idx, inputs)
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
            (Network::Encoder { tokenizer, .. }, _) => {
                let pieces: Vec<Pieces> = texts
                    .iter()
                    .enumerate()
                    .map(|(i, t)| tokenizer.encode(t).map_err(|e| (i, e)))
                    .collect::<Result<_, _>>()?;
                let lengths: Vec<usize> = pieces.iter().map(|p| p.ids.len()).collect();
                let groups = length_groups(&lengths, self.call_cost())
                    .into_iter()
                    .map(|idx| {
                        let rows: Vec<&[u32]> = idx.iter().map(|&i| pieces[i].ids.as_slice()).collect();
                        let (ids, mask) = bert::batch(&rows, &self.device);
                        (idx, Inputs::Encoder(ids, mask))
                    })
                    .collect();
                Ok(Prepared {
                    groups,
                    used: pieces.iter().map(|p| (p.chars_used, p.truncated)).collect(),
                })
            }
            _ => unreachable!("the network is built from the manifest's architecture"),
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

    fn run(&self, inputs: Inputs) -> (Tensor<2>, Tensor<2>) {
        match (&self.network, inputs, &self.manifest.architecture) {
            (Network::Ngram { model, .. }, Inputs::Ngram(batch), _) => model.probabilities(batch),
            (Network::Encoder { model, .. }, Inputs::Encoder(ids, mask), Architecture::Encoder(spec)) => {
                model.probabilities(ids, mask, spec.temperatures)
            }
            _ => unreachable!("inputs are prepared for this network"),
        }
    }

    /// The predictions of a batch, each screened by the safety net over its whole text.
    fn finish(
        &self,
        texts: &[&str],
        used: &[(usize, bool)],
        level: &[f32],
        binary: &[f32],
    ) -> Vec<Prediction> {
        used.iter()
            .enumerate()
            .map(|(i, &(chars_used, truncated))| {
                let level_probs = level[i * N_LEVELS..(i + 1) * N_LEVELS].to_vec();
                let high_risk_prob = binary[i * 2 + HIGH_RISK];
                Prediction::from_probabilities(
                    level_probs,
                    high_risk_prob,
                    self.manifest.binary_threshold,
                    (chars_used, truncated),
                )
                .screen(texts[i])
            })
            .collect()
    }

    /// The windows each text is read in ([`crate::windows`]), after the [`windows::MAX_CHARS`] bound.
    fn plan<'t>(&self, texts: &[&'t str]) -> Result<Plan<'t>, (usize, Error)> {
        let mut plan = Plan::default();
        for (i, text) in texts.iter().enumerate() {
            let (bounded, cut) = windows::bounded(text);
            let spans = match (&self.network, &self.manifest.architecture) {
                (Network::Ngram { tokenizer, .. }, Architecture::CharNgram(cfg)) => {
                    tokenizer.windows(bounded, cfg.max_chars)
                }
                (Network::Encoder { tokenizer, .. }, _) => tokenizer.windows(bounded),
                _ => unreachable!("the network is built from the manifest's architecture"),
            }
            .map_err(|e| (i, e))?;
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

    /// Classifies a batch of texts (natively; in a browser use [`Self::predict_async`]). A text
    /// longer than the model reads at once is read in overlapping windows, and its result is
    /// the window with the highest P(high risk) ([`crate::windows`]).
    pub fn predict(&self, texts: &[&str]) -> Result<Vec<Prediction>, (usize, Error)> {
        let plan = self.plan(texts)?;
        let mut pieces = Vec::with_capacity(plan.pieces.len());
        for (c, chunk) in plan.pieces.chunks(PIECES_PER_CALL).enumerate() {
            let at = |k: usize| plan.owner[c * PIECES_PER_CALL + k];
            pieces.extend(self.predict_pieces(chunk).map_err(|(k, e)| (at(k), e))?);
        }
        Ok(plan.assemble(pieces))
    }

    /// Runs every length group and joins both heads' probabilities of all texts into one
    /// `[texts, N_LEVELS + 2]` tensor, groups in order: one read-back per request, on the CPU
    /// and on a GPU alike (a GPU read-back waits for the queue; two per group waited 2× as often).
    fn forward(&self, groups: Vec<(Vec<usize>, Inputs)>) -> (Tensor<2>, Vec<Vec<usize>>) {
        let mut parts = Vec::with_capacity(groups.len());
        let mut order = Vec::with_capacity(groups.len());
        for (idx, inputs) in groups {
            let (level, binary) = self.run(inputs);
            parts.push(Tensor::cat(vec![level, binary], 1));
            order.push(idx);
        }
        (Tensor::cat(parts, 0), order)
    }

    /// The predictions from the read-back values of [`Self::forward`].
    fn read(
        &self,
        texts: &[&str],
        used: &[(usize, bool)],
        values: &[f32],
        order: &[Vec<usize>],
    ) -> Vec<Prediction> {
        let width = N_LEVELS + 2;
        let mut out = Scattered::new(texts.len());
        let mut row = 0;
        for idx in order {
            let rows = &values[row * width..(row + idx.len()) * width];
            let level: Vec<f32> = rows.chunks(width).flat_map(|r| r[..N_LEVELS].to_vec()).collect();
            let binary: Vec<f32> = rows.chunks(width).flat_map(|r| r[N_LEVELS..].to_vec()).collect();
            out.put(idx, &level, &binary);
            row += idx.len();
        }
        self.finish(texts, used, &out.level, &out.binary)
    }

    /// Classifies texts that each fit the model (windows of a long text).
    fn predict_pieces(&self, texts: &[&str]) -> Result<Vec<Prediction>, (usize, Error)> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let prepared = self.prepare(texts)?;
        let (joined, order) = self.forward(prepared.groups);
        let values = joined
            .into_data()
            .try_into_vec::<f32>()
            .expect("f32 probabilities");
        Ok(self.read(texts, &prepared.used, &values, &order))
    }

    /// Why `prediction` (this classifier's, for `text`) came out as it did: for each character
    /// read, P(high risk) minus P(high risk) of the text without that character (without its
    /// span of neighbours, in texts longer than 32 characters).
    pub fn explain(&self, text: &str, prediction: &Prediction) -> Result<Vec<f32>, Error> {
        let part = explained_part(text, prediction);
        let (variants, of_char) = occlusions(part, part.chars().count());
        let texts: Vec<&str> = variants.iter().flatten().map(String::as_str).collect();
        let mut probs = Vec::with_capacity(texts.len());
        for chunk in texts.chunks(OCCLUSION_BATCH) {
            let predictions = self.predict(chunk).map_err(|(_, e)| e)?;
            probs.extend(predictions.iter().map(|p| p.high_risk_prob));
        }
        Ok(attribution(
            &variants,
            &of_char,
            &probs,
            prediction.high_risk_prob,
        ))
    }

    /// [`Self::explain`] with asynchronous read-back.
    pub async fn explain_async(&self, text: &str, prediction: &Prediction) -> Result<Vec<f32>, Error> {
        let part = explained_part(text, prediction);
        let (variants, of_char) = occlusions(part, part.chars().count());
        let texts: Vec<&str> = variants.iter().flatten().map(String::as_str).collect();
        let mut probs = Vec::with_capacity(texts.len());
        for chunk in texts.chunks(OCCLUSION_BATCH) {
            let predictions = self.predict_async(chunk).await.map_err(|(_, e)| e)?;
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
    pub async fn predict_async(&self, texts: &[&str]) -> Result<Vec<Prediction>, (usize, Error)> {
        let plan = self.plan(texts)?;
        let mut pieces = Vec::with_capacity(plan.pieces.len());
        for (c, chunk) in plan.pieces.chunks(PIECES_PER_CALL).enumerate() {
            let at = |k: usize| plan.owner[c * PIECES_PER_CALL + k];
            pieces.extend(
                self.predict_pieces_async(chunk)
                    .await
                    .map_err(|(k, e)| (at(k), e))?,
            );
        }
        Ok(plan.assemble(pieces))
    }

    async fn predict_pieces_async(&self, texts: &[&str]) -> Result<Vec<Prediction>, (usize, Error)> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let prepared = self.prepare(texts)?;
        let (joined, order) = self.forward(prepared.groups);
        let values = joined
            .into_data_async()
            .await
            .map_err(|e| (0, weights_error("read-back", format!("{e:?}"))))?
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

/// Both heads' probabilities for a whole call, row-major in the caller's order, filled in
/// group by group.
struct Scattered {
    level: Vec<f32>,
    binary: Vec<f32>,
}

impl Scattered {
    fn new(rows: usize) -> Self {
        Self {
            level: vec![0.0; rows * N_LEVELS],
            binary: vec![0.0; rows * 2],
        }
    }

    /// `level` and `binary` hold the rows `idx` names, in that order.
    fn put(&mut self, idx: &[usize], level: &[f32], binary: &[f32]) {
        for (k, &i) in idx.iter().enumerate() {
            self.level[i * N_LEVELS..(i + 1) * N_LEVELS]
                .copy_from_slice(&level[k * N_LEVELS..(k + 1) * N_LEVELS]);
            self.binary[i * 2..i * 2 + 2].copy_from_slice(&binary[k * 2..k * 2 + 2]);
        }
    }
}

/// The part of `text` an explanation covers: the deciding window of a long text, else what was
/// read. Attribution weights are per character of this part, which starts at
/// `prediction.window`'s start (or the text's).
fn explained_part<'t>(text: &'t str, prediction: &Prediction) -> &'t str {
    let span = prediction.window.unwrap_or(Span {
        start: 0,
        end: prediction.chars_used,
    });
    windows::slice(text, span)
}

/// Texts (or windows of long texts) per forward pass at most: a 20,000-character text is about
/// 200 windows of the encoder, and in one pass their activations would take hundreds of MB
/// (wasm memory, once grown, stays grown).
const PIECES_PER_CALL: usize = 32;

/// Texts scored per forward pass while explaining.
const OCCLUSION_BATCH: usize = 32;
/// At most this many texts are scored to explain one: longer texts are left out in spans of
/// neighbouring characters, which keeps the encoder's cost bounded in a browser.
const MAX_OCCLUSIONS: usize = 32;

/// For each character read, the text without it (or without its span, for long texts) and the
/// index of that variant; `None` where leaving it out leaves nothing to classify.
fn occlusions(text: &str, chars_used: usize) -> (Vec<Option<String>>, Vec<usize>) {
    let chars: Vec<char> = text.chars().collect();
    let used = chars_used.min(chars.len());
    let span = used.div_ceil(MAX_OCCLUSIONS).max(1);
    let variants = (0..used.div_ceil(span))
        .map(|k| {
            let (from, to) = (k * span, ((k + 1) * span).min(used));
            // The model never reads past `used`, so the variants stop there too (a 1 MB text
            // must not become 32 copies of itself).
            let rest: String = chars[..from].iter().chain(&chars[to..used]).collect();
            let span: String = chars[from..to].iter().collect();
            (!is_blank(&rest) && !is_blank(&span)).then_some(rest)
        })
        .collect();
    (variants, (0..used).map(|i| i / span).collect())
}

/// `probs` holds P(high) of the `Some` variants only, in order.
fn attribution(variants: &[Option<String>], of_char: &[usize], probs: &[f32], full: f32) -> Vec<f32> {
    let mut scored = probs.iter();
    let per_variant: Vec<f32> = variants
        .iter()
        .map(|v| match v {
            Some(_) => full - scored.next().expect("one probability per scored variant"),
            None => 0.0,
        })
        .collect();
    of_char.iter().map(|&k| per_variant[k]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn occlusions_cover_every_character_read_in_at_most_32_variants() {
        let (variants, of_char) = occlusions("ab c", 4);
        assert_eq!(variants.len(), 4);
        assert_eq!(variants[0].as_deref(), Some("b c"));
        assert_eq!(variants[2], None, "leaving out a space explains nothing");
        let long: String = "字".repeat(100);
        let (variants, of_char_long) = occlusions(&long, 90);
        assert!(variants.len() <= MAX_OCCLUSIONS);
        assert_eq!(of_char_long.len(), 90);
        assert_eq!(
            variants[0].as_ref().unwrap().chars().count(),
            87,
            "spans of 3, up to what is read"
        );
        assert_eq!(of_char, [0, 1, 2, 3]);
        let weights = attribution(&[None, Some("x".into())], &[0, 1, 1], &[0.25], 0.75);
        assert_eq!(weights, [0.0, 0.5, 0.5]);
        assert_eq!(occlusions("我", 1).0, [None], "a single character leaves nothing");
    }
}
