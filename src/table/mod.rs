//! The files counselors have, read the same way by the CLI and the page: CSV, TSV and TXT in
//! UTF-8, UTF-16 or GB18030 (detected, see [`decode`]), Excel's "Unicode text" (a tab-separated
//! table saved as `.txt`), plain text with one post per line, and `.xlsx` workbooks (through
//! calamine). Every column is kept, in order, so that an export loses nothing ([`export`]).
//! Errors name the file, the line and what was expected, and never quote a text.

mod decode;
pub mod export;

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};
use serde::{Deserialize, Serialize};

use crate::lines::Lines;

pub use decode::decode;

/// The line of the first byte that is not UTF-8 (where a file that fits no encoding goes
/// wrong, as far as the user's editor shows it).
pub fn first_bad_line(bytes: &[u8]) -> u64 {
    let at = std::str::from_utf8(bytes)
        .err()
        .map_or(bytes.len(), |e| e.valid_up_to());
    1 + bytes[..at].iter().filter(|&&b| b == b'\n').count() as u64
}

/// What went wrong reading a file. The page shows each in its own language
/// (`web::i18n::Words::table_error`); `Display` is the CLI's English.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum TableError {
    #[error(
        "{file}, line {line}: not text in UTF-8, UTF-16 (with a BOM) or GB18030; save it as UTF-8 or as an Excel workbook"
    )]
    NotText { file: String, line: u64 },
    #[error("{file}, line {line}: {detail}")]
    Malformed {
        file: String,
        line: usize,
        detail: String,
    },
    #[error("{file}: the workbook cannot be read ({detail})")]
    Workbook { file: String, detail: String },
    #[error("{file}: no sheet named {sheet:?} (the workbook has: {})", sheets.join(", "))]
    NoSheet {
        file: String,
        sheet: String,
        sheets: Vec<String>,
    },
    #[error("{file}: no column named \"text\"; choose the text column (the header has: {})", columns.join(", "))]
    NoTextColumn { file: String, columns: Vec<String> },
    #[error("{file}: no column named {column:?} (the header has: {})", columns.join(", "))]
    NoSuchColumn {
        file: String,
        column: String,
        columns: Vec<String>,
    },
    #[error("{file}: no rows")]
    Empty { file: String },
}

/// How the file was read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Format {
    Csv,
    /// Tab-separated (`.tsv`, or a `.txt` whose first line has tabs: Excel's "Unicode text").
    Tsv,
    /// Plain text, one post per line, no header (blank lines skipped).
    Lines,
    /// A workbook: the sheet read, and all its sheets.
    Xlsx {
        sheet: String,
        sheets: Vec<String>,
    },
}

/// One row: its line in the file (the row number in a sheet) and its cells, one per column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableRow {
    pub line: usize,
    pub cells: Vec<String>,
}

/// A file as a table: a header (the single column `text` for plain lines) and its rows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Table {
    pub file: String,
    pub format: Format,
    /// The text encoding used (`None` for a workbook).
    pub encoding: Option<String>,
    pub columns: Vec<String>,
    pub rows: Vec<TableRow>,
}

fn extension(name: &str) -> String {
    name.rsplit_once('.')
        .map(|(_, e)| e.to_lowercase())
        .unwrap_or_default()
}

/// Reads a file by its name's extension: `.xlsx`/`.xlsm` as a workbook (`sheet`, or the first),
/// `.csv` as CSV, `.tsv` as TSV, anything else as text: a TSV table when its first line has a
/// tab, else one post per line.
pub fn read(file: &str, bytes: &[u8], sheet: Option<&str>) -> Result<Table, TableError> {
    let table = match extension(file).as_str() {
        "xlsx" | "xlsm" => read_workbook(file, bytes, sheet)?,
        ext => {
            let (text, encoding) = decode(bytes).ok_or_else(|| TableError::NotText {
                file: file.into(),
                line: first_bad_line(bytes),
            })?;
            let first = text.lines().next().unwrap_or("");
            let format = match ext {
                "csv" => Format::Csv,
                "tsv" => Format::Tsv,
                _ if first.contains('\t') => Format::Tsv,
                _ => Format::Lines,
            };
            let (columns, rows) = match format {
                Format::Lines => (vec!["text".to_string()], lines(&text)),
                Format::Tsv => delimited(file, &text, b'\t')?,
                _ => delimited(file, &text, b',')?,
            };
            Table {
                file: file.into(),
                format,
                encoding: Some(encoding.into()),
                columns,
                rows,
            }
        }
    };
    if table.rows.is_empty() {
        return Err(TableError::Empty { file: file.into() });
    }
    Ok(table)
}

