//! Counting wgpu's kernels (`src/kernels.rs`, reported by `sosrisk bench --backend wgpu`): after
//! the page's warm-up, no token length up to the model's limit and no batch size up to 32
//! compiles a new kernel (inputs are padded to a few shapes, `Classifier::gpu_shape`). Runs the shipped e5's shape (384 wide, 12 heads, its
//! tokenizer and token limit) with one layer of random weights: which kernels run depends on
//! shapes, not on weights or depth, and one layer keeps lavapipe quick. Without a Vulkan driver
//! the test says so and returns.

mod common;

use burn::prelude::*;
use sosrisk::infer::{Architecture, Classifier, Manifest, Network};
use sosrisk::kernels;
use sosrisk::tokenize::PieceTokenizer;

/// Kernels are collected process-wide: the tests here take turns, or each would count the
/// others' launches.
///
/// The sweeps run twice and what counts is a kernel the warm-up missed that both passes launch:
/// a length or batch size that compiles its own kernels does so every time, while a kernel that
/// timing decides (most likely burn's in-place choice) does not (once on CI one such kernel
/// appeared; `KernelCount::new_in_every_pass`).
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// This test's turn on the GPU, or `None` (said) without a Vulkan driver.
fn gpu_turn() -> Option<std::sync::MutexGuard<'static, ()>> {
    if !common::vulkan_driver() {
        eprintln!("skipped: no Vulkan driver (apt-get install mesa-vulkan-drivers)");
        return None;
    }
    Some(ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner()))
}

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
        landmarks: None,
    };
    Classifier::from_parts(manifest, network, device)
}

#[test]
fn after_the_warm_up_no_length_or_batch_size_compiles_a_kernel() {
    let Some(_turn) = gpu_turn() else { return };
    let device = Device::wgpu(Default::default());
    let clf = one_layer_e5(&device);

    // The page's own shapes run again; every ninth token length from the shortest a text can
    // have to the model's limit, one text at a time; and batch sizes that are not powers of
    // two, short to long. Padded to a few buckets, none compiles a kernel the warm-up did not.
    let (single, batch) = sosrisk::web::backend::warm_up_shapes();
    assert_eq!(batch.len(), 32);
    let again: Vec<(usize, String)> = single.into_iter().map(|t| (0, t)).collect();
    let lengths: Vec<usize> = (3..=160).step_by(9).chain([160]).collect();
    let every = kernels::texts_of_token_lengths(&clf, &lengths).unwrap();
    assert!(
        every.len() >= 15,
        "{:?}",
        every.iter().map(|t| t.0).collect::<Vec<_>>()
    );
    let four = kernels::texts_of_token_lengths(&clf, &[8, 40, 100, 160]).unwrap();
    assert_eq!(
        four.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
        [8, 40, 100, 160]
    );
    let count = kernels::variants(
        &clf,
        || kernels::warm_up(&clf),
        &[(&again, &[1]), (&every, &[1]), (&four, &[3, 7, 32])],
        2,
    )
    .unwrap();
    eprintln!("{count:?}");
    assert!(
        count.warm_up > 0 && count.sweep > 0,
        "wgpu launches kernels: {count:?}"
    );
    assert_eq!(count.new_in_every_pass, 0, "{count:?}");
}

/// The n-gram model (the browser tests run it on WebGPU): its inputs are padded the same way, and
/// the same warm-up leaves nothing to compile for any length up to its 512 characters.
#[test]
fn char_ngram_after_the_warm_up_compiles_nothing_new() {
    let Some(_turn) = gpu_turn() else { return };
    let device = Device::wgpu(Default::default());
    let clf = sosrisk::artifact::load(&common::crate_dir().join("models/char-ngram"), &device).unwrap();
    let lengths: Vec<usize> = (1..=512).step_by(23).chain([512]).collect();
    let every = kernels::texts_of_token_lengths(&clf, &lengths).unwrap();
    assert_eq!(every.len(), lengths.len());
    let count = kernels::variants(
        &clf,
        || kernels::warm_up(&clf),
        &[(&every, &[1, 3]), (&every[..4], &[7, 32])],
        2,
    )
    .unwrap();
    eprintln!("{count:?}");
    assert!(count.warm_up > 0 && count.sweep > 0, "{count:?}");
    assert_eq!(count.new_in_every_pass, 0, "{count:?}");
}

/// The shipped e5 on wgpu, with its inputs padded to a GPU's shapes, gives the CPU's
/// probabilities: texts of three lengths in one batch (3 rows padded to 4) and one at a time.
#[test]
fn padded_e5_on_wgpu_equals_the_cpu() {
    let Some(_turn) = gpu_turn() else { return };
    let dir = common::crate_dir().join("models/e5");
    let gpu = sosrisk::artifact::load(&dir, &Device::wgpu(Default::default())).unwrap();
    let cpu = sosrisk::artifact::load(&dir, &Device::flex()).unwrap();
    // Written for this test.
    let texts = [
        "今天好累。",
        "最近晚上总是睡不着，白天上班也没有精神，不知道该跟谁说。",
        &"周末和朋友去爬山，山顶风很大，我们聊了很久最近的工作和生活。".repeat(3),
    ];
    let on_cpu = cpu.predict(&texts).unwrap();
    for got in [gpu.predict(&texts).unwrap(), gpu.predict(&texts[1..2]).unwrap()] {
        let want = if got.len() == 1 {
            &on_cpu[1..2]
        } else {
            &on_cpu[..]
        };
        let diff = sosrisk::web::backend::largest_difference(&got, want);
        assert!(diff <= 1e-4, "largest difference {diff}");
    }
}
