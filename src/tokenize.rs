//! Text → character ids, through a Hugging Face `tokenizer.json` (the same file format the
//! pretrained encoders use, so the model directory always carries its tokenizer as data).
//!
//! The from-scratch model reads character n-grams: the tokenizer normalises (NFKC, lowercase, one
//! space for any whitespace run) and splits into single characters, which a `WordLevel`
//! vocabulary maps to ids. The same vocabulary also holds the bigrams and trigrams seen in
//! training, so every position gets up to three feature ids: the character, the bigram ending
//! there and the trigram ending there. Offsets map each position back to its bytes in the
//! original text, for highlighting.

use std::collections::HashMap;

use serde_json::json;
use tokenizers::{NormalizedString, Normalizer, Tokenizer};

use crate::Error;
use crate::text::is_blank;
use crate::windows::{Span, char_spans, token_windows};

pub const PAD: &str = "[PAD]";
pub const UNK: &str = "[UNK]";
pub const PAD_ID: u32 = 0;
pub const UNK_ID: u32 = 1;

/// N-gram orders per position: character, bigram, trigram.
pub const NGRAM_ORDERS: usize = 3;

/// A text as the model reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct Encoded {
    /// Character ids.
    pub ids: Vec<u32>,
    /// Per position: ids of the character and of the bigram and trigram ending there
    /// (`PAD_ID` where that n-gram is not in the vocabulary).
    pub features: Vec<[u32; NGRAM_ORDERS]>,
    /// Byte range of each position in the original text.
    pub offsets: Vec<(usize, usize)>,
}

pub struct CharTokenizer {
    inner: Tokenizer,
    vocab_size: usize,
}