fn lines(text: &str) -> Vec<TableRow> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !crate::text::is_blank(l))
        .map(|(i, l)| TableRow {
            line: i + 1,
            cells: vec![l.to_string()],
        })
        .collect()
}

/// The csv crate's error without the data it quotes.
fn csv_problem(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => {
            format!("{len} fields where the header has {expected_len}")
        }
        _ => "malformed CSV (check the quoting)".into(),
    }
}

/// A header and rows; rows longer than the header widen it with `column N`, shorter ones are
/// padded, and rows whose cells are all blank are skipped.
fn delimited(file: &str, text: &str, delimiter: u8) -> Result<(Vec<String>, Vec<TableRow>), TableError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut lines = Lines::new(text.as_bytes());
    let malformed = |line: usize, e: &csv::Error| TableError::Malformed {
        file: file.into(),
        line,
        detail: csv_problem(e),
    };
    let mut columns: Vec<String> = reader
        .headers()
        .map_err(|e| malformed(1, &e))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| lines.at(p.byte()));
            malformed(line, &e)
        })?;
        if record.iter().all(crate::text::is_blank) {
            continue;
        }
        let line = record.position().map_or(0, |p| lines.at(p.byte()));
        rows.push(TableRow {
            line,
            cells: record.iter().map(str::to_string).collect(),
        });
    }
    let widest = rows.iter().map(|r| r.cells.len()).max().unwrap_or(0);
    while columns.len() < widest {
        columns.push(format!("column {}", columns.len() + 1));
    }
    for row in &mut rows {
        row.cells.resize(columns.len(), String::new());
    }
    Ok((columns, rows))
}

/// A cell as text: whole numbers without a decimal point (ids, counts), dates as Excel shows
/// them in ISO form where calamine can.
fn cell_text(d: &Data) -> String {
    match d {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::DateTime(dt) if dt.is_datetime() => {
            let (y, mo, d, h, mi, s, _) = dt.to_ymd_hms_milli();
            if (h, mi, s) == (0, 0, 0) {
                format!("{y:04}-{mo:02}-{d:02}")
            } else {
                format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}")
            }
        }
        other => other.to_string(),
    }
}

fn read_workbook(file: &str, bytes: &[u8], sheet: Option<&str>) -> Result<Table, TableError> {
    let workbook_error = |e: &dyn std::fmt::Display| TableError::Workbook {
        file: file.into(),
        detail: e.to_string(),
    };
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes.to_vec())).map_err(|e| workbook_error(&e))?;
    let sheets = book.sheet_names();
    let wanted: Vec<String> = match sheet {
        Some(s) => {
            vec![
                sheets
                    .iter()
                    .find(|n| n.as_str() == s)
                    .cloned()
                    .ok_or_else(|| TableError::NoSheet {
                        file: file.into(),
                        sheet: s.into(),
                        sheets: sheets.clone(),
                    })?,
            ]
        }
        // The first sheet with rows under its header (a workbook often opens with a notes page).
        None => sheets.clone(),
    };
    for name in wanted {
        let range = book.worksheet_range(&name).map_err(|e| workbook_error(&e))?;
        let first_row = range.start().map_or(0, |(r, _)| r as usize);
        let mut all = range.rows().enumerate().map(|(i, cells)| TableRow {
            line: first_row + i + 1,
            cells: cells.iter().map(cell_text).collect(),
        });
        // The first row with anything in it is the header.
        let header = all.find(|r| r.cells.iter().any(|c| !crate::text::is_blank(c)));
        let columns: Vec<String> = header
            .map(|r| r.cells.iter().map(|c| c.trim().to_string()).collect())
            .unwrap_or_default();
        let rows: Vec<TableRow> = all
            .filter(|r| r.cells.iter().any(|c| !crate::text::is_blank(c)))
            .collect();
        if !rows.is_empty() || sheet.is_some() {
            return Ok(Table {
                file: file.into(),
                format: Format::Xlsx { sheet: name, sheets },
                encoding: None,
                columns,
                rows,
            });
        }
    }
    Err(TableError::Empty { file: file.into() })
}

