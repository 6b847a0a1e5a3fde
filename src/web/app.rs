//! The page: a text box and a batch file picker on the left, the model's answer on the right.
//! It holds the text only in memory (clearing the box clears everything) and talks to the model
//! worker; it never sends text anywhere else.

use gloo::file::callbacks::FileReader;
use wasm_bindgen::prelude::*;
use web_sys::{HtmlInputElement, HtmlTextAreaElement, KeyboardEvent, MessageEvent, Worker};
use yew::prelude::*;

use crate::assessment::Call;
use crate::prediction::Prediction;
use crate::table::export::PersonOrder;
use crate::table::{Format, TableError};
use crate::text::is_blank;
use crate::web::batch::{Batch, SortKey, TABLE_ROWS};
use crate::web::i18n::{Lang, Words};
use crate::web::protocol::{BackendChoice, LoadError, LoadFault, ModelInfo, Outcome, Reply, Request, Why};

/// The model the page loads unless `?model=NAME` names another directory under `models/`.
const DEFAULT_MODEL: &str = "e5";
/// The text box's `maxlength`, in UTF-16 units (about 1 MB of Chinese text; the model reads
/// only the first few hundred characters of it anyway).
const BOX_LIMIT: usize = 1_000_000;
/// Below this top-level probability, or this close to the threshold, the page says "uncertain".
const CONFIDENT_LEVEL: f32 = 0.4;
const THRESHOLD_MARGIN: f32 = 0.1;

pub enum Msg {
    Reply(Reply),
    WorkerCrashed(String),
    /// The service worker has stored everything (or failed to): the page works offline.
    Stored(bool),
    Input(String),
    Key(KeyboardEvent),
    Classify,
    Clear,
    ToggleLang,
    Batch(BatchMsg),
}

/// What happens in batch mode.
pub enum BatchMsg {
    FileChosen(web_sys::File),
    FileRead(String, Result<Vec<u8>, String>),
    Cancel,
    Export,
    ExportPeople,
    Sort(SortKey),
    SortPeople(PersonOrder),
    ChooseText(usize),
    ChooseAuthor(Option<usize>),
    ChooseSheet(String),
}

