//! The page: a text box and a batch file picker on the left, the model's answer on the right.
//! It holds the text only in memory (clearing the box clears everything) and talks to the model
//! worker; it never sends text anywhere else.

use gloo::file::callbacks::FileReader;
use wasm_bindgen::prelude::*;
use web_sys::{HtmlInputElement, HtmlTextAreaElement, KeyboardEvent, MessageEvent, Worker};
use yew::prelude::*;

use crate::assessment::Call;
use crate::prediction::Prediction;
use crate::text::is_blank;
use crate::web::batch::{self, Row};
use crate::web::i18n::{Lang, Words};
use crate::web::protocol::{LoadError, LoadFault, ModelInfo, Outcome, Reply, Request};

/// The model the page loads unless `?model=NAME` names another directory under `models/`.
const DEFAULT_MODEL: &str = "e5";
/// The text box's `maxlength`, in UTF-16 units (about 1 MB of Chinese text; the model reads
/// only the first few hundred characters of it anyway).
const BOX_LIMIT: usize = 1_000_000;
/// Texts per worker request in batch mode: small enough that cancelling is quick.
const BATCH_CHUNK: usize = 32;
/// Rows the batch table shows; the export has them all.
const TABLE_ROWS: usize = 500;
/// Below this top-level probability, or this close to the threshold, the page says "uncertain".
const CONFIDENT_LEVEL: f32 = 0.4;
const THRESHOLD_MARGIN: f32 = 0.1;

pub enum Msg {
    Reply(Reply),
    WorkerCrashed(String),
    Input(String),
    Key(KeyboardEvent),
    Classify,
    Clear,
    ToggleLang,
    FileChosen(web_sys::File),
    FileRead(String, Result<Vec<u8>, String>),
    CancelBatch,
    Export,
    Sort(SortKey),
}

#[derive(Clone, Copy, PartialEq)]
pub enum SortKey {
    Line,
    Level,
    HighRisk,
}

enum ModelState {
    Loading {
        file: String,
        loaded: f64,
        total: Option<f64>,
    },
    Ready(ModelInfo),
    Failed(LoadError),
}

impl ModelState {
    fn no_worker(e: impl std::fmt::Display) -> Self {
        Self::Failed(LoadError::new(
            LoadFault::Other,
            "",
            format!("cannot start the model worker: {e}"),
        ))
    }
}

struct Batch {
    name: String,
    rows: Vec<Row>,
    outcomes: Vec<Option<Outcome>>,
    /// Rows assessed so far: always the first `done`, as one request at a time is in flight and
    /// each takes the next rows in order.
    done: usize,
    /// The request in flight: its id and first row.
    pending: Option<(u32, usize)>,
    /// Stopped by the user: rows from `done` on stay unassessed (and the export says so).
    cancelled: bool,
    sort: SortKey,
}

impl Batch {
    fn running(&self) -> bool {
        !self.cancelled && self.done < self.rows.len()
    }

