//! Results as a CSV that loses nothing: every input column in order, then the result columns;
//! UTF-8 with a BOM so that Excel reads it. Post texts are untrusted input, so every cell that a
//! spreadsheet would run as a formula is neutralised (OWASP's CSV-injection rule: a cell that
//! starts with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'`, which
//! spreadsheets show as text). Also the per-person summary, for a file with an author column.

use serde::Serialize;

use super::Table;
use crate::prediction::Prediction;

/// What became of one row.
pub enum Outcome<'a> {
    Done(&'a Prediction),
    /// Not assessed, and why (in English: the export is data, not interface).
    Failed(String),
}

/// The result columns, after the input's.
pub const RESULT_COLUMNS: [&str; 11] = [
    "line",
    "level",
    "band",
    "p_level",
    "high_risk",
    "p_high_risk",
    "call",
    "reason",
    "phrase",
    "deciding_characters",
    "error",
];

/// `cell` as a spreadsheet must show it: as text, never as a formula.
pub fn neutralise(cell: &str) -> String {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}"),
        _ => cell.to_string(),
    }
}

fn result_cells(line: usize, outcome: Option<&Outcome>) -> Vec<String> {
    let mut cells = vec![line.to_string()];
    match outcome {
        Some(Outcome::Done(p)) => {
            cells.extend([
                p.level.to_string(),
                crate::labels::band(p.level).into(),
                format!("{:.4}", p.level_probs[p.level]),
                p.high_risk.to_string(),
                format!("{:.4}", p.high_risk_prob),
                format!("{:?}", p.call).to_lowercase(),
                serde_json::to_value(p.reason)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                p.phrase.as_ref().map(|h| h.phrase.clone()).unwrap_or_default(),
                p.window
                    .map(|w| format!("{}-{}", w.start + 1, w.end))
                    .unwrap_or_default(),
                String::new(),
            ]);
        }
        Some(Outcome::Failed(why)) => {
            cells.extend(std::iter::repeat_n(String::new(), RESULT_COLUMNS.len() - 2));
            cells.push(why.clone());
        }
        None => {
            cells.extend(std::iter::repeat_n(String::new(), RESULT_COLUMNS.len() - 2));
            cells.push("not assessed (cancelled)".into());
        }
    }
    cells
}

fn write_csv(header: Vec<String>, rows: impl Iterator<Item = Vec<String>>) -> String {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer
        .write_record(header.iter().map(|c| neutralise(c)))
        .expect("in-memory write");
    for row in rows {
        writer
            .write_record(row.iter().map(|c| neutralise(c)))
            .expect("in-memory write");
    }
    let bytes = writer.into_inner().expect("in-memory write");
    format!(
        "\u{feff}{}",
        String::from_utf8(bytes).expect("UTF-8 in, UTF-8 out")
    )
}

/// The table with its results: every input column, in order, then [`RESULT_COLUMNS`]
/// (`outcomes[i]` is row `i`'s; `None`: not assessed). An input column that has the name of a
/// result column keeps it, and the result column is prefixed with `sosrisk_`.
pub fn results(table: &Table, outcomes: &[Option<Outcome>]) -> String {
    let mut header = table.columns.clone();
    for c in RESULT_COLUMNS {
        let taken = table.columns.iter().any(|t| t.eq_ignore_ascii_case(c));
        header.push(if taken {
            format!("sosrisk_{c}")
        } else {
            c.to_string()
        });
    }
    let rows = table.rows.iter().zip(outcomes).map(|(row, outcome)| {
        let mut cells = row.cells.clone();
        cells.extend(result_cells(row.line, outcome.as_ref()));
        cells
    });
    write_csv(header, rows)
}

/// One person's posts in a file with an author column.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Person {
    pub author: String,
    pub posts: usize,
    pub assessed: usize,
    pub highest_level: Option<usize>,
    pub highest_p_high: Option<f32>,
    pub high_risk_posts: usize,
    /// Posts whose answer is not "low" (high or review).
    pub flagged_posts: usize,
}

/// How the per-person table is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PersonOrder {
    /// Highest P(high) first (the default: who needs a look first).
    HighestRisk,
    HighestLevel,
    MostFlagged,
    Author,
}

/// The per-person summary of `column`'s authors, in `order` (ties by author).
pub fn people(table: &Table, column: usize, outcomes: &[Option<Outcome>], order: PersonOrder) -> Vec<Person> {
    let mut out: Vec<Person> = Vec::new();
    for (row, outcome) in table.rows.iter().zip(outcomes) {
        let author = row.cells[column].trim().to_string();
        let at = match out.iter().position(|p| p.author == author) {
            Some(i) => i,
            None => {
                out.push(Person {
                    author,
                    posts: 0,
                    assessed: 0,
                    highest_level: None,
                    highest_p_high: None,
                    high_risk_posts: 0,
                    flagged_posts: 0,
                });
                out.len() - 1
            }
        };
        let person = &mut out[at];
        person.posts += 1;
        if let Some(Outcome::Done(p)) = outcome {
            person.assessed += 1;
            person.highest_level = Some(person.highest_level.map_or(p.level, |l| l.max(p.level)));
            person.highest_p_high = Some(
                person
                    .highest_p_high
                    .map_or(p.high_risk_prob, |v| v.max(p.high_risk_prob)),
            );
            person.high_risk_posts += usize::from(p.high_risk);
            person.flagged_posts += usize::from(p.flagged());
        }
    }
    let key = |p: &Person| match order {
        PersonOrder::HighestRisk => -(p.highest_p_high.unwrap_or(-1.0) as f64),
        PersonOrder::HighestLevel => -(p.highest_level.map_or(-1.0, |l| l as f64)),
        PersonOrder::MostFlagged => -(p.flagged_posts as f64),
        PersonOrder::Author => 0.0,
    };
    out.sort_by(|a, b| key(a).total_cmp(&key(b)).then_with(|| a.author.cmp(&b.author)));
    out
}

