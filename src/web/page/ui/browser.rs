//! The page's effects on the browser: the address's query, the session's language, the service
//! worker, downloads. Everything here is a side effect the pure state asked for.

use wasm_bindgen::prelude::*;
use yew::Callback;

use crate::web::i18n::Lang;
use crate::web::protocol::{BackendChoice, Request};

/// The model the page loads unless `?model=NAME` names another directory under `models/`.
const DEFAULT_MODEL: &str = "e5";

pub fn query(name: &str) -> Option<String> {
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

/// What the page asks the worker to load: the model of `?model=` on the backend of `?backend=`.
pub fn load_request() -> Request {
    Request::Load {
        base: model_base(),
        backend: BackendChoice::from_query(query("backend").as_deref()),
        measure_software: query("webgpu").as_deref() == Some("measure"),
        count_kernels: query("debug").as_deref() == Some("kernels"),
    }
}

/// The language chosen earlier in this session, else the browser's (Chinese unless it says
/// otherwise).
pub fn session_lang() -> Lang {
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

pub fn set_document_lang(lang: Lang) {
    if let Some(root) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element())
    {
        let _ = root.set_attribute("lang", lang.code());
    }
}

/// The user switched language: the document says so, and the session remembers it (only the
/// language; nothing of the texts is ever stored).
pub fn remember_lang(lang: Lang) {
    set_document_lang(lang);
    if let Some(storage) = web_sys::window().and_then(|w| w.session_storage().ok().flatten()) {
        let _ = storage.set_item("lang", if lang == Lang::En { "en" } else { "zh" });
    }
}

/// Asks the service worker to store `files` (the model's; the app's are stored when it installs)
/// and reports whether it did: from then on the page works offline. Without a service worker
/// (a private window may have none) nothing is reported.
pub fn store_for_offline(files: &[String], done: Callback<bool>) {
    let Some(window) = web_sys::window() else { return };
    let navigator = window.navigator();
    if !js_sys::Reflect::has(&navigator, &"serviceWorker".into()).unwrap_or(false) {
        return;
    }
    let container = navigator.service_worker();
    let on_message = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |e: web_sys::MessageEvent| {
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

pub fn register_service_worker() {
    let Some(window) = web_sys::window() else { return };
    let navigator = window.navigator();
    if js_sys::Reflect::has(&navigator, &"serviceWorker".into()).unwrap_or(false) {
        // Offline use is a bonus: if registration fails the page still works online.
        let _ = navigator.service_worker().register("sw.js");
    }
}

/// Offers `csv` (with its BOM) as a download named `name`.
pub fn download(csv: &str, name: &str) {
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
