//! Which characters drove the answer: each character of the deciding window shaded by its
//! occlusion weight.

use yew::prelude::*;

use crate::prediction::Prediction;
use crate::web::i18n::Lang;

#[derive(Properties, PartialEq)]
pub struct Props {
    /// The characters the weights cover.
    pub chars: String,
    pub weights: Vec<f32>,
    /// Where they start in the text (a long text's deciding window).
    pub start: usize,
    pub lang: Lang,
}

/// The characters of `text` that `p`'s attribution weighs: its deciding window of a long text,
/// the whole text when it fits.
pub fn attributed_chars(text: &str, p: &Prediction) -> String {
    let n = p.attribution.as_ref().map_or(0, Vec::len);
    text.chars()
        .skip(p.window.map_or(0, |w| w.start))
        .take(n)
        .collect()
}

/// The shade (0–4) of a weight, relative to the largest.
fn heat(v: f32, max: f32) -> usize {
    if max > 0.0 && v > 0.0 {
        ((v / max) * 4.0).ceil() as usize
    } else {
        0
    }
}

#[function_component(Attribution)]
pub fn attribution(props: &Props) -> Html {
    let w = props.lang.words();
    let max = props.weights.iter().fold(0f32, |m, v| m.max(*v));
    html! {
        <>
            <h2>{ w.drivers }</h2>
            <p class="hint">{ w.drivers_help }</p>
            <p class="attribution" id="attribution" data-start={props.start.to_string()}>
                { for props.chars.chars().zip(&props.weights).map(|(c, v)| html! {
                    <span class={format!("heat{}", heat(*v, max))} title={format!("{v:+.3}")}>{ c }</span>
                }) }
            </p>
        </>
    }
}
