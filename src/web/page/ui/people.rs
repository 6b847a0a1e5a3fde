//! The per-person summary, sortable by each of its figures and exportable.

use yew::prelude::*;

use super::batch_table::sort_header;
use crate::table::export::PersonOrder;
use crate::web::batch::{Batch, TABLE_ROWS};
use crate::web::i18n::Words;
use crate::web::page::state::Action;

pub fn people(batch: &Batch, w: &Words, on: &Callback<Action>) -> Html {
    let Some(people) = batch.people() else {
        return html! {};
    };
    let header = |label: &str, order: PersonOrder| {
        sort_header(label, batch.people_order == order, on, move || {
            Action::SortPeople(order)
        })
    };
    let c = &w.people_columns;
    html! {
        <div class="people" id="people">
            <h2>{ w.people_title }</h2>
            <button id="export-people" disabled={batch.running()} onclick={on.reform(|_| Action::ExportPeople)}>{ w.export_people }</button>
            <table class="results">
                <thead><tr>
                    { header(c[0], PersonOrder::Author) }
                    <th scope="col">{ c[1] }</th>
                    { header(c[2], PersonOrder::HighestLevel) }
                    { header(c[3], PersonOrder::HighestRisk) }
                    <th scope="col">{ c[4] }</th>
                    { header(c[5], PersonOrder::MostFlagged) }
                </tr></thead>
                <tbody>
                    { for people.iter().take(TABLE_ROWS).map(|p| html! {
                        <tr class={classes!((p.high_risk_posts > 0).then_some("high"))}>
                            <td>{ p.author.clone() }</td>
                            <td>{ p.posts }</td>
                            <td>{ p.highest_level.map(|l| l.to_string()).unwrap_or_default() }</td>
                            <td>{ p.highest_p_high.map(|v| format!("{:.0}%", v * 100.0)).unwrap_or_default() }</td>
                            <td>{ p.high_risk_posts }</td>
                            <td>{ p.flagged_posts }</td>
                        </tr>
                    }) }
                </tbody>
            </table>
        </div>
    }
}
