//! The text box with its buttons (Ctrl/⌘+Enter classifies).

use web_sys::{HtmlTextAreaElement, KeyboardEvent};
use yew::prelude::*;

use crate::web::i18n::Lang;
use crate::web::page::state::{Action, BOX_LIMIT};

#[derive(Properties, PartialEq)]
pub struct Props {
    pub text: AttrValue,
    pub box_full: bool,
    /// The model is ready and no text is in flight.
    pub can_classify: bool,
    pub lang: Lang,
    pub on: Callback<Action>,
}

#[function_component(TextInput)]
pub fn text_input(props: &Props) -> Html {
    let w = props.lang.words();
    let on = &props.on;
    let oninput =
        on.reform(|e: InputEvent| Action::Input(e.target_unchecked_into::<HtmlTextAreaElement>().value()));
    let onkeydown = super::emit_some(on, |e: KeyboardEvent| {
        (e.key() == "Enter" && (e.ctrl_key() || e.meta_key())).then(|| {
            e.prevent_default();
            Action::Classify
        })
    });
    html! {
        <>
            <label for="post">{ w.input_label }</label>
            <textarea id="post" rows="7" placeholder={w.placeholder}
                value={props.text.clone()} maxlength={BOX_LIMIT.to_string()}
                {oninput} {onkeydown} />
            if props.box_full {
                <p class="notice" id="box-full" role="status">{ w.box_full.replace("{n}", &BOX_LIMIT.to_string()) }</p>
            }
            <div class="actions">
                <button class="primary" disabled={!props.can_classify}
                    onclick={on.reform(|_| Action::Classify)}>{ w.classify }</button>
                <button onclick={on.reform(|_| Action::Clear)}>{ w.clear }</button>
                <span class="hint">{ w.shortcut }</span>
            </div>
        </>
    }
}
