//! Checks against the real SOS-1K files, read at run time from ../shared (never copied into the
//! repository). Each test returns early, saying so, when the data is not there.

mod common;

use std::path::{Path, PathBuf};

use burn::prelude::Device;
use sosrisk::data::read_labelled;

fn data_path() -> Option<PathBuf> {
    let p = common::crate_dir().join("../shared/data/sos1k/sos1k.csv");
    if p.is_file() {
        Some(p)
    } else {
        eprintln!("skipped: {} not present", p.display());
        None
    }
}

#[test]
fn sos1k_has_the_documented_shape() {
    let Some(path) = data_path() else { return };
    let ds = read_labelled(&path).unwrap();
    assert_eq!(ds.posts.len(), 1249);
    assert!(ds.has_binary);
    let test = ds.clone().only_split("test").unwrap();
    assert_eq!(test.posts.len(), 250);
    let (train, val) = ds.fold_split(3);
    assert_eq!((train.len(), val.len()), (799, 200));
    let aug = sosrisk::data::read_augmentation(&path.with_file_name("augmentation.csv")).unwrap();
    assert_eq!(aug.len(), 11434);
    assert!(aug.iter().all(|r| r.source_fold.is_some()));
}

/// Each shipped model's test scores in `metrics.json` are what evaluation gives now.
#[test]
fn shipped_models_reproduce_their_recorded_test_scores() {
    let Some(path) = data_path() else { return };
    let models = common::crate_dir().join("models");
    let mut checked = 0;
    for entry in std::fs::read_dir(&models).unwrap() {
        let dir = entry.unwrap().path();
        if dir.join("config.json").is_file() {
            check_recorded_scores(&path, &dir);
            checked += 1;
        }
    }
    assert!(checked >= 1, "no model directory in {}", models.display());
}

fn check_recorded_scores(path: &Path, model_dir: &Path) {
    let clf = sosrisk::artifact::load(model_dir, &Device::flex()).unwrap();
    let test = read_labelled(path).unwrap().only_split("test").unwrap();
    let examples: Vec<_> = test.posts.iter().map(sosrisk::train::Example::from).collect();
    let (scores, _) = sosrisk::train::evaluate(&clf, &examples).unwrap();
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(model_dir.join("metrics.json")).unwrap()).unwrap();
    let recorded: sosrisk::metrics::Scores = serde_json::from_value(metrics["test"].clone()).unwrap();
    assert_eq!(scores.n, 250);
    for (ours, theirs) in [
        (scores.binary_f1.unwrap(), recorded.binary_f1.unwrap()),
        (scores.level_weighted_f1, recorded.level_weighted_f1),
        (scores.level_accuracy, recorded.level_accuracy),
    ] {
        assert!(
            (ours - theirs).abs() < 1e-9,
            "{}: now {ours}, recorded {theirs}",
            model_dir.display()
        );
    }
}
