//! The shipped model gives the same probabilities on burn's wgpu backend (Vulkan; lavapipe on a
//! machine without a GPU) as on the CPU backend. `scripts/test.sh` installs lavapipe; without any
//! Vulkan driver the test says so and returns.

mod common;

use std::process::Command;

const TEXTS: [&str; 3] = [
    "今天上班好累，什么都不想做",
    "觉得活着没有意义",
    "我已经写好了遗书",
];

fn predict(backend: &str) -> Vec<serde_json::Value> {
    let model = common::crate_dir().join("models/char-ngram");
    let mut args = vec![
        "predict",
        "--json",
        "--model",
        model.to_str().unwrap(),
        "--backend",
        backend,
    ];
    let input = TEXTS.join("\n");
    args.push("--file");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("texts.txt");
    std::fs::write(&file, input).unwrap();
    args.push(file.to_str().unwrap());
    let out = Command::new(env!("CARGO_BIN_EXE_sosrisk"))
        .args(&args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{backend}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn probs(p: &serde_json::Value) -> Vec<f64> {
    let mut v: Vec<f64> = p["level_probs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    v.push(p["high_risk_prob"].as_f64().unwrap());
    v
}

#[test]
fn wgpu_and_flex_agree_within_1e_4() {
    if !common::vulkan_driver() {
        eprintln!("skipped: no Vulkan driver (apt-get install mesa-vulkan-drivers)");
        return;
    }
    let (flex, wgpu) = (predict("flex"), predict("wgpu"));
    assert_eq!(flex.len(), TEXTS.len());
    assert_eq!(wgpu.len(), TEXTS.len());
    for (a, b) in flex.iter().zip(&wgpu) {
        for (x, y) in probs(a).iter().zip(probs(b)) {
            assert!((x - y).abs() < 1e-4, "flex {x} vs wgpu {y}");
        }
        assert_eq!(a["level"], b["level"]);
        assert_eq!(a["high_risk"], b["high_risk"]);
    }
}
