//! The web app's page (built by Trunk for wasm32; see index.html).

fn main() {
    yew::Renderer::<sosrisk::web::page::App>::new().render();
}
