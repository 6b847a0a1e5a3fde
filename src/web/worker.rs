//! The model worker: fetches the model files (reporting progress), verifies them against the
//! SHA-256 in `config.json`, runs on the CPU first and on WebGPU only once measured faster
//! (`web::backend`), and classifies what the page sends. Requests are handled one at a time, in
//! order, so a classification never races the load.

use burn::prelude::Device;
use burn::tensor::wgpu::WgpuBackend;
use futures::StreamExt;
use futures::channel::mpsc;
use js_sys::{Function, Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{JsFuture, spawn_local};
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent, ReadableStreamDefaultReader, Response};

use crate::infer::{CONFIG_FILE, Classifier, Manifest, TOKENIZER_FILE};
use crate::kernels::Tally;
use crate::text::is_blank;
use std::cell::RefCell;
use std::rc::Rc;

use crate::web::backend;
use crate::web::protocol::{
    BackendChoice, Failure, LoadError, LoadFault, ModelInfo, Outcome, Reply, Request, Why,
};

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

/// What the browser says of its WebGPU adapter: its names (vendor, architecture, device,
/// description) and whether it is a fallback (software) adapter.
struct Adapter {
    names: Vec<String>,
    fallback: bool,
}

/// The browser's WebGPU adapter, if it gives one: `navigator.gpu` can exist while
/// `requestAdapter()` resolves to null (no usable GPU, or, seen in headless Chromium, a GPU
/// process still starting: hence a few tries).
async fn webgpu_adapter() -> Option<Adapter> {
    let gpu = Reflect::get(&scope().navigator(), &"gpu".into()).ok()?;
    if gpu.is_undefined() || gpu.is_null() {
        return None;
    }
    let request = Reflect::get(&gpu, &"requestAdapter".into())
        .and_then(|f| f.dyn_into::<Function>())
        .ok()?;
    for attempt in 0..3 {
        if attempt > 0 {
            sleep(300).await;
        }
        let promise = request.call0(&gpu).and_then(|p| p.dyn_into::<Promise>()).ok()?;
        let Ok(adapter) = JsFuture::from(promise).await else {
            continue;
        };
        if adapter.is_null() || adapter.is_undefined() {
            continue;
        }
        let info = Reflect::get(&adapter, &"info".into()).unwrap_or(JsValue::UNDEFINED);
        let text = |of: &JsValue, key: &str| {
            Reflect::get(of, &key.into())
                .ok()
                .and_then(|v| v.as_string())
                .unwrap_or_default()
        };
        let flag = |of: &JsValue| {
            Reflect::get(of, &"isFallbackAdapter".into())
                .ok()
                .and_then(|v| v.as_bool())
                .unwrap_or(false)
        };
        return Some(Adapter {
            names: ["vendor", "architecture", "device", "description"]
                .iter()
                .map(|k| text(&info, k))
                .collect(),
            fallback: flag(&adapter) || flag(&info),
        });
    }
    None
}

async fn webgpu_device() -> Result<Device, String> {
    Device::wgpu_options()
        .graphics_api(WgpuBackend::WebGpu)
        .init_async()
        .await
        .map_err(|e| format!("{e:?}"))
}

/// The model's three files, fetched (with progress) and the URLs they came from.
struct Files {
    config: Vec<u8>,
    tokenizer: Vec<u8>,
    weights: Vec<u8>,
    urls: Vec<String>,
}

async fn fetch_model(base: &str) -> Result<Files, LoadError> {
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
    Ok(Files {
        config,
        tokenizer,
        weights,
        urls: vec![
            format!("{base}{CONFIG_FILE}"),
            url(TOKENIZER_FILE),
            url(weights_file),
        ],
    })
}

/// The classifier on `device`, verified and run once (WebGPU compiles its shaders on first use).
async fn build(files: &Files, device: &Device) -> Result<Classifier, LoadError> {
    let classifier = Classifier::from_bytes(&files.config, &files.tokenizer, &files.weights, device)?;
    classifier
        .predict_async(&[backend::WARM_UP])
        .await
        .map_err(|e| LoadError::new(LoadFault::Other, "", format!("warm-up run failed: {}", e.error)))?;
    Ok(classifier)
}

fn info(classifier: &Classifier, backend: &str, why: Why, files: &Files, started: f64) -> ModelInfo {
    ModelInfo {
        backend: backend.into(),
        why,
        architecture: classifier.manifest.architecture.name().into(),
        description: classifier.manifest.architecture.describe(),
        binary_threshold: classifier.manifest.binary_threshold,
        load_ms: now() - started,
        files: files.urls.clone(),
        kernels: None,
    }
}

/// Runs a GPU classifier on every shape the page can send it (its shaders compile on first use),
/// untimed, so that no request of the user's compiles one. The first of the runs, the load's
/// own text, was run by [`build`] already.
async fn warm_up(gpu: &Classifier) {
    for run in backend::warm_up_runs().into_iter().skip(1) {
        let run: Vec<&str> = run.iter().map(String::as_str).collect();
        let _ = gpu.predict_async(&run).await;
        sleep(0).await;
    }
}

/// Median milliseconds of `runs` passes of `texts` (read back, as the page's requests are).
async fn time(classifier: &Classifier, texts: &[&str], runs: usize) -> f64 {
    let mut ms = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t0 = now();
        let _ = classifier.predict_async(texts).await;
        ms.push(now() - t0);
        // Let the page's own requests through between passes.
        sleep(0).await;
    }
    backend::median(ms)
}