    /// The rows the table shows, in the chosen order: at most [`TABLE_ROWS`] of them, picked
    /// without sorting them all (this runs on every reply of a 100,000-row batch).
    fn table_order(&self) -> Vec<usize> {
        let total = self.rows.len();
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

/// The model worker with its handlers (dropping them would detach the page from it).
struct Link {
    worker: Worker,
    _onmessage: Closure<dyn FnMut(MessageEvent)>,
    _onerror: Closure<dyn FnMut(web_sys::ErrorEvent)>,
}

impl Drop for Link {
    fn drop(&mut self) {
        self.worker.terminate();
    }
}

pub struct App {
    lang: Lang,
    link: Option<Link>,
    model: ModelState,
    text: String,
    result: Option<(Outcome, f64)>,
    /// The text the shown result is for (the box may have been edited since).
    shown_text: String,
    single: Option<u32>,
    /// The follow-up request for the shown result's attribution (slower, so it comes second).
    explaining: Option<u32>,
    /// The attribution request for the shown result has come back (with weights or without).
    explained: bool,
    next_id: u32,
    batch: Option<Batch>,
    batch_error: Option<String>,
    notice: Option<String>,
    /// The box holds its maximum and a paste may have been cut: the page says so.
    box_full: bool,
    reader: Option<FileReader>,
}

fn query(name: &str) -> Option<String> {
    let search = web_sys::window()?.location().search().ok()?;
    let params = web_sys::UrlSearchParams::new_with_str(&search).ok()?;
    params.get(name)
}

/// `models/NAME/` resolved against the page, so the app works under any sub-path.
fn model_base() -> String {
    let name = query("model")
        .filter(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        .unwrap_or_else(|| DEFAULT_MODEL.into());
    let base = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.base_uri().ok().flatten())
        .unwrap_or_default();
    web_sys::Url::new_with_base(&format!("models/{name}/"), &base)
        .map(|u| u.href())
        .unwrap_or_else(|_| format!("models/{name}/"))
}

fn session_lang() -> Lang {
    let stored = web_sys::window()
        .and_then(|w| w.session_storage().ok().flatten())
        .and_then(|s| s.get_item("lang").ok().flatten());
    match stored.as_deref() {
        Some("en") => Lang::En,
        Some(_) => Lang::Zh,
        None => {
            let nav = web_sys::window()
                .and_then(|w| w.navigator().language())
                .unwrap_or_default();
            if nav.starts_with("zh") || nav.is_empty() {
                Lang::Zh
            } else {
                Lang::En
            }
        }
    }
}

fn set_document_lang(lang: Lang) {
    if let Some(root) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element())
    {
        let _ = root.set_attribute("lang", lang.code());
    }
}

fn register_service_worker() {
    let Some(window) = web_sys::window() else { return };
    let navigator = window.navigator();
    if js_sys::Reflect::has(&navigator, &"serviceWorker".into()).unwrap_or(false) {
        // Offline use is a bonus: if registration fails the page still works online.
        let _ = navigator.service_worker().register("sw.js");
    }
}

impl App {
    fn spawn(ctx: &Context<Self>) -> Result<Link, String> {
        let options = web_sys::WorkerOptions::new();
        let worker = Worker::new_with_options("worker_loader.js", &options).map_err(|e| format!("{e:?}"))?;
        let on_reply = ctx.link().callback(Msg::Reply);
        let on_bad = ctx.link().callback(Msg::WorkerCrashed);
        let onmessage = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            match serde_wasm_bindgen::from_value::<Reply>(e.data()) {
                Ok(reply) => on_reply.emit(reply),
                Err(err) => on_bad.emit(format!("unreadable reply: {err}")),
            }
        });
        let on_crash = ctx.link().callback(Msg::WorkerCrashed);
        let onerror = Closure::<dyn FnMut(web_sys::ErrorEvent)>::new(move |e: web_sys::ErrorEvent| {
            on_crash.emit(e.message());
        });
        worker.set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
        worker.set_onerror(Some(onerror.as_ref().unchecked_ref()));
        let gpu = query("backend").as_deref() != Some("cpu");
        let link = Link {
            worker,
            _onmessage: onmessage,
            _onerror: onerror,
        };
        Self::send(
            &link,
            &Request::Load {
                base: model_base(),
                gpu,
            },
        );
        Ok(link)
    }

    fn send(link: &Link, request: &Request) {
        if let Ok(value) = serde_wasm_bindgen::to_value(request) {
            let _ = link.worker.post_message(&value);
        }
    }

    fn request(&mut self, texts: Vec<String>, explain: bool) -> Option<u32> {
        let link = self.link.as_ref()?;
        let id = self.next_id;
        self.next_id += 1;
        Self::send(link, &Request::Classify { id, texts, explain });
        Some(id)
    }

    fn ready(&self) -> bool {
        matches!(self.model, ModelState::Ready(_))
    }

    /// Sends the next chunk of the batch, if any is left and none is in flight.
    fn continue_batch(&mut self) {
        let Some(batch) = &self.batch else { return };
        if !batch.running() || batch.pending.is_some() {
            return;
        }
        let start = batch.done;
        let end = (start + BATCH_CHUNK).min(batch.rows.len());
        let texts: Vec<String> = batch.rows[start..end].iter().map(|r| r.text.clone()).collect();
        let id = self.request(texts, false);
        if let (Some(batch), Some(id)) = (&mut self.batch, id) {
            batch.pending = Some((id, start));
        }
    }

    fn on_reply(&mut self, ctx: &Context<Self>, reply: Reply) {
        match reply {
            Reply::Started => {
                if let Some(link) = &self.link {
                    let gpu = query("backend").as_deref() != Some("cpu");
                    Self::send(
                        link,
                        &Request::Load {
                            base: model_base(),
                            gpu,
                        },
                    );
                }
            }
            Reply::Progress { file, loaded, total } => {
                self.model = ModelState::Loading { file, loaded, total };
            }
            Reply::Ready(info) => {
                self.model = ModelState::Ready(info);
                if self.batch.as_ref().is_some_and(|b| b.pending.is_none()) {
                    self.continue_batch();
                }
            }
            Reply::LoadFailed(error) => self.model = ModelState::Failed(error),
            Reply::Crashed { error } => ctx.link().send_message(Msg::WorkerCrashed(error)),
            Reply::Results { id, outcomes, ms } => {
                if self.single == Some(id) {
                    self.single = None;
                    // A reply for text that has since been cleared is dropped with it.
                    if !is_blank(&self.text) {
                        self.result = outcomes.into_iter().next().map(|o| (o, ms));
                        if matches!(self.result, Some((Outcome::Ok(_), _))) {
                            self.explaining = self.request(vec![self.shown_text.clone()], true);
                        }
                    }
                    return;
                }
                if self.explaining == Some(id) {
                    self.explaining = None;
                    self.explained = true;
                    if let (Some((Outcome::Ok(shown), _)), Some(Outcome::Ok(explained))) =
                        (&mut self.result, outcomes.into_iter().next())
                    {
                        shown.attribution = explained.attribution;
                    }
                    return;
                }
                let Some(batch) = &mut self.batch else { return };
                let Some((pending, start)) = batch.pending else {
                    return;
                };
                if pending != id {
                    return;
                }
                batch.pending = None;
                let mut filled = 0;
                for (slot, outcome) in batch.outcomes[start..].iter_mut().zip(outcomes) {
                    *slot = Some(outcome);
                    filled += 1;
                }
                batch.done = start + filled;
                self.continue_batch();
            }
        }
    }

    fn export(&self) {
        let Some(batch) = &self.batch else { return };
        let csv = format!("\u{feff}{}", batch::export(&batch.rows, &batch.outcomes));
        let parts = js_sys::Array::of1(&JsValue::from_str(&csv));
        let options = web_sys::BlobPropertyBag::new();
        options.set_type("text/csv;charset=utf-8");
        let Ok(blob) = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options) else {
            return;
        };
        let Ok(url) = web_sys::Url::create_object_url_with_blob(&blob) else {
            return;
        };
        let anchor = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.create_element("a").ok())
            .and_then(|a| a.dyn_into::<web_sys::HtmlAnchorElement>().ok());
        if let Some(a) = anchor {
            a.set_href(&url);
            a.set_download("sosrisk-results.csv");
            a.click();
        }
        let _ = web_sys::Url::revoke_object_url(&url);
    }
}