impl CharTokenizer {
    /// Builds a vocabulary of every character seen at least `min_char_count` times in `texts`,
    /// and every bigram and trigram of those characters found in at least `min_ngram_docs` texts.
    pub fn build<'a>(
        texts: impl IntoIterator<Item = &'a str>,
        min_char_count: usize,
        min_ngram_docs: usize,
    ) -> Result<Self, Error> {
        // Count on normalised text so the vocabulary matches what `encode` will look up.
        let bare = Self::from_vocab(&[])?;
        let docs: Vec<Vec<String>> = texts
            .into_iter()
            .map(|t| bare.pieces(t))
            .collect::<Result<_, _>>()?;
        let mut char_counts: HashMap<&str, usize> = HashMap::new();
        for piece in docs.iter().flatten() {
            *char_counts.entry(piece).or_default() += 1;
        }
        let chars = sorted_keys(char_counts, min_char_count);
        let known: std::collections::HashSet<&str> = chars.iter().map(String::as_str).collect();
        let mut ngram_docs: HashMap<String, usize> = HashMap::new();
        for doc in &docs {
            let mut seen = std::collections::HashSet::new();
            for n in 2..=NGRAM_ORDERS {
                for w in doc
                    .windows(n)
                    .filter(|w| w.iter().all(|c| known.contains(c.as_str())))
                {
                    seen.insert(w.concat());
                }
            }
            for ngram in seen {
                *ngram_docs.entry(ngram).or_default() += 1;
            }
        }
        let mut vocab = chars.clone();
        vocab.extend(sorted_keys(ngram_docs, min_ngram_docs));
        Self::from_vocab(&vocab)
    }

    fn from_vocab(chars: &[String]) -> Result<Self, Error> {
        let mut vocab = serde_json::Map::new();
        vocab.insert(PAD.into(), json!(PAD_ID));
        vocab.insert(UNK.into(), json!(UNK_ID));
        for (i, c) in chars.iter().enumerate() {
            vocab.insert(c.clone(), json!(i + 2));
        }
        let special = |id: u32, content: &str| {
            json!({"id": id, "content": content, "single_word": false, "lstrip": false,
                   "rstrip": false, "normalized": false, "special": true})
        };
        let spec = json!({
            "version": "1.0",
            "truncation": null,
            "padding": null,
            "added_tokens": [special(PAD_ID, PAD), special(UNK_ID, UNK)],
            "normalizer": {"type": "Sequence", "normalizers": [
                {"type": "NFKC"},
                {"type": "Lowercase"},
                {"type": "Replace", "pattern": {"Regex": "\\s+"}, "content": " "},
                {"type": "Strip", "strip_left": true, "strip_right": true}
            ]},
            "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "(?s)."},
                              "behavior": "Isolated", "invert": false},
            "post_processor": null,
            "decoder": null,
            "model": {"type": "WordLevel", "vocab": vocab, "unk_token": UNK}
        });
        Self::from_json(spec.to_string().as_bytes())
    }

    /// Reads a `tokenizer.json`; `what` names the file in errors.
    pub fn from_json(bytes: &[u8]) -> Result<Self, Error> {
        let inner = Tokenizer::from_bytes(bytes).map_err(|e| Error::Tokenizer {
            what: "tokenizer.json".into(),
            detail: e.to_string(),
        })?;
        let vocab_size = inner.get_vocab_size(true);
        if inner.token_to_id(PAD) != Some(PAD_ID) || inner.token_to_id(UNK) != Some(UNK_ID) {
            return Err(Error::Tokenizer {
                what: "tokenizer.json".into(),
                detail: format!("expected {PAD} = {PAD_ID} and {UNK} = {UNK_ID}"),
            });
        }
        Ok(Self { inner, vocab_size })
    }

    pub fn to_json(&self) -> Result<String, Error> {
        self.inner.to_string(false).map_err(|e| Error::Tokenizer {
            what: "tokenizer.json".into(),
            detail: e.to_string(),
        })
    }

    pub fn vocab_size(&self) -> usize {
        self.vocab_size
    }

    fn encoding(&self, text: &str) -> Result<tokenizers::Encoding, Error> {
        self.inner.encode(text, false).map_err(|e| Error::Tokenizer {
            what: "encoding text".into(),
            detail: e.to_string(),
        })
    }

    /// The characters the model sees for `text`: normalised, then split per character as the
    /// pre-tokenizer does (tokens would show `[UNK]` for characters not yet in the vocabulary).
    fn pieces(&self, text: &str) -> Result<Vec<String>, Error> {
        let mut normalized = NormalizedString::from(text);
        if let Some(n) = self.inner.get_normalizer() {
            n.normalize(&mut normalized).map_err(|e| Error::Tokenizer {
                what: "normalising text".into(),
                detail: e.to_string(),
            })?;
        }
        Ok(normalized.get().chars().map(String::from).collect())
    }

    /// Encodes `text`; text that is blank ([`is_blank`]) or empty after normalisation is an
    /// error, not a prediction.
    pub fn encode(&self, text: &str) -> Result<Encoded, Error> {
        if is_blank(text) {
            return Err(Error::EmptyText);
        }
        let encoding = self.encoding(text)?;
        if encoding.get_ids().is_empty() {
            return Err(Error::EmptyText);
        }
        let ids = encoding.get_ids();
        let tokens = encoding.get_tokens();
        let lookup = |from: usize, to: usize| {
            if ids[from..=to].contains(&UNK_ID) {
                return PAD_ID;
            }
            self.inner
                .token_to_id(&tokens[from..=to].concat())
                .unwrap_or(PAD_ID)
        };
        let features = (0..ids.len())
            .map(|i| {
                let ngram = |n: usize| if i + 1 >= n { lookup(i + 1 - n, i) } else { PAD_ID };
                [ids[i], ngram(2), ngram(3)]
            })
            .collect();
        Ok(Encoded {
            ids: ids.to_vec(),
            features,
            offsets: encoding.get_offsets().to_vec(),
        })
    }
}

/// The pretrained encoder's SentencePiece tokenizer (the `tokenizer.json` that `sosrisk import`
/// pruned), with e5's "query: " prefix and a limit on tokens per text.
pub struct PieceTokenizer {
    inner: Tokenizer,
    prefix: String,
    max_tokens: usize,
}

/// A text as the encoder reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct Pieces {
    /// Token ids, `<s>` … `</s>`, at most `max_tokens`.
    pub ids: Vec<u32>,
    /// Characters of the text the kept tokens cover.
    pub chars_used: usize,
    pub truncated: bool,
}

