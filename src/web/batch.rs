//! Batch mode's state, all in the page and free of the browser (its transitions are tested
//! natively): a chosen file read as a table ([`crate::table`]), the text column (found or
//! chosen), an optional author column for the per-person view, results coming back in order,
//! and the exports. Nothing is uploaded.

use crate::table::export::{self, Outcome as ExportOutcome, Person, PersonOrder};
use crate::table::{Table, TableError};
use crate::web::protocol::Outcome;

/// Texts sent to the worker per request: small enough that results appear as they come and
/// that cancelling stops soon.
pub const CHUNK: usize = 32;
/// Rows the results table shows at most (the export has them all).
pub const TABLE_ROWS: usize = 500;

/// How the per-post table is ordered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortKey {
    Line,
    Level,
    HighRisk,
}

/// A file being assessed.
pub struct Batch {
    /// The file's bytes, kept to read another sheet of a workbook.
    pub bytes: Vec<u8>,
    pub table: Table,
    /// The text column: found by name, or chosen; until then nothing runs.
    pub text_column: Option<usize>,
    /// The author column, for the per-person view.
    pub author_column: Option<usize>,
    pub outcomes: Vec<Option<Outcome>>,
    /// Rows assessed so far: always the first `done`, as one request at a time is in flight and
    /// each takes the next rows in order.
    pub done: usize,
    /// The request in flight: its id and first row.
    pub pending: Option<(u32, usize)>,
    /// Stopped by the user: rows from `done` on stay unassessed (and the export says so).
    pub cancelled: bool,
    pub sort: SortKey,
    pub people_order: PersonOrder,
}

/// Column names that mean "who wrote it", offered first in the author picker.
const AUTHOR_NAMES: &[&str] = &[
    "author",
    "user",
    "user_id",
    "userid",
    "uid",
    "name",
    "作者",
    "用户",
    "用户名",
    "昵称",
];

impl Batch {
    /// Reads a file; the text column is the one named `text`, if any.
    pub fn read(name: &str, bytes: Vec<u8>, sheet: Option<&str>) -> Result<Self, TableError> {
        let table = crate::table::read(name, &bytes, sheet)?;
        let text_column = table.text_column(None).ok();
        let author_column = table
            .columns
            .iter()
            .position(|c| AUTHOR_NAMES.iter().any(|a| c.trim().eq_ignore_ascii_case(a)));
        Ok(Self {
            outcomes: vec![None; table.rows.len()],
            bytes,
            table,
            text_column,
            author_column,
            done: 0,
            pending: None,
            cancelled: false,
            sort: SortKey::Line,
            people_order: PersonOrder::HighestRisk,
        })
    }

    /// The same file, another sheet of the workbook (results start over).
    pub fn with_sheet(self, sheet: &str) -> Result<Self, TableError> {
        let name = self.table.file.clone();
        Self::read(&name, self.bytes, Some(sheet))
    }

    /// Choose the text column (results start over).
    pub fn choose_text(&mut self, column: usize) {
        if column < self.table.columns.len() {
            self.text_column = Some(column);
            self.outcomes = vec![None; self.table.rows.len()];
            self.done = 0;
            self.pending = None;
            self.cancelled = false;
        }
    }

    /// Choose the author column, or none.
    pub fn choose_author(&mut self, column: Option<usize>) {
        self.author_column = column.filter(|&c| c < self.table.columns.len());
    }

    pub fn total(&self) -> usize {
        self.table.rows.len()
    }

    /// Assessing: a text column is set, not cancelled, rows left.
    pub fn running(&self) -> bool {
        self.text_column.is_some() && !self.cancelled && self.done < self.total()
    }

    /// Row `i`'s text (empty until a text column is set).
    pub fn text(&self, i: usize) -> &str {
        self.text_column
            .map_or("", |c| self.table.rows[i].cells[c].as_str())
    }

    /// The next rows to send, from `done` on, when none are in flight: `(first row, texts)`.
    pub fn next_chunk(&self) -> Option<(usize, Vec<String>)> {
        if !self.running() || self.pending.is_some() {
            return None;
        }
        let start = self.done;
        let end = (start + CHUNK).min(self.total());
        Some((start, (start..end).map(|i| self.text(i).to_string()).collect()))
    }

    /// A reply for request `id`: its outcomes fill the rows from the request's first row.
    /// Replies for another request (cancelled, or from before a new column) are dropped.
    pub fn on_results(&mut self, id: u32, outcomes: Vec<Outcome>) -> bool {
        let Some((pending, start)) = self.pending else {
            return false;
        };
        if pending != id {
            return false;
        }
        self.pending = None;
        let mut filled = 0;
        for (slot, outcome) in self.outcomes[start..].iter_mut().zip(outcomes) {
            *slot = Some(outcome);
            filled += 1;
        }
        self.done = start + filled;
        true
    }

    /// Stop: the chunk in flight is dropped when it comes back; the rows done are kept and the
    /// rest are marked unassessed in the table and the export.
    pub fn cancel(&mut self) {
        if self.running() {
            self.pending = None;
            self.cancelled = true;
        }
    }