impl Component for App {
    type Message = Msg;
    type Properties = ();

    fn create(ctx: &Context<Self>) -> Self {
        let lang = session_lang();
        set_document_lang(lang);
        register_service_worker();
        let (link, model) = match Self::spawn(ctx) {
            Ok(link) => (
                Some(link),
                ModelState::Loading {
                    file: "config.json".into(),
                    loaded: 0.0,
                    total: None,
                },
            ),
            Err(e) => (None, ModelState::no_worker(e)),
        };
        Self {
            lang,
            link,
            model,
            text: String::new(),
            result: None,
            shown_text: String::new(),
            single: None,
            explaining: None,
            explained: false,
            next_id: 1,
            batch: None,
            batch_error: None,
            notice: None,
            box_full: false,
            reader: None,
        }
    }

    fn update(&mut self, ctx: &Context<Self>, msg: Msg) -> bool {
        match msg {
            Msg::Reply(reply) => self.on_reply(ctx, reply),
            Msg::WorkerCrashed(detail) => {
                web_sys::console::error_1(&format!("model worker: {detail}").into());
                self.notice = Some(self.lang.words().worker_crashed.into());
                self.single = None;
                self.explaining = None;
                if let Some(batch) = &mut self.batch {
                    batch.pending = None;
                }
                self.link = None;
                match Self::spawn(ctx) {
                    Ok(link) => {
                        self.link = Some(link);
                        self.model = ModelState::Loading {
                            file: "config.json".into(),
                            loaded: 0.0,
                            total: None,
                        };
                    }
                    Err(e) => self.model = ModelState::no_worker(e),
                }
            }
            Msg::Input(text) => {
                if is_blank(&text) {
                    self.result = None;
                }
                // `maxlength` counts UTF-16 units and cuts a longer paste without a word. A text
                // has no more UTF-16 units than UTF-8 bytes, so short texts skip the count.
                self.box_full = text.len() >= BOX_LIMIT && text.encode_utf16().count() >= BOX_LIMIT;
                self.text = text;
            }
            Msg::Key(e) => {
                if e.key() == "Enter" && (e.ctrl_key() || e.meta_key()) {
                    e.prevent_default();
                    ctx.link().send_message(Msg::Classify);
                }
                return false;
            }
            Msg::Classify => {
                self.notice = None;
                if is_blank(&self.text) {
                    self.result = Some((Outcome::Empty, 0.0));
                } else if self.ready() {
                    self.explaining = None;
                    self.explained = false;
                    self.shown_text = self.text.clone();
                    self.single = self.request(vec![self.text.clone()], false);
                }
            }
            Msg::Clear => {
                self.text.clear();
                self.box_full = false;
                self.shown_text.clear();
                self.result = None;
                self.single = None;
                self.explaining = None;
                self.batch = None;
                self.batch_error = None;
                self.notice = None;
            }
            Msg::ToggleLang => {
                self.lang = self.lang.other();
                set_document_lang(self.lang);
                if let Some(storage) = web_sys::window().and_then(|w| w.session_storage().ok().flatten()) {
                    let _ = storage.set_item("lang", if self.lang == Lang::En { "en" } else { "zh" });
                }
            }
            Msg::FileChosen(file) => {
                let name = file.name();
                let file = gloo::file::File::from(file);
                let link = ctx.link().clone();
                self.reader = Some(gloo::file::callbacks::read_as_bytes(&file, move |bytes| {
                    link.send_message(Msg::FileRead(name, bytes.map_err(|e| e.to_string())));
                }));
            }
            Msg::FileRead(name, bytes) => {
                self.reader = None;
                let rows = bytes.and_then(|b| batch::parse(&name, &b));
                match rows {
                    Ok(rows) => {
                        self.batch_error = None;
                        self.batch = Some(Batch {
                            name,
                            outcomes: vec![None; rows.len()],
                            rows,
                            done: 0,
                            pending: None,
                            cancelled: false,
                            sort: SortKey::Line,
                        });
                        if self.ready() {
                            self.continue_batch();
                        }
                    }
                    Err(e) => {
                        self.batch = None;
                        self.batch_error = Some(e);
                    }
                }
            }
            Msg::CancelBatch => {
                // The chunk in flight is dropped when it comes back; the rows done are kept and
                // the rest are marked unassessed in the table and the export.
                if let Some(batch) = self.batch.as_mut().filter(|b| b.running()) {
                    batch.pending = None;
                    batch.cancelled = true;
                }
            }
            Msg::Export => {
                self.export();
                return false;
            }
            Msg::Sort(key) => {
                if let Some(batch) = &mut self.batch {
                    batch.sort = key;
                }
            }
        }
        true
    }

