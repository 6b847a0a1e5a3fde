//! Batch mode's file handling, all in the page: a chosen CSV (with a `text` column) or TXT (one
//! post per line) becomes rows; results become a CSV the user saves. Nothing is uploaded.

use crate::labels;
use crate::lines::Lines;
use crate::web::protocol::Outcome;

/// One text of a batch file, with where it was (`line N`).
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub line: usize,
    pub text: String,
}

/// Reads a batch file. Errors say which line and what was expected.
pub fn parse(name: &str, bytes: &[u8]) -> Result<Vec<Row>, String> {
    let content = std::str::from_utf8(bytes).map_err(|e| {
        format!(
            "{name}: not UTF-8 text (at byte {}); save it as UTF-8",
            e.valid_up_to()
        )
    })?;
    let content = content.strip_prefix('\u{feff}').unwrap_or(content);
    if name.to_lowercase().ends_with(".csv") {
        return parse_csv(name, content);
    }
    Ok(content
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| Row {
            line: i + 1,
            text: l.to_string(),
        })
        .collect())
}

fn parse_csv(name: &str, content: &str) -> Result<Vec<Row>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(content.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| format!("{name}, line 1: cannot read the header: {e}"))?
        .clone();
    let column = headers
        .iter()
        .position(|h| h.trim().eq_ignore_ascii_case("text"))
        .ok_or_else(|| {
            format!(
                "{name}, line 1: no \"text\" column (the header has: {})",
                headers.iter().collect::<Vec<_>>().join(", ")
            )
        })?;
    let mut lines = Lines::new(content.as_bytes());
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| lines.at(p.byte()));
            format!("{name}, line {line}: {}", csv_problem(&e))
        })?;
        let line = record.position().map_or(0, |p| lines.at(p.byte()));
        let text = record.get(column).ok_or_else(|| {
            format!(
                "{name}, line {line}: has {} fields, the text column is number {}",
                record.len(),
                column + 1
            )
        })?;
        rows.push(Row {
            line,
            text: text.to_string(),
        });
    }
    Ok(rows)
}

/// The csv crate's error without the data it quotes.
fn csv_problem(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Utf8 { .. } => "not valid UTF-8".into(),
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => {
            format!("{len} fields where the header has {expected_len}")
        }
        _ => "malformed CSV (check the quoting)".into(),
    }
}

/// Export fields of a row that has no prediction.
fn error_fields(error: String) -> Vec<String> {
    let mut fields = vec![String::new(); 8];
    fields.push(error);
    fields
}

