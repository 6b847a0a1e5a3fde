//! The file picker of batch mode, and why the last chosen file gave no batch.

use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::web::i18n::Lang;

/// What the picker accepts: tables as platforms and Excel save them.
const ACCEPT: &str = ".csv,.tsv,.txt,.xlsx,text/csv,text/plain,text/tab-separated-values,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

#[derive(Properties, PartialEq)]
pub struct Props {
    /// Why the last file could not be read, in the page's language.
    pub error: Option<String>,
    pub lang: Lang,
    pub on_file: Callback<web_sys::File>,
}

#[function_component(BatchInput)]
pub fn batch_input(props: &Props) -> Html {
    let w = props.lang.words();
    let onchange = super::emit_some(&props.on_file, |e: Event| {
        let input: HtmlInputElement = e.target_unchecked_into();
        let file = input.files().and_then(|f| f.get(0));
        // The same file can be chosen again later.
        input.set_value("");
        file
    });
    html! {
        <div class="batch-input">
            <h2>{ w.batch_title }</h2>
            <label for="batch-file">{ w.batch_help }</label>
            <input id="batch-file" type="file" accept={ACCEPT} {onchange} />
            if let Some(e) = &props.error {
                <p class="error" id="batch-error" role="alert">{ e }</p>
            }
        </div>
    }
}