    fn view(&self, ctx: &Context<Self>) -> Html {
        let w = self.lang.words();
        let link = ctx.link();
        html! {
            <div class="page">
                <header>
                    <div class="heading">
                        <h1>{ w.title }</h1>
                        <p>{ w.subtitle }</p>
                    </div>
                    <button class="lang" onclick={link.callback(|_| Msg::ToggleLang)}
                        lang={self.lang.other().code()}>{ w.switch_to }</button>
                </header>
                <p class="privacy" role="note">{ w.privacy }</p>
                { self.view_model(w) }
                if let Some(notice) = &self.notice {
                    <p class="notice" role="alert">{ notice }</p>
                }
                <main>
                    <section class="input">
                        <label for="post">{ w.input_label }</label>
                        <textarea id="post" rows="7" placeholder={w.placeholder}
                            value={self.text.clone()} maxlength={BOX_LIMIT.to_string()}
                            oninput={link.callback(|e: InputEvent| Msg::Input(e.target_unchecked_into::<HtmlTextAreaElement>().value()))}
                            onkeydown={link.callback(Msg::Key)} />
                        if self.box_full {
                            <p class="notice" id="box-full" role="status">{ w.box_full.replace("{n}", &BOX_LIMIT.to_string()) }</p>
                        }
                        <div class="actions">
                            <button class="primary" disabled={!self.ready() || self.single.is_some()}
                                onclick={link.callback(|_| Msg::Classify)}>{ w.classify }</button>
                            <button onclick={link.callback(|_| Msg::Clear)}>{ w.clear }</button>
                            <span class="hint">{ w.shortcut }</span>
                        </div>
                        { self.view_batch_input(ctx, w) }
                    </section>
                    <section class="output" aria-live="polite">
                        { self.view_result(w) }
                    </section>
                </main>
                { self.view_batch(ctx, w) }
                <footer><p>{ w.disclaimer }</p></footer>
            </div>
        }
    }
}

