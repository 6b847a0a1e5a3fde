//! The answer for the text in the box: the call and level, why it says "review", the crisis
//! lines when they apply, the level distribution and the attribution.

use yew::prelude::*;

use super::attribution::Attribution;
use crate::assessment::Call;
use crate::web::i18n::{Lang, Words};
use crate::web::protocol::Outcome;

/// Below this top-level probability, or this close to the threshold, the page says "uncertain".
const CONFIDENT_LEVEL: f32 = 0.4;
const THRESHOLD_MARGIN: f32 = 0.1;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub outcome: Outcome,
    pub ms: f64,
    /// The attribution request has come back (with weights or without).
    pub explained: bool,
    pub threshold: f32,
    /// The characters of the shown text that the attribution weighs (the deciding window).
    pub attributed: String,
    pub lang: Lang,
}

fn call_class(call: Call) -> &'static str {
    match call {
        Call::High => "high",
        Call::Review => "review",
        Call::Low => "low",
    }
}

fn crisis(w: &Words) -> Html {
    html! {
        <div class="crisis" role="alert">
            <h2>{ w.crisis_title }</h2>
            <ul>{ for w.crisis_lines.iter().map(|l| html! { <li>{ *l }</li> }) }</ul>
            <p>{ w.crisis_note }</p>
        </div>
    }
}

#[function_component(ResultView)]
pub fn result_view(props: &Props) -> Html {
    let w = props.lang.words();
    let p = match &props.outcome {
        Outcome::Empty => {
            return html! { <p class="error" id="result-error" role="alert">{ w.empty_text }</p> };
        }
        Outcome::Failed(f) => {
            return html! {
                <div class="error" id="result-error" role="alert">
                    <p>{ w.failure(f) }</p>
                    <details><summary>{ w.technical_detail }</summary><code>{ f.detail() }</code></details>
                </div>
            };
        }
        Outcome::Ok(p) => p,
    };
    let uncertain = p.level_probs[p.level] < CONFIDENT_LEVEL
        || (p.high_risk_prob - props.threshold).abs() < THRESHOLD_MARGIN;
    let json = serde_json::to_string(p).unwrap_or_default();
    html! {
        <div id="result" data-prediction={json} data-ms={props.ms.to_string()}
            data-explained={props.explained.to_string()}>
            <div class={classes!("verdict", call_class(p.call))} id="verdict" data-call={call_class(p.call)}>
                <div class="level">
                    <span class="caption">{ w.level }</span>
                    <span class="number">{ p.level }</span><span class="of">{ "/10" }</span>
                    <span class="band">{ w.band(p.level) }</span>
                    <span class="description">{ w.levels[p.level] }</span>
                </div>
                <div class="binary">
                    <span class="caption">{ w.risk_call }</span>
                    <strong>{ w.call(p.call) }</strong>
                    <span>{ format!("{} {:.0}%", w.p_high, p.high_risk_prob * 100.0) }</span>
                </div>
            </div>
            if let Some(why) = w.reason(p.reason, p.phrase.as_ref().map(|h| h.phrase.as_str())) {
                <p class="review" id="review-reason" role="status">{ why }</p>
            }
            if uncertain {
                <p class="uncertain" role="status">{ w.uncertain }</p>
            }
            if p.truncated {
                <p class="notice" id="truncated" role="status">{ w.truncated.replace("{n}", &p.chars_used.to_string()) }</p>
            }
            if let Some(win) = p.window {
                <p class="notice" id="window" role="status">{
                    w.windowed
                        .replace("{n}", &p.windows.len().to_string())
                        .replace("{from}", &(win.start + 1).to_string())
                        .replace("{to}", &win.end.to_string())
                }</p>
            }
            if p.call == Call::High || p.level >= 6 || p.phrase.is_some() {
                { crisis(w) }
            }
            <h2>{ w.distribution }</h2>
            <table class="bars">
                { for p.level_probs.iter().enumerate().map(|(i, prob)| html! {
                    <tr class={classes!((i == p.level).then_some("top"))}>
                        <th scope="row">{ i }</th>
                        <td><progress max="1" value={prob.to_string()} aria-label={format!("{}: {:.1}%", w.levels[i], prob * 100.0)} /></td>
                        <td class="pct">{ format!("{:.1}%", prob * 100.0) }</td>
                    </tr>
                }) }
            </table>
            if let Some(weights) = &p.attribution {
                <Attribution chars={props.attributed.clone()} weights={weights.clone()}
                    start={p.window.map_or(0, |w| w.start)} lang={props.lang} />
            }
        </div>
    }
}