/// The results as CSV: line, text, level, band, P(level), high risk, P(high risk), the answer
/// (high / review / low) with its reason and the safety net's phrase, error.
pub fn export(rows: &[Row], outcomes: &[Option<Outcome>]) -> String {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let header = [
        "line",
        "text",
        "level",
        "band",
        "p_level",
        "high_risk",
        "p_high_risk",
        "call",
        "reason",
        "phrase",
        "error",
    ];
    writer.write_record(header).expect("in-memory write");
    for (row, outcome) in rows.iter().zip(outcomes) {
        let line = row.line.to_string();
        let fields: Vec<String> = match outcome {
            Some(Outcome::Ok(p)) => vec![
                p.level.to_string(),
                labels::band(p.level).into(),
                format!("{:.4}", p.level_probs[p.level]),
                p.high_risk.to_string(),
                format!("{:.4}", p.high_risk_prob),
                format!("{:?}", p.call).to_lowercase(),
                serde_json::to_value(p.reason)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                p.phrase.as_ref().map(|h| h.phrase.clone()).unwrap_or_default(),
                String::new(),
            ],
            // The export is data, not interface: its errors stay in English whatever the page's language.
            Some(Outcome::Empty) => error_fields(crate::Error::EmptyText.to_string()),
            Some(Outcome::Err(e)) => error_fields(e.clone()),
            None => error_fields("not assessed (cancelled)".into()),
        };
        let mut record = vec![line, row.text.clone()];
        record.extend(fields);
        writer.write_record(&record).expect("in-memory write");
    }
    String::from_utf8(writer.into_inner().expect("in-memory write")).expect("UTF-8 in, UTF-8 out")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prediction::Prediction;

    #[test]
    fn csv_with_bom_crlf_quotes_and_extra_columns() {
        let file = "\u{feff}id,text,note\r\n1,\"第一行, 有逗号\",x\r\n2,\"引号\"\"内\"\"\",y\r\n3,\"跨\r\n行\",z\r\n";
        let rows = parse("posts.csv", file.as_bytes()).unwrap();
        let texts: Vec<&str> = rows.iter().map(|r| r.text.as_str()).collect();
        assert_eq!(texts, ["第一行, 有逗号", "引号\"内\"", "跨\r\n行"]);
        assert_eq!(rows.iter().map(|r| r.line).collect::<Vec<_>>(), [2, 3, 4]);
    }

    #[test]
    fn bad_files_say_where_and_what() {
        let missing = parse("a.csv", b"id,body\n1,x\n").unwrap_err();
        assert!(
            missing.contains("a.csv, line 1") && missing.contains("no \"text\" column"),
            "{missing}"
        );
        let utf8 = parse("b.csv", b"text\n\xff\xfe\n").unwrap_err();
        assert!(utf8.contains("b.csv") && utf8.contains("UTF-8"), "{utf8}");
        let short = parse("c.csv", b"id,text\n1\n").unwrap_err();
        assert!(short.contains("c.csv, line 2"), "{short}");
    }

    #[test]
    fn line_numbers_stay_right_over_many_rows() {
        // Every tenth text spans two lines, so line numbers drift from row numbers.
        let mut file = String::from("id,text\r\n");
        let mut lines = Vec::new();
        let mut line = 2;
        for i in 0..20_000 {
            lines.push(line);
            if i % 10 == 0 {
                file.push_str(&format!("{i},\"第{i}行\r\n续\"\r\n"));
                line += 2;
            } else {
                file.push_str(&format!("{i},第{i}行\r\n"));
                line += 1;
            }
        }
        let rows = parse("many.csv", file.as_bytes()).unwrap();
        assert_eq!(rows.iter().map(|r| r.line).collect::<Vec<_>>(), lines);
        assert_eq!(rows[10].text, "第10行\r\n续");
        let bad = format!("{file}only-an-id\r\n");
        let err = parse("many.csv", bad.as_bytes()).unwrap_err();
        assert!(err.starts_with(&format!("many.csv, line {line}:")), "{err}");
    }

    #[test]
    fn txt_is_one_text_per_non_blank_line() {
        let rows = parse("posts.TXT", "一\n\n  \n二\r\n".as_bytes()).unwrap();
        assert_eq!(
            rows,
            [
                Row {
                    line: 1,
                    text: "一".into()
                },
                Row {
                    line: 4,
                    text: "二".into()
                }
            ]
        );
    }

    #[test]
    fn export_has_a_row_per_input_with_result_or_reason() {
        let rows = vec![
            Row {
                line: 2,
                text: "a, \"b\"".into(),
            },
            Row {
                line: 3,
                text: " ".into(),
            },
            Row {
                line: 4,
                text: "c".into(),
            },
        ];
        let mut probs = vec![0.0; 11];
        probs[7] = 0.6;
        let p = Prediction::from_probabilities(probs, 0.8, 0.5, (6, false));
        let outcomes = vec![Some(Outcome::Ok(p)), Some(Outcome::Empty), None];
        let csv = export(&rows, &outcomes);
        let back = parse("out.csv", csv.as_bytes()).unwrap();
        assert_eq!(
            back.iter().map(|r| r.text.as_str()).collect::<Vec<_>>(),
            ["a, \"b\"", " ", "c"]
        );
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(
            lines[0],
            "line,text,level,band,p_level,high_risk,p_high_risk,call,reason,phrase,error"
        );
        assert!(
            lines[1].ends_with(",7,high,0.6000,true,0.8000,high,agree,,"),
            "{}",
            lines[1]
        );
        assert!(lines[2].contains(",empty text: "), "{}", lines[2]);
        assert!(lines[3].ends_with("not assessed (cancelled)"));
    }
}