impl PieceTokenizer {
    pub fn new(inner: Tokenizer, prefix: &str, max_tokens: usize) -> Self {
        Self {
            inner,
            prefix: prefix.into(),
            max_tokens: max_tokens.max(3),
        }
    }

    pub fn from_json(bytes: &[u8], prefix: &str, max_tokens: usize) -> Result<Self, Error> {
        let inner = Tokenizer::from_bytes(bytes).map_err(|e| Error::Tokenizer {
            what: "reading tokenizer.json".into(),
            detail: e.to_string(),
        })?;
        Ok(Self::new(inner, prefix, max_tokens))
    }

    pub fn to_json(&self) -> Result<String, Error> {
        self.inner.to_string(false).map_err(|e| Error::Tokenizer {
            what: "writing tokenizer.json".into(),
            detail: e.to_string(),
        })
    }

    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    /// Encodes `text`; blank text ([`is_blank`]) is an error. Longer texts keep their first
    /// `max_tokens - 1` tokens and the closing `</s>`, as the encoder saw in pre-training.
    pub fn encode(&self, text: &str) -> Result<Pieces, Error> {
        if is_blank(text) {
            return Err(Error::EmptyText);
        }
        let encoding = self.encoding(text)?;
        let mut ids = encoding.get_ids().to_vec();
        let total = text.chars().count();
        if ids.len() <= self.max_tokens {
            return Ok(Pieces {
                ids,
                chars_used: total,
                truncated: false,
            });
        }
        let end = *ids.last().expect("longer than max_tokens");
        ids.truncate(self.max_tokens - 1);
        ids.push(end);
        // Byte offsets are into the prefixed text; the last kept piece ends where reading stopped.
        let stop = encoding.get_offsets()[self.max_tokens - 2]
            .1
            .saturating_sub(self.prefix.len());
        Ok(Pieces {
            ids,
            chars_used: text.char_indices().take_while(|(i, _)| *i < stop).count(),
            truncated: true,
        })
    }
}

impl PieceTokenizer {
    /// The prefixed text's encoding, with `<s>` and `</s>`.
    fn encoding(&self, text: &str) -> Result<tokenizers::Encoding, Error> {
        self.inner
            .encode(format!("{}{text}", self.prefix), true)
            .map_err(|e| Error::Tokenizer {
                what: "encoding text".into(),
                detail: e.to_string(),
            })
    }

    /// The character spans of the windows that read all of `text` ([`crate::windows`]): one
    /// when it fits in `max_tokens`, else overlapping windows of that length.
    pub fn windows(&self, text: &str) -> Result<Vec<Span>, Error> {
        if is_blank(text) {
            return Err(Error::EmptyText);
        }
        let encoding = self.encoding(text)?;
        let prefix = self.prefix.len();
        let special = encoding.get_special_tokens_mask();
        // The text's own tokens (not `<s>`, `</s>` or the prefix's), as character ranges.
        let bytes: Vec<(usize, usize)> = encoding
            .get_offsets()
            .iter()
            .zip(special)
            .filter(|(o, s)| **s == 0 && o.1 > prefix)
            .map(|(o, _)| (o.0.saturating_sub(prefix), o.1 - prefix))
            .collect();
        let prefix_tokens = special.iter().filter(|s| **s == 0).count() - bytes.len();
        let fits = self.max_tokens.saturating_sub(2 + prefix_tokens).max(8);
        // Windows two tokens short of that: a window's text, tokenized on its own, may split a
        // piece differently at its edges, and must still fit (and so read as one window).
        Ok(char_spans_of(text, &bytes, fits, fits - 2))
    }
}