/// The per-person summary as a CSV (the author column's own name first).
pub fn people_csv(author_column: &str, people: &[Person]) -> String {
    let header = [
        author_column,
        "posts",
        "assessed",
        "highest_level",
        "highest_p_high_risk",
        "high_risk_posts",
        "flagged_posts",
    ]
    .map(String::from)
    .to_vec();
    let rows = people.iter().map(|p| {
        vec![
            p.author.clone(),
            p.posts.to_string(),
            p.assessed.to_string(),
            p.highest_level.map(|l| l.to_string()).unwrap_or_default(),
            p.highest_p_high.map(|v| format!("{v:.4}")).unwrap_or_default(),
            p.high_risk_posts.to_string(),
            p.flagged_posts.to_string(),
        ]
    });
    write_csv(header, rows)
}

#[cfg(test)]
mod tests {
    use super::super::read;
    use super::*;

    fn prediction(level: usize, p_high: f32) -> Prediction {
        Prediction::sample(level, p_high)
    }

    fn rows_of(csv: &str) -> Vec<Vec<String>> {
        let csv = csv.strip_prefix('\u{feff}').expect("a BOM for Excel");
        csv::Reader::from_reader(csv.as_bytes())
            .records()
            .map(|r| r.unwrap().iter().map(str::to_string).collect())
            .collect()
    }

    // Synthetic rows, written for these tests.
    const FILE: &str = "user,post_id,date,text\nu1,11,2026-01-02,今天吃了火锅\nu2,12,2026-01-03,=HYPERLINK(\"http://x\")\nu1,13,2026-01-04,@SUM(A1)\n";

    #[test]
    fn every_input_column_comes_first_in_order_then_the_results() {
        let t = read("in.csv", FILE.as_bytes(), None).unwrap();
        let (a, b) = (prediction(2, 0.1), prediction(7, 0.9));
        let out = results(&t, &[Some(Outcome::Done(&a)), Some(Outcome::Done(&b)), None]);
        let header: Vec<String> = csv::Reader::from_reader(out.trim_start_matches('\u{feff}').as_bytes())
            .headers()
            .unwrap()
            .iter()
            .map(str::to_string)
            .collect();
        let mut want: Vec<String> = ["user", "post_id", "date", "text"].map(String::from).to_vec();
        want.extend(RESULT_COLUMNS.map(String::from));
        assert_eq!(header, want);
        let rows = rows_of(&out);
        assert_eq!(&rows[0][..4], ["u1", "11", "2026-01-02", "今天吃了火锅"]);
        // line, level, …, call
        assert_eq!((rows[0][4].as_str(), rows[0][5].as_str()), ("2", "2"));
        assert_eq!(
            (rows[1][4].as_str(), rows[1][5].as_str(), rows[1][10].as_str()),
            ("3", "7", "high")
        );
        assert_eq!(rows[2].last().unwrap(), "not assessed (cancelled)");
    }

    #[test]
    fn cells_a_spreadsheet_would_run_are_neutralised() {
        for (cell, shown) in [
            ("=1+1", "'=1+1"),
            ("+86 123", "'+86 123"),
            ("-2", "'-2"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("\rx", "'\rx"),
            ("平常的文字", "平常的文字"),
            ("", ""),
        ] {
            assert_eq!(neutralise(cell), shown);
        }
        let t = read("in.csv", FILE.as_bytes(), None).unwrap();
        let out = results(&t, &[None, None, None]);
        let rows = rows_of(&out);
        assert_eq!(rows[1][3], "'=HYPERLINK(\"http://x\")");
        assert_eq!(rows[2][3], "'@SUM(A1)");
        assert_eq!(rows[2].last().unwrap(), "not assessed (cancelled)");
    }

    #[test]
    fn people_are_summarised_and_sorted() {
        let t = read("in.csv", FILE.as_bytes(), None).unwrap();
        let (a, b, c) = (prediction(2, 0.1), prediction(7, 0.9), prediction(5, 0.3));
        let outcomes = [
            Some(Outcome::Done(&a)),
            Some(Outcome::Done(&b)),
            Some(Outcome::Done(&c)),
        ];
        let p = people(&t, 0, &outcomes, PersonOrder::HighestRisk);
        assert_eq!(
            p.iter().map(|p| p.author.as_str()).collect::<Vec<_>>(),
            ["u2", "u1"]
        );
        let u1 = &p[1];
        assert_eq!(
            (
                u1.posts,
                u1.assessed,
                u1.highest_level,
                u1.high_risk_posts,
                u1.flagged_posts
            ),
            (2, 2, Some(5), 0, 1)
        );
        assert!((u1.highest_p_high.unwrap() - 0.3).abs() < 1e-6);
        let by_name = people(&t, 0, &outcomes, PersonOrder::Author);
        assert_eq!(by_name[0].author, "u1");
        let csv = people_csv("user", &p);
        assert!(csv.starts_with(
            "\u{feff}user,posts,assessed,highest_level,highest_p_high_risk,high_risk_posts,flagged_posts\n"
        ));
        assert!(csv.contains("\nu2,1,1,7,0.9000,1,1\n"), "{csv}");
    }
}
