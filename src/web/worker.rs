//! The model worker: fetches the model files (reporting progress), verifies them against the
//! SHA-256 in `config.json`, picks WebGPU or the CPU, and classifies what the page sends.
//! Requests are handled one at a time, in order, so a classification never races the load.

use burn::prelude::Device;
use burn::tensor::wgpu::WgpuBackend;
use futures::StreamExt;
use futures::channel::mpsc;
use js_sys::{Function, Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{JsFuture, spawn_local};
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent, ReadableStreamDefaultReader, Response};

use crate::infer::{CONFIG_FILE, Classifier, Manifest, TOKENIZER_FILE};
use crate::text::is_blank;
use crate::web::protocol::{Failure, LoadError, LoadFault, ModelInfo, Outcome, Reply, Request};

/// A fixed synthetic text for the warm-up run (WebGPU compiles its shaders on first use).
const WARM_UP: &str = "今天有点累，但还好。";

fn scope() -> DedicatedWorkerGlobalScope {
    js_sys::global().unchecked_into()
}

fn post(reply: &Reply) {
    if let Ok(value) = serde_wasm_bindgen::to_value(reply) {
        // Fails only if the page is gone; then there is no one to tell.
        let _ = scope().post_message(&value);
    }
}

fn now() -> f64 {
    scope().performance().map_or(0.0, |p| p.now())
}

fn js_error(e: JsValue) -> String {
    e.as_string()
        .or_else(|| e.dyn_ref::<js_sys::Error>().map(|e| String::from(e.message())))
        .unwrap_or_else(|| format!("{e:?}"))
}

/// Fetches `url` in chunks, reporting progress as `file`.
async fn fetch_bytes(url: &str, file: &str) -> Result<Vec<u8>, LoadError> {
    let failed = |detail: String| LoadError::new(LoadFault::Download, file, format!("{file}: {detail}"));
    let response: Response = JsFuture::from(scope().fetch_with_str(url))
        .await
        .map_err(|e| failed(format!("cannot download ({})", js_error(e))))?
        .unchecked_into();
    if !response.ok() {
        return Err(failed(format!("the server answered HTTP {}", response.status())));
    }
    let total = response
        .headers()
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|v| v.parse::<f64>().ok());
    let body = response.body().ok_or_else(|| failed("empty response".into()))?;
    let reader: ReadableStreamDefaultReader = body.get_reader().unchecked_into();
    let mut bytes = Vec::new();
    let mut reported = 0;
    loop {
        let chunk = JsFuture::from(reader.read())
            .await
            .map_err(|e| failed(format!("download interrupted ({})", js_error(e))))?;
        if Reflect::get(&chunk, &"done".into())
            .ok()
            .and_then(|d| d.as_bool())
            != Some(false)
        {
            break;
        }
        let value: Uint8Array = Reflect::get(&chunk, &"value".into())
            .map_err(|e| failed(js_error(e)))?
            .unchecked_into();
        let start = bytes.len();
        bytes.resize(start + value.length() as usize, 0);
        value.copy_to(&mut bytes[start..]);
        if bytes.len() - reported >= 1 << 20 {
            reported = bytes.len();
            post(&Reply::Progress {
                file: file.into(),
                loaded: bytes.len() as f64,
                total,
            });
        }
    }
    post(&Reply::Progress {
        file: file.into(),
        loaded: bytes.len() as f64,
        total: Some(bytes.len() as f64),
    });
    Ok(bytes)
}

async fn sleep(ms: i32) {
    let promise = Promise::new(&mut |resolve, _| {
        let _ = scope().set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
    });
    let _ = JsFuture::from(promise).await;
}

/// Whether the browser gives a WebGPU adapter: `navigator.gpu` can exist while
/// `requestAdapter()` resolves to null (no usable GPU, or, seen in headless Chromium, a GPU
/// process still starting: hence a few tries).
async fn webgpu_adapter() -> bool {
    let Ok(gpu) = Reflect::get(&scope().navigator(), &"gpu".into()) else {
        return false;
    };
    if gpu.is_undefined() || gpu.is_null() {
        return false;
    }
    let Ok(request) = Reflect::get(&gpu, &"requestAdapter".into()).and_then(|f| f.dyn_into::<Function>())
    else {
        return false;
    };
    for attempt in 0..3 {
        if attempt > 0 {
            sleep(300).await;
        }
        let Ok(promise) = request.call0(&gpu).and_then(|p| p.dyn_into::<Promise>()) else {
            return false;
        };
        if JsFuture::from(promise)
            .await
            .is_ok_and(|a| !a.is_null() && !a.is_undefined())
        {
            return true;
        }
    }
    false
}

