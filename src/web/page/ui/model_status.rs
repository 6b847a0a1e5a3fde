//! The status line: the model loading (with progress), ready (on which backend and why, and
//! whether the page works offline), or why it failed.

use yew::prelude::*;

use crate::web::i18n::Lang;
use crate::web::page::state::ModelState;
use crate::web::protocol::Why;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub model: ModelState,
    pub offline: Option<bool>,
    pub lang: Lang,
}

/// The reason's kind as its JSON tag, for tests and styles (`data-why`).
fn why_kind(why: &Why) -> String {
    serde_json::to_value(why)
        .ok()
        .and_then(|v| v["kind"].as_str().map(str::to_owned))
        .unwrap_or_default()
}

#[function_component(ModelStatus)]
pub fn model_status(props: &Props) -> Html {
    let w = props.lang.words();
    match &props.model {
        ModelState::Loading { file, loaded, total } => {
            let fraction = total.filter(|t| *t > 0.0).map_or(0.0, |t| (loaded / t).min(1.0));
            html! {
                <div class="status" id="model-status" data-state="loading">
                    <label for="load-progress">{ format!("{} ({file}, {:.1} MB)", w.loading, loaded / 1e6) }</label>
                    <progress id="load-progress" max="1" value={fraction.to_string()} />
                </div>
            }
        }
        ModelState::Ready(info) => html! {
            <div class="status" id="model-status" data-state="ready" data-backend={info.backend.clone()}
                data-why={why_kind(&info.why)}
                data-offline={match props.offline { Some(true) => "ready", Some(false) => "failed", None => "" }}
                data-kernels-at-ready={info.kernels.map(|k| k.at_ready.to_string())}
                data-kernels-now={info.kernels.map(|k| k.now.to_string())}>
                { format!("{}: {} — {} · {} ({:.1} s)", w.backend, info.backend, w.why(&info.why), info.architecture, info.load_ms / 1000.0) }
                if let Some(k) = info.kernels {
                    // A debug line (`?debug=kernels`): GPU shaders compiled by the time the model
                    // was ready, and by now.
                    { format!(" · kernels {} → {}", k.at_ready, k.now) }
                }
                if props.offline == Some(true) {
                    { format!(" · {}", w.offline_ready) }
                }
            </div>
        },
        ModelState::Failed(e) => {
            let fault = w.load_fault(e);
            // Without a sentence of its own, the detail is all there is: shown open.
            let open = fault.is_none();
            html! {
                <div class="status error" id="model-status" data-state="failed" role="alert">
                    <p>{ format!("{}.", w.load_failed) }</p>
                    if let Some(sentence) = fault {
                        <p id="load-fault">{ sentence }</p>
                    }
                    <details {open}>
                        <summary>{ w.technical_detail }</summary>
                        <code id="load-detail">{ &e.detail }</code>
                    </details>
                </div>
            }
        }
    }
}
