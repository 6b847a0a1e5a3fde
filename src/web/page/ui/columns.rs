//! How a file was read (encoding, or sheet and rows), and the pickers for the sheet, the text
//! column and the author column.

use yew::prelude::*;

use crate::table::Format;
use crate::web::batch::Batch;
use crate::web::i18n::Words;
use crate::web::page::state::Action;

fn select_value(e: Event) -> String {
    e.target_unchecked_into::<web_sys::HtmlSelectElement>().value()
}

/// "Read as GB18030, 120 rows" or "sheet Sheet1, 120 rows".
fn how_read(batch: &Batch, w: &Words) -> String {
    let t = &batch.table;
    let rows = t.rows.len().to_string();
    match (&t.format, &t.encoding) {
        (Format::Xlsx { sheet, .. }, _) => w
            .file_read_sheet
            .replace("{sheet}", sheet)
            .replace("{rows}", &rows),
        (_, e) => w
            .file_read
            .replace("{encoding}", e.as_deref().unwrap_or(""))
            .replace("{rows}", &rows),
    }
}

fn sheet_picker(batch: &Batch, w: &Words, on: &Callback<Action>) -> Html {
    let Format::Xlsx { sheet, sheets } = &batch.table.format else {
        return html! {};
    };
    if sheets.len() < 2 {
        return html! {};
    }
    html! {
        <label>{ w.sheet }
            <select id="sheet" onchange={on.reform(|e| Action::ChooseSheet(select_value(e)))}>
                { for sheets.iter().map(|s| html! { <option value={s.clone()} selected={s == sheet}>{ s.clone() }</option> }) }
            </select>
        </label>
    }
}

pub fn columns(batch: &Batch, w: &Words, on: &Callback<Action>) -> Html {
    let t = &batch.table;
    let on_text = super::emit_some(on, |e: Event| {
        select_value(e).parse().ok().map(Action::ChooseText)
    });
    let on_author = on.reform(|e| Action::ChooseAuthor(select_value(e).parse().ok()));
    let options = |selected: Option<usize>| {
        html! { <>{ for t.columns.iter().enumerate().map(|(i, c)| html! {
            <option value={i.to_string()} selected={selected == Some(i)}>{ c.clone() }</option>
        }) }</> }
    };
    html! {
        <div class="columns" id="batch-columns">
            <p class="hint" id="batch-read" data-encoding={t.encoding.clone().unwrap_or_default()}>{ how_read(batch, w) }</p>
            { sheet_picker(batch, w, on) }
            if batch.text_column.is_none() {
                <p class="notice" id="choose-text" role="status">{ w.choose_text_column }</p>
            }
            <label>{ w.text_column }
                <select id="text-column" onchange={on_text}>
                    if batch.text_column.is_none() {
                        <option value="" selected=true disabled=true>{ "—" }</option>
                    }
                    { options(batch.text_column) }
                </select>
            </label>
            <label>{ w.author_column }
                <select id="author-column" onchange={on_author}>
                    <option value="" selected={batch.author_column.is_none()}>{ w.no_author }</option>
                    { options(batch.author_column) }
                </select>
            </label>
        </div>
    }
}
