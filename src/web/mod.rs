//! The web app: the page (`page`, Yew, on the main thread) and the model worker (`worker`). The
//! page never runs the model; it posts texts to the worker and shows what comes back, so a long
//! batch never freezes it, and the page's own wasm stays free of burn.

pub mod backend;
pub mod batch;
pub mod i18n;
pub mod page;
pub mod protocol;
#[cfg(all(target_family = "wasm", feature = "web", feature = "model"))]
pub mod worker;