/// One span when the tokens at these byte ranges of `text` number at most `fits`, else
/// windows of `capacity` tokens, as character spans.
fn char_spans_of(text: &str, bytes: &[(usize, usize)], fits: usize, capacity: usize) -> Vec<Span> {
    let total = text.chars().count();
    if bytes.len() <= fits {
        return vec![Span { start: 0, end: total }];
    }
    // Byte offset → character index (offsets fall on character boundaries).
    let mut char_at = vec![0usize; text.len() + 1];
    let mut c = 0;
    for (b, ch) in text.char_indices() {
        for slot in &mut char_at[b..b + ch.len_utf8()] {
            *slot = c;
        }
        c += 1;
    }
    char_at[text.len()] = c;
    let chars: Vec<(usize, usize)> = bytes
        .iter()
        .map(|&(a, b)| (char_at[a.min(text.len())], char_at[b.min(text.len())]))
        .collect();
    char_spans(&chars, &token_windows(chars.len(), capacity), total)
}

impl CharTokenizer {
    /// The character spans of the windows of `max_chars` characters that read all of `text`.
    pub fn windows(&self, text: &str, max_chars: usize) -> Result<Vec<Span>, Error> {
        let encoded = self.encode(text)?;
        Ok(char_spans_of(text, &encoded.offsets, max_chars, max_chars))
    }
}

/// Keys counted at least `min` times, most frequent first; ties by text, so the same data always
/// gives the same ids.
fn sorted_keys<K: AsRef<str>>(counts: HashMap<K, usize>, min: usize) -> Vec<String> {
    let mut kept: Vec<(K, usize)> = counts.into_iter().filter(|(_, c)| *c >= min).collect();
    kept.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.as_ref().cmp(b.0.as_ref())));
    kept.into_iter().map(|(k, _)| k.as_ref().to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tok() -> CharTokenizer {
        CharTokenizer::build(["今天很累", "我很好 ok", "今天很好"], 1, 2).unwrap()
    }

    #[test]
    fn known_characters_get_ids_and_unknown_get_unk() {
        let t = tok();
        let e = t.encode("很累吗").unwrap();
        assert_eq!(e.ids.len(), 3);
        assert!(e.ids[0] > UNK_ID && e.ids[1] > UNK_ID);
        assert_eq!(e.ids[2], UNK_ID);
        // Offsets are byte ranges of the original text: three 3-byte characters.
        assert_eq!(e.offsets, vec![(0, 3), (3, 6), (6, 9)]);
    }

    #[test]
    fn ngrams_in_two_texts_get_ids_and_others_do_not() {
        let t = tok();
        // "今天很" is in two texts; "很累" in one only; "累吗" never (and 吗 is unknown).
        let e = t.encode("今天很累吗").unwrap();
        assert_eq!(e.features.len(), 5);
        assert_eq!(e.features[0], [e.ids[0], PAD_ID, PAD_ID]);
        assert_ne!(e.features[1][1], PAD_ID, "bigram 今天");
        assert_ne!(e.features[2][2], PAD_ID, "trigram 今天很");
        assert_eq!(e.features[3][1], PAD_ID, "bigram 很累 is in one text only");
        assert_eq!(e.features[4], [UNK_ID, PAD_ID, PAD_ID]);
    }

    #[test]
    fn normalisation_folds_width_case_and_whitespace() {
        let t = tok();
        assert_eq!(t.encode("ＯＫ").unwrap().ids, t.encode("ok").unwrap().ids);
        assert_eq!(t.encode("很\n\t 累").unwrap().ids, t.encode("很 累").unwrap().ids);
    }

    #[test]
    fn empty_and_whitespace_text_is_an_error() {
        let t = tok();
        assert!(matches!(t.encode(""), Err(Error::EmptyText)));
        assert!(matches!(t.encode(" \n\u{3000} "), Err(Error::EmptyText)));
        assert!(matches!(t.encode("\u{200B}\u{FEFF}\u{1}"), Err(Error::EmptyText)));
    }

    #[test]
    fn json_round_trip_keeps_ids() {
        let t = tok();
        let again = CharTokenizer::from_json(t.to_json().unwrap().as_bytes()).unwrap();
        assert_eq!(again.vocab_size(), t.vocab_size());
        assert_eq!(again.encode("今天ok").unwrap(), t.encode("今天ok").unwrap());
    }

    #[test]
    fn garbage_json_is_a_clear_error() {
        let err = CharTokenizer::from_json(b"{not json").err().unwrap();
        assert!(err.to_string().contains("tokenizer.json"));
    }
}