impl App {
    fn view_model(&self, w: &Words) -> Html {
        match &self.model {
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
                <div class="status" id="model-status" data-state="ready" data-backend={info.backend.clone()}>
                    { format!("{}: {} · {} ({:.1} s)", w.backend, info.backend, info.architecture, info.load_ms / 1000.0) }
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

    fn view_result(&self, w: &Words) -> Html {
        let Some((outcome, ms)) = &self.result else {
            return html! {};
        };
        let p = match outcome {
            Outcome::Empty => {
                return html! { <p class="error" id="result-error" role="alert">{ w.empty_text }</p> };
            }
            Outcome::Err(e) => return html! { <p class="error" id="result-error" role="alert">{ e }</p> },
            Outcome::Ok(p) => p,
        };
        let threshold = match &self.model {
            ModelState::Ready(info) => info.binary_threshold,
            _ => 0.5,
        };
        let uncertain = p.level_probs[p.level] < CONFIDENT_LEVEL
            || (p.high_risk_prob - threshold).abs() < THRESHOLD_MARGIN;
        let json = serde_json::to_string(p).unwrap_or_default();
        html! {
            <div id="result" data-prediction={json} data-ms={ms.to_string()}
                data-explained={self.explained.to_string()}>
                <div class={classes!("verdict", match p.call { Call::High => "high", Call::Review => "review", Call::Low => "low" })}
                    id="verdict" data-call={format!("{:?}", p.call).to_lowercase()}>
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
                    <div class="crisis" role="alert">
                        <h2>{ w.crisis_title }</h2>
                        <ul>{ for w.crisis_lines.iter().map(|l| html! { <li>{ *l }</li> }) }</ul>
                        <p>{ w.crisis_note }</p>
                    </div>
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
                { self.view_attribution(w, p) }
            </div>
        }
    }

    fn view_attribution(&self, w: &Words, p: &Prediction) -> Html {
        let Some(weights) = &p.attribution else {
            return html! {};
        };
        let start = p.window.map_or(0, |w| w.start);
        let max = weights.iter().fold(0f32, |m, v| m.max(*v));
        let heat = |v: f32| {
            if max > 0.0 && v > 0.0 {
                ((v / max) * 4.0).ceil() as usize
            } else {
                0
            }
        };
        html! {
            <>
                <h2>{ w.drivers }</h2>
                <p class="hint">{ w.drivers_help }</p>
                <p class="attribution" id="attribution" data-start={start.to_string()}>
                    // Weights cover the deciding window of a long text (the whole text when it fits).
                    { for self.shown_text.chars().skip(start).take(weights.len()).zip(weights).map(|(c, v)| html! {
                        <span class={format!("heat{}", heat(*v))} title={format!("{v:+.3}")}>{ c }</span>
                    }) }
                </p>
            </>
        }
    }

    fn view_batch_input(&self, ctx: &Context<Self>, w: &Words) -> Html {
        let onchange = ctx.link().batch_callback(|e: Event| {
            let input: HtmlInputElement = e.target_unchecked_into();
            let file = input.files().and_then(|f| f.get(0));
            // The same file can be chosen again later.
            input.set_value("");
            file.map(Msg::FileChosen)
        });
        html! {
            <div class="batch-input">
                <h2>{ w.batch_title }</h2>
                <label for="batch-file">{ w.batch_help }</label>
                <input id="batch-file" type="file" accept=".csv,.txt,text/csv,text/plain" {onchange} />
                if let Some(e) = &self.batch_error {
                    <p class="error" id="batch-error" role="alert">{ e }</p>
                }
            </div>
        }
    }

    fn view_batch(&self, ctx: &Context<Self>, w: &Words) -> Html {
        let Some(batch) = &self.batch else {
            return html! {};
        };
        let (done, total) = (batch.done, batch.rows.len());
        let state = if batch.cancelled {
            "cancelled"
        } else if done < total {
            "running"
        } else {
            "done"
        };
        let order = batch.table_order();
        let link = ctx.link();
        let header = |label: &str, sort: SortKey| {
            html! {
                <th scope="col" aria-sort={if batch.sort == sort { "descending" } else { "none" }}>
                    <button onclick={link.callback(move |_| Msg::Sort(sort))}>{ label.to_string() }</button>
                </th>
            }
        };
        html! {
            <section class="batch" id="batch" data-done={done.to_string()} data-total={total.to_string()}
                data-state={state}>
                <h2>{ format!("{} · {}", w.batch_title, batch.name) }</h2>
                <div class="actions">
                    <progress max={total.max(1).to_string()} value={done.to_string()} />
                    <span id="batch-progress">{ if batch.running() {
                        format!("{} {done} / {total}", w.batch_running)
                    } else {
                        format!("{done} / {total}")
                    } }</span>
                    if batch.running() {
                        <button id="cancel" onclick={link.callback(|_| Msg::CancelBatch)}>{ w.cancel }</button>
                    }
                    <button id="export" disabled={batch.running()} onclick={link.callback(|_| Msg::Export)}>{ w.export }</button>
                </div>
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
                        { for order.iter().take(TABLE_ROWS).map(|&i| {
                            let row = &batch.rows[i];
                            let shown: String = row.text.chars().take(80).collect();
                            match &batch.outcomes[i] {
                                Some(Outcome::Ok(p)) => html! {
                                    <tr class={classes!(match p.call { Call::High => Some("high"), Call::Review => Some("review"), Call::Low => None })}>
                                        <td>{ row.line }</td><td class="text">{ shown }</td>
                                        <td>{ format!("{} · {}", p.level, w.band(p.level)) }</td>
                                        <td>{ format!("{:.0}% {}", p.high_risk_prob * 100.0, if p.call == Call::Low { "" } else { w.call(p.call) }) }</td>
                                    </tr>
                                },
                                Some(Outcome::Empty) => html! {
                                    <tr><td>{ row.line }</td><td class="text">{ shown }</td><td colspan="2" class="error">{ format!("{}: {}", w.error, w.empty_text) }</td></tr>
                                },
                                Some(Outcome::Err(e)) => html! {
                                    <tr><td>{ row.line }</td><td class="text">{ shown }</td><td colspan="2" class="error">{ format!("{}: {e}", w.error) }</td></tr>
                                },
                                None => html! {
                                    <tr><td>{ row.line }</td><td class="text">{ shown }</td>
                                        <td colspan="2">{ if batch.cancelled { w.not_assessed } else { "…" } }</td></tr>
                                },
                            }
                        }) }
                    </tbody>
                </table>
            </section>
        }
    }
}
