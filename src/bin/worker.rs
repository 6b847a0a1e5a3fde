//! The web app's model worker (built by Trunk for wasm32; see index.html).

fn main() {
    sosrisk::web::worker::start();
}