    fn export_outcomes(&self) -> Vec<Option<ExportOutcome<'_>>> {
        self.outcomes
            .iter()
            .map(|o| {
                o.as_ref().map(|o| match o {
                    Outcome::Ok(p) => ExportOutcome::Done(p),
                    Outcome::Empty => ExportOutcome::Failed(crate::Error::EmptyText.to_string()),
                    Outcome::Failed(f) => ExportOutcome::Failed(f.english()),
                })
            })
            .collect()
    }

    /// Every input column, then the results (see [`export::results`]).
    pub fn export(&self) -> String {
        export::results(&self.table, &self.export_outcomes())
    }

    /// The per-person summary, when an author column is set.
    pub fn people(&self) -> Option<Vec<Person>> {
        let column = self.author_column?;
        Some(export::people(
            &self.table,
            column,
            &self.export_outcomes(),
            self.people_order,
        ))
    }

    pub fn export_people(&self) -> Option<String> {
        let column = self.author_column?;
        Some(export::people_csv(&self.table.columns[column], &self.people()?))
    }

    /// The rows the table shows, in the chosen order: at most [`TABLE_ROWS`] of them, picked
    /// without sorting them all (this runs on every reply of a 100,000-row batch).
    pub fn table_order(&self) -> Vec<usize> {
        let total = self.total();
        if self.sort == SortKey::Line {
            return (0..total.min(TABLE_ROWS)).collect();
        }
        let key = |i: usize| match &self.outcomes[i] {
            Some(Outcome::Ok(p)) => match self.sort {
                SortKey::Level => -(p.level as f32) - p.level_probs[p.level],
                SortKey::HighRisk => -p.high_risk_prob,
                SortKey::Line => 0.0,
            },
            _ => 1.0,
        };
        let mut order: Vec<(f32, usize)> = (0..total).map(|i| (key(i), i)).collect();
        let cmp = |a: &(f32, usize), b: &(f32, usize)| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1));
        if order.len() > TABLE_ROWS {
            order.select_nth_unstable_by(TABLE_ROWS, cmp);
            order.truncate(TABLE_ROWS);
        }
        order.sort_unstable_by(cmp);
        order.into_iter().map(|(_, i)| i).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prediction::Prediction;
    use crate::web::protocol::Failure;

    fn prediction(level: usize, p_high: f32) -> Prediction {
        Prediction::sample(level, p_high)
    }

    // Synthetic rows, written for these tests.
    fn file(rows: usize) -> Vec<u8> {
        let mut s = String::from("用户,内容,日期\n");
        for i in 0..rows {
            s += &format!("u{},第{i}条帖子,2026-01-{:02}\n", i % 3, i % 28 + 1);
        }
        s.into_bytes()
    }

    #[test]
    fn nothing_runs_until_the_text_column_is_chosen() {
        let mut b = Batch::read("posts.csv", file(40), None).unwrap();
        assert_eq!(b.text_column, None, "no column is named text");
        assert_eq!(b.author_column, Some(0), "用户 is an author column");
        assert!(!b.running() && b.next_chunk().is_none());
        b.choose_text(1);
        let (start, texts) = b.next_chunk().unwrap();
        assert_eq!((start, texts.len(), texts[0].as_str()), (0, CHUNK, "第0条帖子"));
    }

    #[test]
    fn results_fill_in_order_and_stale_replies_are_dropped() {
        let mut b = Batch::read("posts.csv", file(40), None).unwrap();
        b.choose_text(1);
        let (start, texts) = b.next_chunk().unwrap();
        b.pending = Some((7, start));
        assert!(b.next_chunk().is_none(), "one request at a time");
        assert!(!b.on_results(6, vec![]), "another request's reply");
        let outcomes = texts.iter().map(|_| Outcome::Ok(prediction(2, 0.1))).collect();
        assert!(b.on_results(7, outcomes));
        assert_eq!(b.done, CHUNK);
        let (start, texts) = b.next_chunk().unwrap();
        assert_eq!((start, texts.len()), (CHUNK, 8));
        b.pending = Some((8, start));
        b.cancel();
        assert!(
            !b.on_results(8, vec![]),
            "cancelled: the chunk in flight is dropped"
        );
        assert!(!b.running());
        // Choosing another column starts over.
        b.choose_text(2);
        assert_eq!(
            (b.done, b.cancelled, b.outcomes.iter().flatten().count()),
            (0, false, 0)
        );
    }

    #[test]
    fn the_export_keeps_every_column_and_says_what_failed() {
        let mut b = Batch::read("posts.csv", file(3), None).unwrap();
        b.choose_text(1);
        b.pending = Some((1, 0));
        let failure = Failure::Model {
            detail: "read-back".into(),
        };
        b.on_results(
            1,
            vec![
                Outcome::Ok(prediction(7, 0.9)),
                Outcome::Empty,
                Outcome::Failed(failure),
            ],
        );
        let csv = b.export();
        let lines: Vec<&str> = csv.trim_start_matches('\u{feff}').lines().collect();
        assert!(lines[0].starts_with("用户,内容,日期,line,level,"), "{}", lines[0]);
        assert!(
            lines[1].starts_with("u0,第0条帖子,2026-01-01,2,7,"),
            "{}",
            lines[1]
        );
        assert!(lines[2].contains(",empty text: "), "{}", lines[2]);
        assert!(
            lines[3].ends_with("the model could not compute this text: read-back"),
            "{}",
            lines[3]
        );
        let people = b.people().unwrap();
        assert_eq!(people[0].author, "u0");
        assert_eq!(people[0].highest_level, Some(7));
        assert!(b.export_people().unwrap().starts_with("\u{feff}用户,posts,"));
    }
}