impl Table {
    /// The column named `name` (trimmed, any case), or an error listing the columns.
    pub fn column(&self, name: &str) -> Result<usize, TableError> {
        self.columns
            .iter()
            .position(|c| c.trim().eq_ignore_ascii_case(name.trim()))
            .ok_or_else(|| TableError::NoSuchColumn {
                file: self.file.clone(),
                column: name.into(),
                columns: self.columns.clone(),
            })
    }

    /// The text column: `chosen`, else the one named `text`; without either, an error asking
    /// for a choice.
    pub fn text_column(&self, chosen: Option<&str>) -> Result<usize, TableError> {
        match chosen {
            Some(name) => self.column(name),
            None => self.column("text").map_err(|_| TableError::NoTextColumn {
                file: self.file.clone(),
                columns: self.columns.clone(),
            }),
        }
    }

    /// Each row's cell in `column`, with the row's line.
    pub fn texts(&self, column: usize) -> impl Iterator<Item = (usize, &str)> {
        self.rows.iter().map(move |r| (r.line, r.cells[column].as_str()))
    }

    /// How the file was read, for a status line: "UTF-8, CSV", "GB18030, TSV", "sheet 1 of 2".
    pub fn describe(&self) -> String {
        match (&self.format, &self.encoding) {
            (Format::Xlsx { sheet, sheets }, _) => format!("sheet {sheet:?} of {}", sheets.len()),
            (f, Some(e)) => format!("{e}, {f:?}"),
            (f, None) => format!("{f:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Synthetic texts, written for these tests.

    #[test]
    fn a_csv_keeps_every_column_in_order_with_its_lines() {
        let t = read(
            "posts.csv",
            "user,date,text\nu1,2026-01-02,今天很开心\n\nu2,2026-01-03,\"有逗号, 也有\"\"引号\"\"\"\n"
                .as_bytes(),
            None,
        )
        .unwrap();
        assert_eq!(t.format, Format::Csv);
        assert_eq!(t.columns, ["user", "date", "text"]);
        assert_eq!(t.rows.len(), 2);
        assert_eq!(
            (t.rows[1].line, t.rows[1].cells[2].as_str()),
            (4, "有逗号, 也有\"引号\"")
        );
        assert_eq!(t.text_column(None).unwrap(), 2);
    }

    #[test]
    fn excel_unicode_text_is_a_tab_separated_table() {
        let text = "编号\t内容\n7\t下班路上看到晚霞\n";
        let mut bytes = vec![0xff, 0xfe];
        bytes.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
        let t = read("导出.txt", &bytes, None).unwrap();
        assert_eq!(
            (t.format.clone(), t.encoding.as_deref()),
            (Format::Tsv, Some("UTF-16LE"))
        );
        assert_eq!(t.columns, ["编号", "内容"]);
        assert!(matches!(
            t.text_column(None),
            Err(TableError::NoTextColumn { .. })
        ));
        assert_eq!(t.text_column(Some("内容")).unwrap(), 1);
        assert!(matches!(
            t.text_column(Some("正文")),
            Err(TableError::NoSuchColumn { .. })
        ));
    }

    #[test]
    fn plain_text_is_one_post_per_line() {
        let t = read("posts.txt", "第一条\n\n第二条\n".as_bytes(), None).unwrap();
        assert_eq!(t.format, Format::Lines);
        assert_eq!(t.texts(0).collect::<Vec<_>>(), [(1, "第一条"), (3, "第二条")]);
    }

    #[test]
    fn errors_name_the_file_and_quote_no_text() {
        let t = read("posts.csv", "id,body\n1,今天下雨了\n".as_bytes(), None).unwrap();
        let msg = t.text_column(None).unwrap_err().to_string();
        assert_eq!(
            msg,
            "posts.csv: no column named \"text\"; choose the text column (the header has: id, body)"
        );
        assert!(matches!(
            read("x.csv", &[0xff, 0xfe, 0x00, 0xd8], None),
            Err(TableError::NotText { .. })
        ));
        assert!(matches!(
            read("none.txt", b"\n\n", None),
            Err(TableError::Empty { .. })
        ));
    }
}