async fn device(gpu: bool) -> (Device, &'static str) {
    if gpu && webgpu_adapter().await {
        let webgpu = Device::wgpu_options()
            .graphics_api(WgpuBackend::WebGpu)
            .init_async()
            .await;
        if let Ok(device) = webgpu {
            return (device, "WebGPU");
        }
    }
    (Device::flex(), "CPU")
}

async fn load(base: &str, gpu: bool) -> Result<(Classifier, ModelInfo), LoadError> {
    let started = now();
    let config = fetch_bytes(&format!("{base}{CONFIG_FILE}"), CONFIG_FILE).await?;
    let manifest = Manifest::parse(&config)?;
    let weights_file = manifest.architecture.weights_file();
    // The hash in the URL makes each version its own cache entry (see sw.js).
    let url = |file: &str| {
        let sha = manifest.files.get(file).map_or("", String::as_str);
        format!("{base}{file}?sha={sha}")
    };
    let tokenizer = fetch_bytes(&url(TOKENIZER_FILE), TOKENIZER_FILE).await?;
    let weights = fetch_bytes(&url(weights_file), weights_file).await?;
    let (device, backend) = device(gpu).await;
    let classifier = Classifier::from_bytes(&config, &tokenizer, &weights, &device)?;
    classifier
        .predict_async(&[WARM_UP])
        .await
        .map_err(|(_, e)| LoadError::new(LoadFault::Other, "", format!("warm-up run failed: {e}")))?;
    let info = ModelInfo {
        backend: backend.into(),
        architecture: classifier.manifest.architecture.name().into(),
        description: classifier.manifest.architecture.describe(),
        binary_threshold: classifier.manifest.binary_threshold,
        load_ms: now() - started,
    };
    Ok((classifier, info))
}

/// Predictions for the non-empty texts; an empty one gets its own outcome, and a text the
/// model fails on gets its own failure: neither stops the rest.
async fn classify(classifier: &Classifier, texts: &[String], explain: bool) -> Vec<Outcome> {
    let mut outcomes: Vec<Option<Outcome>> = texts
        .iter()
        .map(|t| is_blank(t).then_some(Outcome::Empty))
        .collect();
    let mut todo: Vec<usize> = (0..texts.len()).filter(|&i| outcomes[i].is_none()).collect();
    while !todo.is_empty() {
        let refs: Vec<&str> = todo.iter().map(|&i| texts[i].as_str()).collect();
        match classifier.predict_async(&refs).await {
            Ok(predictions) => {
                for (&i, mut p) in todo.iter().zip(predictions) {
                    if explain {
                        p.attribution = classifier.explain_async(&texts[i], &p).await.ok();
                    }
                    outcomes[i] = Some(Outcome::Ok(p));
                }
                todo.clear();
            }
            // The failing text gets its failure; the others are tried again without it.
            Err((k, e)) => {
                let i = todo.remove(k.min(todo.len() - 1));
                outcomes[i] = Some(Outcome::Failed(Failure::of(&e)));
            }
        }
    }
    outcomes
        .into_iter()
        .map(|o| o.expect("every text has an outcome"))
        .collect()
}

/// The worker's entry point: answers the page's [`Request`]s in order.
pub fn start() {
    // A panic would otherwise end the worker silently (inside a promise, no `error` event).
    std::panic::set_hook(Box::new(|info| {
        post(&Reply::Crashed {
            error: info.to_string(),
        })
    }));
    let (tx, mut rx) = mpsc::unbounded::<Request>();
    let onmessage = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        match serde_wasm_bindgen::from_value::<Request>(event.data()) {
            Ok(request) => {
                let _ = tx.unbounded_send(request);
            }
            Err(e) => post(&Reply::LoadFailed(LoadError::new(
                LoadFault::Other,
                "",
                format!("unreadable request: {e}"),
            ))),
        }
    });
    scope().set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
    // The handler lives as long as the worker.
    onmessage.forget();
    post(&Reply::Started);
    spawn_local(async move {
        let mut classifier: Option<Classifier> = None;
        while let Some(request) = rx.next().await {
            match request {
                Request::Load { base, gpu } => match load(&base, gpu).await {
                    Ok((c, info)) => {
                        classifier = Some(c);
                        post(&Reply::Ready(info));
                    }
                    Err(error) => post(&Reply::LoadFailed(error)),
                },
                Request::Classify { id, texts, explain } => {
                    let started = now();
                    let outcomes = match &classifier {
                        Some(c) => classify(c, &texts, explain).await,
                        None => texts
                            .iter()
                            .map(|_| Outcome::Failed(Failure::NotLoaded))
                            .collect(),
                    };
                    post(&Reply::Results {
                        id,
                        outcomes,
                        ms: now() - started,
                    });
                }
            }
        }
    });
}
