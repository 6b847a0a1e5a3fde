//! A file being assessed: progress, cancel and export, the per-post table (sortable), the
//! column pickers and the per-person summary.
//!
//! These are view functions over the borrowed [`Batch`] rather than components with props: a
//! batch holds the whole file, and props would clone it on every chunk of results.

use yew::prelude::*;

use crate::assessment::Call;
use crate::web::batch::{Batch, SortKey, TABLE_ROWS};
use crate::web::i18n::Words;
use crate::web::page::state::Action;
use crate::web::protocol::Outcome;

/// A column header that sorts by `action` when clicked; `sorted` marks the current order.
pub fn sort_header(
    label: &str,
    sorted: bool,
    on: &Callback<Action>,
    action: impl Fn() -> Action + 'static,
) -> Html {
    html! {
        <th scope="col" aria-sort={if sorted { "descending" } else { "none" }}>
            <button onclick={on.reform(move |_| action())}>{ label.to_string() }</button>
        </th>
    }
}

fn state(batch: &Batch) -> &'static str {
    if batch.cancelled {
        "cancelled"
    } else if batch.done < batch.total() {
        "running"
    } else {
        "done"
    }
}

/// One row of the per-post table.
fn row(batch: &Batch, i: usize, w: &Words) -> Html {
    let line = batch.table.rows[i].line;
    let shown: String = batch.text(i).chars().take(80).collect();
    match &batch.outcomes[i] {
        Some(Outcome::Ok(p)) => html! {
            <tr class={classes!(match p.call { Call::High => Some("high"), Call::Review => Some("review"), Call::Low => None })}>
                <td>{ line }</td><td class="text">{ shown }</td>
                <td>{ format!("{} · {}", p.level, w.band(p.level)) }</td>
                <td>{ format!("{:.0}% {}", p.high_risk_prob * 100.0, if p.call == Call::Low { "" } else { w.call(p.call) }) }</td>
            </tr>
        },
        Some(Outcome::Empty) => html! {
            <tr><td>{ line }</td><td class="text">{ shown }</td><td colspan="2" class="error">{ format!("{}: {}", w.error, w.empty_text) }</td></tr>
        },
        Some(Outcome::Failed(f)) => html! {
            <tr><td>{ line }</td><td class="text">{ shown }</td><td colspan="2" class="error" title={f.detail().to_string()}>{ format!("{}: {}", w.error, w.failure(f)) }</td></tr>
        },
        None => html! {
            <tr><td>{ line }</td><td class="text">{ shown }</td>
                <td colspan="2">{ if batch.cancelled { w.not_assessed } else { "…" } }</td></tr>
        },
    }
}

/// Progress, cancel and export.
fn controls(batch: &Batch, w: &Words, on: &Callback<Action>) -> Html {
    let (done, total) = (batch.done, batch.total());
    html! {
        <div class="actions">
            <progress max={total.max(1).to_string()} value={done.to_string()} />
            <span id="batch-progress">{ if batch.running() {
                format!("{} {done} / {total}", w.batch_running)
            } else {
                format!("{done} / {total}")
            } }</span>
            if batch.running() {
                <button id="cancel" onclick={on.reform(|_| Action::Cancel)}>{ w.cancel }</button>
            }
            <button id="export" disabled={batch.running()} onclick={on.reform(|_| Action::Export)}>{ w.export }</button>
        </div>
    }
}

pub fn batch_table(batch: &Batch, w: &Words, on: &Callback<Action>) -> Html {
    let (done, total) = (batch.done, batch.total());
    let header =
        |label: &str, key: SortKey| sort_header(label, batch.sort == key, on, move || Action::Sort(key));
    html! {
        <section class="batch" id="batch" data-done={done.to_string()} data-total={total.to_string()}
            data-state={state(batch)}>
            <h2>{ format!("{} · {}", w.batch_title, batch.table.file) }</h2>
            { super::columns::columns(batch, w, on) }
            { controls(batch, w, on) }
            if batch.cancelled {
                <p class="notice" id="batch-cancelled" role="status">{ w.cancelled.replace("{done}", &done.to_string()).replace("{total}", &total.to_string()) }</p>
            }
            if total > TABLE_ROWS {
                <p class="hint" id="batch-showing">{ w.showing.replace("{n}", &TABLE_ROWS.to_string()).replace("{total}", &total.to_string()) }</p>
            }
            <table class="results">
                <thead><tr>
                    { header(w.row, SortKey::Line) }
                    <th scope="col">{ w.text }</th>
                    { header(w.level, SortKey::Level) }
                    { header(w.p_high, SortKey::HighRisk) }
                </tr></thead>
                <tbody>
                    { for batch.table_order().into_iter().take(TABLE_ROWS).map(|i| row(batch, i, w)) }
                </tbody>
            </table>
            { super::people::people(batch, w, on) }
        </section>
    }
}
