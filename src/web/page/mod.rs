//! The page: a pure state with its actions (`state`, tested natively) and, in the browser, the
//! component that carries out its effects with one file per part of the view (`ui`).

pub mod state;

#[cfg(all(target_family = "wasm", feature = "web"))]
mod ui;

#[cfg(all(target_family = "wasm", feature = "web"))]
pub use ui::App;