/// In the background, with the page already answered on the CPU: sets WebGPU up, warms it on the
/// page's shapes, times it against the CPU on the same texts and compares their probabilities;
/// switches only when [`backend::decide`] says so. Tells the page either way.
async fn measure_webgpu(
    files: Files,
    cpu: Rc<Classifier>,
    active: Rc<RefCell<Option<Rc<Classifier>>>>,
    measure_software: bool,
) {
    let stay = |why: Why| {
        post(&Reply::Backend {
            backend: "CPU".into(),
            why,
        })
    };
    let Some(adapter) = webgpu_adapter().await else {
        return stay(Why::NoWebGpu);
    };
    let software = backend::software_adapter(&adapter.names, adapter.fallback);
    if let (Some(name), false) = (&software, measure_software) {
        return stay(Why::SoftwareAdapter {
            adapter: name.clone(),
        });
    }
    let device = match webgpu_device().await {
        Ok(d) => d,
        Err(detail) => return stay(Why::Failed { detail }),
    };
    let gpu = match build(&files, &device).await {
        Ok(c) => Rc::new(c),
        Err(e) => return stay(Why::Failed { detail: e.detail }),
    };
    warm_up(&gpu).await;
    let (single, batch) = backend::warm_up_shapes();
    let single: Vec<&str> = single.iter().map(String::as_str).collect();
    let batch: Vec<&str> = batch.iter().map(String::as_str).collect();
    let gpu_ms = [time(&gpu, &single[1..2], 3).await, time(&gpu, &batch, 3).await];
    let cpu_ms = [time(&cpu, &single[1..2], 3).await, time(&cpu, &batch, 1).await];
    let (on_cpu, on_gpu) = (cpu.predict_async(&single).await, gpu.predict_async(&single).await);
    let diff = match (on_cpu, on_gpu) {
        (Ok(a), Ok(b)) => backend::largest_difference(&a, &b),
        _ => f64::INFINITY,
    };
    let why = backend::decide(cpu_ms, gpu_ms, diff);
    // Measured on request, a software adapter is still never switched to.
    if let Some(adapter) = software.filter(|_| matches!(why, Why::Faster { .. })) {
        return stay(Why::SoftwareAdapter { adapter });
    }
    if matches!(why, Why::Faster { .. }) {
        *active.borrow_mut() = Some(gpu);
        post(&Reply::Backend {
            backend: "WebGPU".into(),
            why,
        });
    } else {
        stay(why);
    }
}

/// Loads the model on the backend the page asked for: the CPU first unless WebGPU was asked for
/// (then WebGPU even on a software adapter, the CPU only without any).
async fn load(
    base: &str,
    (choice, measure_software): (BackendChoice, bool),
    active: Rc<RefCell<Option<Rc<Classifier>>>>,
) -> Result<ModelInfo, LoadError> {
    let started = now();
    let files = fetch_model(base).await?;
    if choice == BackendChoice::Webgpu {
        if webgpu_adapter().await.is_some()
            && let Ok(device) = webgpu_device().await
        {
            let classifier = build(&files, &device).await?;
            warm_up(&classifier).await;
            let info = info(&classifier, "WebGPU", Why::Asked, &files, started);
            *active.borrow_mut() = Some(Rc::new(classifier));
            return Ok(info);
        }
        let classifier = build(&files, &Device::flex()).await?;
        let info = info(&classifier, "CPU", Why::NoWebGpu, &files, started);
        *active.borrow_mut() = Some(Rc::new(classifier));
        return Ok(info);
    }
    let cpu = Rc::new(build(&files, &Device::flex()).await?);
    let why = if choice == BackendChoice::Cpu {
        Why::Asked
    } else {
        Why::Measuring
    };
    let info = info(&cpu, "CPU", why, &files, started);
    *active.borrow_mut() = Some(cpu.clone());
    if choice == BackendChoice::Auto {
        spawn_local(measure_webgpu(files, cpu, active, measure_software));
    }
    Ok(info)
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
            Err(e) => {
                let i = todo.remove(e.index.min(todo.len() - 1));
                outcomes[i] = Some(Outcome::Failed(Failure::of(&e.error)));
            }
        }
    }
    outcomes
        .into_iter()
        .map(|o| o.expect("every text has an outcome"))
        .collect()
}

/// Tells the page how many kernels have been launched, when it asked ([`Tally`]).
fn report_kernels(tally: &mut Option<Tally>) {
    if let Some(t) = tally {
        post(&Reply::Kernels { count: t.count() });
    }
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
        // The classifier in use: the CPU's first, WebGPU's once measured faster (shared with
        // the background measurement, which may switch it between two requests).
        let active: Rc<RefCell<Option<Rc<Classifier>>>> = Rc::default();
        // Counting kernels, when the load asked for it (`?debug=kernels`).
        let mut tally: Option<Tally> = None;
        while let Some(request) = rx.next().await {
            match request {
                Request::Load {
                    base,
                    backend,
                    measure_software,
                    count_kernels,
                } => {
                    tally = count_kernels.then(Tally::start);
                    match load(&base, (backend, measure_software), active.clone()).await {
                        Ok(info) => post(&Reply::Ready(info)),
                        Err(error) => post(&Reply::LoadFailed(error)),
                    }
                    report_kernels(&mut tally);
                }
                Request::Classify { id, texts, explain } => {
                    let started = now();
                    let classifier = active.borrow().clone();
                    let outcomes = match classifier {
                        Some(c) => classify(&c, &texts, explain).await,
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
                    report_kernels(&mut tally);
                }
            }
        }
    });
}
