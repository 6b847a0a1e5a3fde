//! The page in the browser: the component (`app`), the browser's effects (`browser`), the
//! worker (`worker_link`), and one file per part of the view.

mod app;
mod attribution;
mod batch_input;
mod batch_table;
mod browser;
mod columns;
mod model_status;
mod people;
mod result_view;
mod text_input;
mod worker_link;

pub use app::App;

/// A callback that sends `f`'s action when there is one (a key that is not the shortcut, a file
/// picker closed without a file): yew's `filter_reform` makes a callback that returns the
/// option instead, which an event listener cannot take.
fn emit_some<T: 'static, A: 'static>(
    on: &yew::Callback<A>,
    f: impl Fn(T) -> Option<A> + 'static,
) -> yew::Callback<T> {
    let on = on.clone();
    yew::Callback::from(move |e: T| {
        if let Some(a) = f(e) {
            on.emit(a);
        }
    })
}
