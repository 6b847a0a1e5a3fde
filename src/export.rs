//! A model's weights as SafeTensors in PyTorch's layout (linear weights `[out, in]`, norms'
//! `weight`/`bias`), dequantised to f32, under burn's parameter paths: what the peer benchmarks
//! under `bench/` load into the equivalent PyTorch module to check it computes what burn does.

use std::path::Path;

use burn::store::{BurnToPyTorchAdapter, ModuleSnapshot, SafetensorsStore};

use crate::infer::{Classifier, Network};

pub fn safetensors(clf: &Classifier, path: &Path) -> Result<(), String> {
    let mut store = SafetensorsStore::from_file(path)
        .with_to_adapter(BurnToPyTorchAdapter)
        .overwrite(true);
    let saved = match clf.network() {
        Network::Encoder { model, .. } => model.save_into(&mut store),
        Network::Ngram { model, .. } => model.save_into(&mut store),
    };
    saved.map_err(|e| format!("{}: cannot write: {e}", path.display()))
}
