//! Reading labelled CSV files (`id,text,level[,binary][,split][,fold]`), such as SOS-1K, and the
//! augmentation pool. Errors name the file, the line and what was expected; they never quote a
//! post's text (the data is sensitive).

use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::labels::N_LEVELS;
use crate::lines::Lines;

/// Cross-validation folds of the training posts (the `fold` column: 0 to `FOLDS - 1`), as the
/// SOS-1K authors divided them.
pub const FOLDS: usize = 5;

/// Causes are fields named `cause`, not `source`: each message already says them, and an
/// error source would make the CLI print them a second time.
#[derive(Debug, Error)]
pub enum DataError {
    #[error("{path}: cannot read: {cause}")]
    Io { path: PathBuf, cause: std::io::Error },
    #[error("{path}: missing column {column:?} in the header (found: {found}); expected columns {expected}")]
    MissingColumn {
        path: PathBuf,
        column: &'static str,
        found: String,
        expected: String,
    },
    #[error("{path}, line {line}: column {column:?} is {value:?}; expected {expected}")]
    BadValue {
        path: PathBuf,
        line: u64,
        column: &'static str,
        value: String,
        expected: String,
    },
    #[error("{path}, line {line}: the text is empty")]
    EmptyText { path: PathBuf, line: u64 },
    #[error("{path}, line {line}: not valid UTF-8 (save the file as UTF-8)")]
    InvalidUtf8 { path: PathBuf, line: u64 },
    #[error("{path}, line {line}: not text in UTF-8, UTF-16 (with a BOM) or GB18030; save it as UTF-8")]
    NotText { path: PathBuf, line: u64 },
    #[error("{path}, line {line}: malformed CSV: {detail}")]
    Csv {
        path: PathBuf,
        line: u64,
        detail: String,
    },
    #[error("{path}: no rows{filter}")]
    NoRows { path: PathBuf, filter: String },
}

/// One labelled post.
#[derive(Debug, Clone, PartialEq)]
pub struct Post {
    pub id: String,
    pub text: String,
    pub level: usize,
    pub binary: Option<usize>,
    pub split: Option<String>,
    pub fold: Option<usize>,
}

/// A labelled file: its posts and whether it had a `binary` column.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub path: PathBuf,
    pub posts: Vec<Post>,
    pub has_binary: bool,
}

/// The whole file as UTF-8: the data files are a few MB at most, and line numbers come from
/// byte offsets. Files saved as UTF-16 (with a BOM) or GB18030 are decoded first
/// ([`crate::table::decode`]), as Excel on Chinese Windows saves them.
fn read(path: &Path) -> Result<Vec<u8>, DataError> {
    let bytes = std::fs::read(path).map_err(|cause| DataError::Io {
        path: path.into(),
        cause,
    })?;
    if std::str::from_utf8(&bytes).is_ok() {
        return Ok(bytes);
    }
    crate::table::decode(&bytes)
        .map(|(text, _)| text.into_bytes())
        .ok_or_else(|| DataError::NotText {
            path: path.into(),
            line: crate::table::first_bad_line(&bytes),
        })
}

fn reader(bytes: &[u8]) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new().has_headers(true).from_reader(bytes)
}

fn csv_error(path: &Path, e: csv::Error, lines: &mut Lines) -> DataError {
    let line = e.position().map_or(0, |p| lines.at(p.byte()) as u64);
    match e.kind() {
        csv::ErrorKind::Utf8 { .. } => DataError::InvalidUtf8 {
            path: path.into(),
            line,
        },
        csv::ErrorKind::Io(_) => DataError::Csv {
            path: path.into(),
            line,
            detail: e.to_string(),
        },
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => DataError::Csv {
            path: path.into(),
            line,
            detail: format!("{len} fields where the header has {expected_len} (check the quoting)"),
        },
        _ => DataError::Csv {
            path: path.into(),
            line,
            detail: e.to_string(),
        },
    }
}