/// Why a chosen file gave no batch.
enum BatchError {
    /// The browser could not read the file.
    Read(String),
    Table(TableError),
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
    batch_error: Option<BatchError>,
    notice: Option<String>,
    /// The box holds its maximum and a paste may have been cut: the page says so.
    box_full: bool,
    reader: Option<FileReader>,
    /// Whether the service worker has stored the app and this model (offline use).
    offline: Option<bool>,
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

/// What the page asks the worker to load: the model of `?model=` on the backend of `?backend=`.
fn load_request() -> Request {
    Request::Load {
        base: model_base(),
        backend: BackendChoice::from_query(query("backend").as_deref()),
        measure_software: query("webgpu").as_deref() == Some("measure"),
    }
}

/// The reason's kind as its JSON tag, for tests and styles (`data-why`).
fn why_kind(why: &Why) -> String {
    serde_json::to_value(why)
        .ok()
        .and_then(|v| v["kind"].as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Asks the service worker to store `files` (the model's; the app's are stored when it installs)
/// and reports whether it did: from then on the page works offline. Without a service worker
/// (a private window may have none) nothing is reported.
fn store_for_offline(files: &[String], done: Callback<bool>) {
    let Some(window) = web_sys::window() else { return };
    let navigator = window.navigator();
    if !js_sys::Reflect::has(&navigator, &"serviceWorker".into()).unwrap_or(false) {
        return;
    }
    let container = navigator.service_worker();
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
        let data = e.data();
        let kind = js_sys::Reflect::get(&data, &"type".into())
            .ok()
            .and_then(|v| v.as_string());
        if kind.as_deref() == Some("cached") {
            let ok = js_sys::Reflect::get(&data, &"ok".into())
                .ok()
                .and_then(|v| v.as_bool());
            done.emit(ok.unwrap_or(false));
        }
    });
    container.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    // The page lives as long as the handler is needed.
    on_message.forget();
    let Ok(ready) = container.ready() else { return };
    let message = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&message, &"type".into(), &"cache".into());
    let urls: js_sys::Array = files.iter().map(|f| JsValue::from_str(f)).collect();
    let _ = js_sys::Reflect::set(&message, &"urls".into(), &urls);
    wasm_bindgen_futures::spawn_local(async move {
        let Ok(registration) = wasm_bindgen_futures::JsFuture::from(ready).await else {
            return;
        };
        let registration: web_sys::ServiceWorkerRegistration = registration.unchecked_into();
        if let Some(active) = registration.active() {
            let _ = active.post_message(&message);
        }
    });
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
        let link = Link {
            worker,
            _onmessage: onmessage,
            _onerror: onerror,
        };
        Self::send(&link, &load_request());
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
        let Some((start, texts)) = self.batch.as_ref().and_then(Batch::next_chunk) else {
            return;
        };
        let id = self.request(texts, false);
        if let (Some(batch), Some(id)) = (&mut self.batch, id) {
            batch.pending = Some((id, start));
        }
    }

    fn on_reply(&mut self, ctx: &Context<Self>, reply: Reply) {
        match reply {
            Reply::Started => {
                if let Some(link) = &self.link {
                    Self::send(link, &load_request());
                }
            }
            Reply::Progress { file, loaded, total } => {
                self.model = ModelState::Loading { file, loaded, total };
            }
            Reply::Ready(info) => {
                store_for_offline(&info.files, ctx.link().callback(Msg::Stored));
                self.model = ModelState::Ready(info);
                if self.batch.as_ref().is_some_and(|b| b.pending.is_none()) {
                    self.continue_batch();
                }
            }
            Reply::Backend { backend, why } => {
                if let ModelState::Ready(info) = &mut self.model {
                    info.backend = backend;
                    info.why = why;
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
                if self.batch.as_mut().is_some_and(|b| b.on_results(id, outcomes)) {
                    self.continue_batch();
                }
            }
        }
    }

    /// The worker crashed: say so, drop what was in flight, start a new one.
    fn restart_worker(&mut self, ctx: &Context<Self>, detail: &str) {
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

    /// Clearing the box clears everything the page holds of the user's texts.
    fn clear(&mut self) {
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

    /// Batch mode's messages; returns whether to re-render.
    fn on_batch(&mut self, ctx: &Context<Self>, msg: BatchMsg) -> bool {
        match msg {
            BatchMsg::FileChosen(file) => {
                let name = file.name();
                let file = gloo::file::File::from(file);
                let link = ctx.link().clone();
                self.reader = Some(gloo::file::callbacks::read_as_bytes(&file, move |bytes| {
                    link.send_message(Msg::Batch(BatchMsg::FileRead(
                        name,
                        bytes.map_err(|e| e.to_string()),
                    )));
                }));
            }
            BatchMsg::FileRead(name, bytes) => {
                self.reader = None;
                let read = bytes
                    .map_err(BatchError::Read)
                    .and_then(|b| Batch::read(&name, b, None).map_err(BatchError::Table));
                self.set_batch(read);
            }
            BatchMsg::Cancel => {
                if let Some(batch) = &mut self.batch {
                    batch.cancel();
                }
            }
            BatchMsg::Export => {
                if let Some(batch) = &self.batch {
                    Self::download(&batch.export(), "sosrisk-results.csv");
                }
                return false;
            }
            BatchMsg::ExportPeople => {
                if let Some(csv) = self.batch.as_ref().and_then(Batch::export_people) {
                    Self::download(&csv, "sosrisk-per-person.csv");
                }
                return false;
            }
            BatchMsg::Sort(key) => {
                if let Some(batch) = &mut self.batch {
                    batch.sort = key;
                }
            }
            BatchMsg::SortPeople(order) => {
                if let Some(batch) = &mut self.batch {
                    batch.people_order = order;
                }
            }
            BatchMsg::ChooseText(column) => {
                if let Some(batch) = &mut self.batch {
                    batch.choose_text(column);
                }
                if self.ready() {
                    self.continue_batch();
                }
            }
            BatchMsg::ChooseAuthor(column) => {
                if let Some(batch) = &mut self.batch {
                    batch.choose_author(column);
                }
            }
            BatchMsg::ChooseSheet(sheet) => {
                if let Some(batch) = self.batch.take() {
                    let read = batch.with_sheet(&sheet).map_err(BatchError::Table);
                    self.set_batch(read);
                }
            }
        }
        true
    }

    /// Shows a freshly read file (or why it could not be read) and starts it when it can.
    fn set_batch(&mut self, read: Result<Batch, BatchError>) {
        match read {
            Ok(batch) => {
                self.batch_error = None;
                self.batch = Some(batch);
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

    /// Offers `csv` (with its BOM) as a download named `name`.
    fn download(csv: &str, name: &str) {
        let parts = js_sys::Array::of1(&JsValue::from_str(csv));
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
            a.set_download(name);
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
            offline: None,
        }
    }

    fn update(&mut self, ctx: &Context<Self>, msg: Msg) -> bool {
        match msg {
            Msg::Reply(reply) => self.on_reply(ctx, reply),
            Msg::Stored(ok) => self.offline = Some(ok),
            Msg::WorkerCrashed(detail) => self.restart_worker(ctx, &detail),
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
            Msg::Clear => self.clear(),
            Msg::ToggleLang => {
                self.lang = self.lang.other();
                set_document_lang(self.lang);
                if let Some(storage) = web_sys::window().and_then(|w| w.session_storage().ok().flatten()) {
                    let _ = storage.set_item("lang", if self.lang == Lang::En { "en" } else { "zh" });
                }
            }
            Msg::Batch(msg) => return self.on_batch(ctx, msg),
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
                <div class="status" id="model-status" data-state="ready" data-backend={info.backend.clone()}
                    data-why={why_kind(&info.why)}
                    data-offline={match self.offline { Some(true) => "ready", Some(false) => "failed", None => "" }}>
                    { format!("{}: {} — {} · {} ({:.1} s)", w.backend, info.backend, w.why(&info.why), info.architecture, info.load_ms / 1000.0) }
                    if self.offline == Some(true) {
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

    fn view_result(&self, w: &Words) -> Html {
        let Some((outcome, ms)) = &self.result else {
            return html! {};
        };
        let p = match outcome {
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
            file.map(|f| Msg::Batch(BatchMsg::FileChosen(f)))
        });
        html! {
            <div class="batch-input">
                <h2>{ w.batch_title }</h2>
                <label for="batch-file">{ w.batch_help }</label>
                <input id="batch-file" type="file" accept=".csv,.tsv,.txt,.xlsx,text/csv,text/plain,text/tab-separated-values,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" {onchange} />
                if let Some(e) = &self.batch_error {
                    <p class="error" id="batch-error" role="alert">{ match e {
                        BatchError::Read(detail) => detail.clone(),
                        BatchError::Table(t) => w.table_error(t),
                    } }</p>
                }
            </div>
        }
    }

    fn view_batch(&self, ctx: &Context<Self>, w: &Words) -> Html {
        let Some(batch) = &self.batch else {
            return html! {};
        };
        let (done, total) = (batch.done, batch.total());
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
                    <button onclick={link.callback(move |_| Msg::Batch(BatchMsg::Sort(sort)))}>{ label.to_string() }</button>
                </th>
            }
        };
        html! {
            <section class="batch" id="batch" data-done={done.to_string()} data-total={total.to_string()}
                data-state={state}>
                <h2>{ format!("{} · {}", w.batch_title, batch.table.file) }</h2>
                { self.view_columns(ctx, w, batch) }
                <div class="actions">
                    <progress max={total.max(1).to_string()} value={done.to_string()} />
                    <span id="batch-progress">{ if batch.running() {
                        format!("{} {done} / {total}", w.batch_running)
                    } else {
                        format!("{done} / {total}")
                    } }</span>
                    if batch.running() {
                        <button id="cancel" onclick={link.callback(|_| Msg::Batch(BatchMsg::Cancel))}>{ w.cancel }</button>
                    }
                    <button id="export" disabled={batch.running()} onclick={link.callback(|_| Msg::Batch(BatchMsg::Export))}>{ w.export }</button>
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
                            let row = &batch.table.rows[i];
                            let shown: String = batch.text(i).chars().take(80).collect();
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
                                Some(Outcome::Failed(f)) => html! {
                                    <tr><td>{ row.line }</td><td class="text">{ shown }</td><td colspan="2" class="error" title={f.detail().to_string()}>{ format!("{}: {}", w.error, w.failure(f)) }</td></tr>
                                },
                                None => html! {
                                    <tr><td>{ row.line }</td><td class="text">{ shown }</td>
                                        <td colspan="2">{ if batch.cancelled { w.not_assessed } else { "…" } }</td></tr>
                                },
                            }
                        }) }
                    </tbody>
                </table>
                { self.view_people(ctx, w, batch) }
            </section>
        }
    }

    /// How the file was read, and the column (and sheet) pickers.
    fn view_columns(&self, ctx: &Context<Self>, w: &Words, batch: &Batch) -> Html {
        let link = ctx.link();
        let t = &batch.table;
        let rows = t.rows.len().to_string();
        let read = match (&t.format, &t.encoding) {
            (Format::Xlsx { sheet, .. }, _) => w
                .file_read_sheet
                .replace("{sheet}", sheet)
                .replace("{rows}", &rows),
            (_, e) => w
                .file_read
                .replace("{encoding}", e.as_deref().unwrap_or(""))
                .replace("{rows}", &rows),
        };
        let select_value = |e: Event| e.target_unchecked_into::<web_sys::HtmlSelectElement>().value();
        let on_text = link.batch_callback(move |e: Event| {
            select_value(e)
                .parse()
                .ok()
                .map(|c| Msg::Batch(BatchMsg::ChooseText(c)))
        });
        let on_author =
            link.callback(move |e: Event| Msg::Batch(BatchMsg::ChooseAuthor(select_value(e).parse().ok())));
        let on_sheet = link.callback(move |e: Event| Msg::Batch(BatchMsg::ChooseSheet(select_value(e))));
        let options = |selected: Option<usize>| {
            html! { <>{ for t.columns.iter().enumerate().map(|(i, c)| html! {
                <option value={i.to_string()} selected={selected == Some(i)}>{ c.clone() }</option>
            }) }</> }
        };
        html! {
            <div class="columns" id="batch-columns">
                <p class="hint" id="batch-read" data-encoding={t.encoding.clone().unwrap_or_default()}>{ read }</p>
                if let Format::Xlsx { sheet, sheets } = &t.format {
                    if sheets.len() > 1 {
                        <label>{ w.sheet }
                            <select id="sheet" onchange={on_sheet}>
                                { for sheets.iter().map(|s| html! { <option value={s.clone()} selected={s == sheet}>{ s.clone() }</option> }) }
                            </select>
                        </label>
                    }
                }
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

    /// The per-person summary, sortable by each of its figures.
    fn view_people(&self, ctx: &Context<Self>, w: &Words, batch: &Batch) -> Html {
        let Some(people) = batch.people() else {
            return html! {};
        };
        let link = ctx.link();
        let header = |label: &str, order: PersonOrder| {
            html! {
                <th scope="col" aria-sort={if batch.people_order == order { "descending" } else { "none" }}>
                    <button onclick={link.callback(move |_| Msg::Batch(BatchMsg::SortPeople(order)))}>{ label.to_string() }</button>
                </th>
            }
        };
        let c = &w.people_columns;
        html! {
            <div class="people" id="people">
                <h2>{ w.people_title }</h2>
                <button id="export-people" disabled={batch.running()} onclick={link.callback(|_| Msg::Batch(BatchMsg::ExportPeople))}>{ w.export_people }</button>
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
}
