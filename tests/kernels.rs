//! Counting wgpu's kernels (`src/kernels.rs`, reported by `sosrisk bench --backend wgpu`): the
//! page's warm-up launches kernels, running its shapes again compiles none, and the kernels
//! other token lengths and batch sizes add are counted. Runs the shipped e5's shape (384 wide, 12 heads, its
//! tokenizer and token limit) with one layer of random weights: which kernels run depends on
//! shapes, not on weights or depth, and one layer keeps lavapipe quick. Without a Vulkan driver
//! the test says so and returns.

mod common;

use burn::prelude::*;
use sosrisk::infer::{Architecture, Classifier, Manifest, Network};
use sosrisk::kernels;
use sosrisk::tokenize::PieceTokenizer;

fn one_layer_e5(device: &Device) -> Classifier {
    let dir = common::crate_dir().join("models/e5");
    let mut manifest = Manifest::parse(&std::fs::read(dir.join("config.json")).unwrap()).unwrap();
    let Architecture::Encoder(mut spec) = manifest.architecture.clone() else {
        panic!("models/e5 holds an encoder");
    };
    spec.encoder.layers = 1;
    let tokenizer = PieceTokenizer::from_json(
        &std::fs::read(dir.join("tokenizer.json")).unwrap(),
        &spec.query_prefix,
        spec.max_tokens,
    )
    .unwrap();
    let model = Box::new(spec.encoder.init_classifier(device));
    manifest.architecture = Architecture::Encoder(spec.clone());
    let network = Network::Encoder {
        tokenizer,
        model,
        spec,
    };
    Classifier::from_parts(manifest, network, device)
}

#[test]
fn kernels_are_counted_and_the_warm_up_shapes_compile_nothing_again() {
    if !common::vulkan_driver() {
        eprintln!("skipped: no Vulkan driver (apt-get install mesa-vulkan-drivers)");
        return;
    }
    let device = Device::wgpu(Default::default());
    let clf = one_layer_e5(&device);
    let texts = kernels::texts_of_token_lengths(&clf, &[8, 40, 100, 160]).unwrap();
    assert_eq!(
        texts.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
        [8, 40, 100, 160]
    );

    // The page's own shapes, run again after the warm-up: nothing new to compile.
    let (single, batch) = sosrisk::web::backend::warm_up_shapes();
    let again: Vec<(usize, String)> = single.into_iter().map(|t| (0, t)).collect();
    let repeat = kernels::variants(&clf, || kernels::warm_up(&clf), &again, &[1]).unwrap();
    assert!(repeat.warm_up > 0, "wgpu launches kernels: {repeat:?}");
    assert_eq!(repeat.new_after_warm_up, 0, "{repeat:?}");
    assert_eq!(batch.len(), 32);

    // Other lengths and batch sizes: counted and reported (bounding them is open work).
    let other = kernels::variants(&clf, || kernels::warm_up(&clf), &texts, &[1, 7]).unwrap();
    eprintln!("token lengths 8/40/100/160 × batches 1/7 after the warm-up: {other:?}");
    assert!(other.sweep > 0 && other.new_after_warm_up <= other.sweep);
}
