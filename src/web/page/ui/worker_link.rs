//! The page's end of the model worker: starting it, posting requests, and turning its messages
//! (and its death) into page actions.

use wasm_bindgen::prelude::*;
use web_sys::{MessageEvent, Worker};
use yew::Callback;

use crate::web::page::state::Action;
use crate::web::protocol::{Reply, Request};

/// The model worker with its handlers (dropping them would detach the page from it).
pub struct WorkerLink {
    worker: Worker,
    _onmessage: Closure<dyn FnMut(MessageEvent)>,
    _onerror: Closure<dyn FnMut(web_sys::ErrorEvent)>,
}

impl Drop for WorkerLink {
    fn drop(&mut self) {
        self.worker.terminate();
    }
}

impl WorkerLink {
    /// Starts a worker whose replies become `Action::Reply` (an unreadable one, or an error
    /// event, `Action::WorkerCrashed`). It asks for the model once it says it has started.
    pub fn spawn(on: Callback<Action>) -> Result<Self, String> {
        let options = web_sys::WorkerOptions::new();
        let worker = Worker::new_with_options("worker_loader.js", &options).map_err(|e| format!("{e:?}"))?;
        let on_reply = on.clone();
        let onmessage = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            on_reply.emit(match serde_wasm_bindgen::from_value::<Reply>(e.data()) {
                Ok(reply) => Action::Reply(reply),
                Err(err) => Action::WorkerCrashed(format!("unreadable reply: {err}")),
            })
        });
        let onerror = Closure::<dyn FnMut(web_sys::ErrorEvent)>::new(move |e: web_sys::ErrorEvent| {
            on.emit(Action::WorkerCrashed(e.message()));
        });
        worker.set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
        worker.set_onerror(Some(onerror.as_ref().unchecked_ref()));
        let link = Self {
            worker,
            _onmessage: onmessage,
            _onerror: onerror,
        };
        link.send(&super::browser::load_request());
        Ok(link)
    }

    pub fn send(&self, request: &Request) {
        if let Ok(value) = serde_wasm_bindgen::to_value(request) {
            let _ = self.worker.post_message(&value);
        }
    }
}