/// Header positions: required columns must be there, optional ones may be.
struct Columns {
    index: Vec<(&'static str, Option<usize>)>,
}

impl Columns {
    fn find(
        path: &Path,
        headers: &csv::StringRecord,
        required: &[&'static str],
        optional: &[&'static str],
    ) -> Result<Self, DataError> {
        // A BOM or stray spaces around a header name should not hide the column.
        let names: Vec<String> = headers
            .iter()
            .map(|h| h.trim_start_matches('\u{feff}').trim().to_string())
            .collect();
        let mut index = Vec::new();
        for &column in required {
            let at = names
                .iter()
                .position(|n| n == column)
                .ok_or_else(|| DataError::MissingColumn {
                    path: path.into(),
                    column,
                    found: names.join(","),
                    expected: if optional.is_empty() {
                        required.join(",")
                    } else {
                        format!("{} and optionally {}", required.join(","), optional.join(","))
                    },
                })?;
            index.push((column, Some(at)));
        }
        for &column in optional {
            index.push((column, names.iter().position(|n| n == column)));
        }
        Ok(Self { index })
    }

    fn has(&self, column: &str) -> bool {
        self.index.iter().any(|(c, at)| *c == column && at.is_some())
    }

    fn get<'r>(&self, record: &'r csv::StringRecord, column: &str) -> Option<&'r str> {
        let at = self.index.iter().find(|(c, _)| *c == column)?.1?;
        record.get(at).map(str::trim_ascii)
    }
}

fn parse_label(
    path: &Path,
    line: u64,
    column: &'static str,
    value: &str,
    below: usize,
) -> Result<usize, DataError> {
    match value.parse::<usize>() {
        Ok(v) if v < below => Ok(v),
        _ => Err(DataError::BadValue {
            path: path.into(),
            line,
            column,
            value: value.chars().take(20).collect(),
            expected: format!("an integer from 0 to {}", below - 1),
        }),
    }
}

/// A label column that may be missing or empty: `None` then, else parsed as [`parse_label`].
fn optional_label(
    path: &Path,
    line: u64,
    column: &'static str,
    value: Option<&str>,
    below: usize,
) -> Result<Option<usize>, DataError> {
    match value {
        Some("") | None => Ok(None),
        Some(v) => parse_label(path, line, column, v, below).map(Some),
    }
}

/// Reads `path` as CSV with these required and optional columns, and calls `row` with each
/// record and the line it starts on. Errors name the file and the line. Returns the columns
/// found, for what the header says (e.g. whether an optional column is there).
fn each_record(
    path: &Path,
    required: &[&'static str],
    optional: &[&'static str],
    mut row: impl FnMut(&Columns, &csv::StringRecord, u64) -> Result<(), DataError>,
) -> Result<Columns, DataError> {
    let bytes = read(path)?;
    let mut reader = reader(&bytes);
    let mut lines = Lines::new(&bytes);
    let headers = reader
        .headers()
        .map_err(|e| csv_error(path, e, &mut lines))?
        .clone();
    let cols = Columns::find(path, &headers, required, optional)?;
    for record in reader.records() {
        let record = record.map_err(|e| csv_error(path, e, &mut lines))?;
        let line = record.position().map_or(0, |p| lines.at(p.byte()) as u64);
        row(&cols, &record, line)?;
    }
    Ok(cols)
}

/// Reads a labelled CSV. Every row must have a non-empty text and a level 0–10; `binary` (0/1),
/// `split` and `fold` (0–4) are read where the header has them.
pub fn read_labelled(path: &Path) -> Result<Dataset, DataError> {
    let mut posts = Vec::new();
    let cols = each_record(
        path,
        &["id", "text", "level"],
        &["binary", "split", "fold"],
        |cols, record, line| {
            let text = cols.get(record, "text").unwrap_or("");
            if text.trim().is_empty() {
                return Err(DataError::EmptyText {
                    path: path.into(),
                    line,
                });
            }
            let level = parse_label(
                path,
                line,
                "level",
                cols.get(record, "level").unwrap_or(""),
                N_LEVELS,
            )?;
            let binary = match cols.get(record, "binary") {
                Some(v) if cols.has("binary") => Some(parse_label(path, line, "binary", v, 2)?),
                _ => None,
            };
            let fold = optional_label(path, line, "fold", cols.get(record, "fold"), FOLDS)?;
            posts.push(Post {
                id: cols.get(record, "id").unwrap_or("").to_string(),
                text: text.to_string(),
                level,
                binary,
                split: cols
                    .get(record, "split")
                    .filter(|s| !s.is_empty())
                    .map(str::to_string),
                fold,
            });
            Ok(())
        },
    )?;
    if posts.is_empty() {
        return Err(DataError::NoRows {
            path: path.into(),
            filter: String::new(),
        });
    }
    Ok(Dataset {
        path: path.into(),
        posts,
        has_binary: cols.has("binary"),
    })
}

impl Dataset {
    /// Keeps the rows whose `split` column equals `split`.
    pub fn only_split(mut self, split: &str) -> Result<Self, DataError> {
        self.posts.retain(|p| p.split.as_deref() == Some(split));
        if self.posts.is_empty() {
            return Err(DataError::NoRows {
                path: self.path,
                filter: format!(" with split = {split:?}"),
            });
        }
        Ok(self)
    }

    /// Keeps the rows of cross-validation fold `fold` (e.g. the validation fold a model's
    /// threshold was chosen on).
    pub fn only_fold(mut self, fold: usize) -> Result<Self, DataError> {
        self.posts.retain(|p| p.fold == Some(fold));
        if self.posts.is_empty() {
            return Err(DataError::NoRows {
                path: self.path,
                filter: format!(" with fold = {fold}"),
            });
        }
        Ok(self)
    }

    /// Training rows (those not in the test split) divided into (train, validation) by `fold`.
    pub fn fold_split(&self, val_fold: usize) -> (Vec<Post>, Vec<Post>) {
        self.posts
            .iter()
            .filter(|p| p.split.as_deref() != Some("test"))
            .cloned()
            .partition(|p| p.fold != Some(val_fold))
    }
}

/// The `text` column of any CSV, with the line each text is on; empty texts are kept (the
/// classifier refuses them, naming the line).
pub fn read_text_column(path: &Path) -> Result<Vec<(u64, String)>, DataError> {
    let mut texts = Vec::new();
    each_record(path, &["text"], &[], |cols, record, line| {
        texts.push((line, cols.get(record, "text").unwrap_or("").to_string()));
        Ok(())
    })?;
    Ok(texts)
}

/// What a screening tool must do with a text of a screening set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Expect {
    /// A statement of risk: it must be flagged.
    Flag,
    /// No risk: flagging it is a false alarm.
    None,
}

/// One text of a screening set: the robustness sets (`id,group,risk,text`) or any labelled
/// file with a `group` or `source` column (the everyday pool: `source`).
#[derive(Debug, Clone)]
pub struct ScreeningText {
    pub id: String,
    pub text: String,
    pub group: String,
    pub expect: Option<Expect>,
}

/// Reads a screening set: `id` and `text`, the group from `group` (else `source`, else "all"),
/// what is expected from `risk` (`flag` or `none`), else from the labels: level ≤ 3 with binary
/// 0 is `none` (no suicidal wish, low risk). `split` keeps only the rows of that split.
pub fn read_screening(path: &Path, split: Option<&str>) -> Result<Vec<ScreeningText>, DataError> {
    let mut rows = Vec::new();
    each_record(
        path,
        &["id", "text"],
        &["group", "source", "risk", "level", "binary", "split"],
        |cols, record, line| {
            if split.is_some_and(|s| cols.get(record, "split") != Some(s)) {
                return Ok(());
            }
            let text = cols.get(record, "text").unwrap_or("");
            if crate::text::is_blank(text) {
                return Err(DataError::EmptyText {
                    path: path.into(),
                    line,
                });
            }
            let expect = match cols.get(record, "risk") {
                Some("flag") => Some(Expect::Flag),
                Some("none") => Some(Expect::None),
                Some("") | None => {
                    let level = optional_label(path, line, "level", cols.get(record, "level"), N_LEVELS)?;
                    let binary = optional_label(path, line, "binary", cols.get(record, "binary"), 2)?;
                    match (level, binary) {
                        (Some(l), Some(0)) if l <= 3 => Some(Expect::None),
                        _ => None,
                    }
                }
                Some(other) => {
                    return Err(DataError::BadValue {
                        path: path.into(),
                        line,
                        column: "risk",
                        value: other.chars().take(20).collect(),
                        expected: "flag or none".into(),
                    });
                }
            };
            let group = cols
                .get(record, "group")
                .or_else(|| cols.get(record, "source"))
                .filter(|g| !g.is_empty())
                .unwrap_or("all");
            rows.push(ScreeningText {
                id: cols.get(record, "id").unwrap_or("").to_string(),
                text: text.to_string(),
                group: group.to_string(),
                expect,
            });
            Ok(())
        },
    )?;
    if rows.is_empty() {
        return Err(DataError::NoRows {
            path: path.into(),
            filter: split.map_or(String::new(), |s| format!(" with split = {s:?}")),
        });
    }
    Ok(rows)
}

/// Whether the CSV's header names a column (BOM and spaces ignored).
pub fn has_column(path: &Path, column: &str) -> Result<bool, DataError> {
    let bytes = read(path)?;
    let mut reader = reader(&bytes);
    let mut lines = Lines::new(&bytes);
    let headers = reader.headers().map_err(|e| csv_error(path, e, &mut lines))?;
    Ok(headers
        .iter()
        .any(|h| h.trim_start_matches('\u{feff}').trim() == column))
}

/// One row of the augmentation pool.
#[derive(Debug, Clone, PartialEq)]
pub struct AugmentedPost {
    pub method: String,
    pub text: String,
    pub level: usize,
    pub binary: Option<usize>,
    pub source_fold: Option<usize>,
}

/// Reads `augmentation.csv` (`source_id,method,text,level,binary,source_fold`).
pub fn read_augmentation(path: &Path) -> Result<Vec<AugmentedPost>, DataError> {
    let mut rows = Vec::new();
    each_record(
        path,
        &["method", "text", "level", "binary", "source_fold"],
        &[],
        |cols, record, line| {
            let text = cols.get(record, "text").unwrap_or("");
            if text.is_empty() {
                return Ok(());
            }
            let binary = optional_label(path, line, "binary", cols.get(record, "binary"), 2)?;
            let source_fold =
                optional_label(path, line, "source_fold", cols.get(record, "source_fold"), FOLDS)?;
            rows.push(AugmentedPost {
                method: cols.get(record, "method").unwrap_or("").to_string(),
                text: text.to_string(),
                level: parse_label(
                    path,
                    line,
                    "level",
                    cols.get(record, "level").unwrap_or(""),
                    N_LEVELS,
                )?,
                binary,
                source_fold,
            });
            Ok(())
        },
    )?;
    Ok(rows)
}

/// SHA-256 of a file, to record which data a model was trained on.
pub fn file_sha256(path: &Path) -> Result<String, DataError> {
    let bytes = std::fs::read(path).map_err(|cause| DataError::Io {
        path: path.into(),
        cause,
    })?;
    Ok(crate::infer::sha256_hex(&bytes))
}
