//! The command-line tool end to end on synthetic data: train → eval → predict, and a clear
//! error with a non-zero exit for each kind of bad input.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

fn sosrisk(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sosrisk"))
        .args(args)
        .output()
        .expect("run sosrisk")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs a command that must succeed and print one JSON value (`--json`), and parses it.
fn json(args: &[&str]) -> serde_json::Value {
    let o = sosrisk(args);
    assert!(o.status.success(), "{}", stderr(&o));
    serde_json::from_str(&stdout(&o)).unwrap()
}

/// A small model trained once for all tests in this file.
fn fixture() -> &'static (tempfile::TempDir, PathBuf, PathBuf) {
    static FIXTURE: OnceLock<(tempfile::TempDir, PathBuf, PathBuf)> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("synthetic.csv");
        common::write_csv(&data, 300, 11);
        let model = dir.path().join("model");
        let o = sosrisk(&[
            "train",
            "--data",
            data.to_str().unwrap(),
            "--out",
            model.to_str().unwrap(),
            "--epochs",
            "15",
            "--optimizer",
            "adamw",
            "--lr",
            "0.01",
            "--d-model",
            "16",
            "--d-hidden",
            "16",
            "--quiet",
        ]);
        assert!(o.status.success(), "train failed: {}", stderr(&o));
        (dir, data, model)
    })
}

fn fails_with(args: &[&str], needles: &[&str]) {
    let o = sosrisk(args);
    assert!(!o.status.success(), "{args:?} should fail");
    let err = stderr(&o);
    for needle in needles {
        assert!(
            err.contains(needle),
            "{args:?}: error {err:?} should mention {needle:?}"
        );
    }
    // A cause is said once, not again by the error chain.
    assert_eq!(
        err.matches(needles[0]).count(),
        1,
        "{args:?}: error {err:?} repeats itself"
    );
}

#[test]
fn train_writes_a_complete_model_directory() {
    let (_, _, model) = fixture();
    for file in [
        "weights.bpk",
        "tokenizer.json",
        "config.json",
        "metrics.json",
        "MODEL_CARD.md",
    ] {
        assert!(model.join(file).is_file(), "missing {file}");
    }
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(model.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["format"], "sosrisk-model/1");
    assert_eq!(config["training"]["data"]["val_folds"], serde_json::json!([3]));
    assert_eq!(config["training"]["data"]["sha256"].as_str().unwrap().len(), 64);
    assert_eq!(config["files"]["weights.bpk"].as_str().unwrap().len(), 64);
}

#[test]
fn eval_json_has_the_documented_keys_and_learns_the_synthetic_task() {
    let (_, data, model) = fixture();
    let report = json(&[
        "eval",
        "--model",
        model.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--split",
        "test",
        "--json",
    ]);
    for key in [
        "n",
        "binary_f1",
        "binary_accuracy",
        "level_weighted_f1",
        "level_macro_f1",
        "level_accuracy",
        "level_within1_accuracy",
        "level_mae",
    ] {
        assert!(report.get(key).is_some(), "missing key {key}");
    }
    assert_eq!(report["n"], 60);
    // Binary is a clean function of the phrase pools here, so a trained model must get it.
    assert!(
        report["binary_f1"].as_f64().unwrap() > 0.8,
        "binary F1 {}",
        report["binary_f1"]
    );
}

#[test]
fn eval_of_a_model_averaged_with_itself_scores_as_the_model() {
    let (_, data, model) = fixture();
    let (m, d) = (model.to_str().unwrap(), data.to_str().unwrap());
    let eval = |models: &[&str]| {
        let mut args = vec!["eval", "--data", d, "--json"];
        for m in models {
            args.extend(["--model", m]);
        }
        let o = sosrisk(&args);
        assert!(o.status.success(), "{}", stderr(&o));
        let report: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
        (report, stderr(&o))
    };
    let (one, _) = eval(&[m]);
    let (two, members) = eval(&[m, m]);
    for key in [
        "n",
        "binary_f1",
        "level_weighted_f1",
        "level_macro_f1",
        "level_mae",
    ] {
        assert_eq!(one[key], two[key], "{key}");
    }
    // Each member's own score is printed, once per --model.
    assert_eq!(members.matches("level weighted F1").count(), 2, "{members}");
}

#[test]
fn eval_without_binary_column_reports_null_binary_scores_and_writes_a_report() {
    let (dir, _, model) = fixture();
    let data = dir.path().join("levels_only.csv");
    std::fs::write(&data, "id,text,level\n1,今天上班好累,1\n2,已经准备好药了,9\n").unwrap();
    let report_dir = dir.path().join("report");
    let report = json(&[
        "eval",
        "--model",
        model.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--json",
        "--report",
        report_dir.to_str().unwrap(),
    ]);
    assert!(report["binary_f1"].is_null() && report["binary_accuracy"].is_null());
    for file in ["report.md", "report.json", "confusion.svg", "per_class_f1.svg"] {
        assert!(report_dir.join(file).is_file(), "missing {file}");
    }
    assert!(
        std::fs::read_to_string(report_dir.join("confusion.svg"))
            .unwrap()
            .starts_with("<svg")
    );
}

#[test]
fn predict_text_file_and_stdin_agree() {
    let (dir, _, model) = fixture();
    let m = model.to_str().unwrap();
    let one = sosrisk(&["predict", "--model", m, "--json", "决定下周就走"]);
    assert!(one.status.success(), "{}", stderr(&one));
    let pred: serde_json::Value = serde_json::from_str(stdout(&one).trim()).unwrap();
    let probs = pred["level_probs"].as_array().unwrap();
    assert_eq!(probs.len(), 11);
    let sum: f64 = probs.iter().map(|p| p.as_f64().unwrap()).sum();
    assert!((sum - 1.0).abs() < 1e-4);

    let file = dir.path().join("texts.txt");
    std::fs::write(&file, "今天上班好累\n\n决定下周就走\n").unwrap();
    let many = sosrisk(&[
        "predict",
        "--model",
        m,
        "--json",
        "--file",
        file.to_str().unwrap(),
    ]);
    let lines: Vec<String> = stdout(&many).lines().map(str::to_string).collect();
    assert_eq!(lines.len(), 2, "blank lines are not texts");
    assert_eq!(lines[1], stdout(&one).trim());

    let mut child = Command::new(env!("CARGO_BIN_EXE_sosrisk"))
        .args(["predict", "--model", m, "--json"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all("决定下周就走\n".as_bytes())
        .unwrap();
    let piped = child.wait_with_output().unwrap();
    assert_eq!(stdout(&piped).trim(), stdout(&one).trim());

    let human = sosrisk(&["predict", "--model", m, "决定下周就走"]);
    assert!(stdout(&human).contains("not a diagnosis"));

    // --explain: one weight per character, spaces included (they get 0: leaving one out says
    // nothing), and the same prediction as without it.
    let text = "决定 下周就走 ok";
    let explained = sosrisk(&["predict", "--model", m, "--json", "--explain", text]);
    assert!(explained.status.success(), "{}", stderr(&explained));
    let e: serde_json::Value = serde_json::from_str(stdout(&explained).trim()).unwrap();
    let weights = e["attribution"].as_array().unwrap();
    assert_eq!(weights.len(), text.chars().count());
    assert_eq!(weights[2], 0.0);
    assert!(weights.iter().any(|w| w.as_f64().unwrap() != 0.0));
    let plain = sosrisk(&["predict", "--model", m, "--json", text]);
    let p: serde_json::Value = serde_json::from_str(stdout(&plain).trim()).unwrap();
    assert_eq!(p["level_probs"], e["level_probs"]);
    assert!(p.get("attribution").is_none());
    let human = sosrisk(&["predict", "--model", m, "--explain", text]);
    assert!(
        stdout(&human).contains("raised P(high) most"),
        "{}",
        stdout(&human)
    );
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p.to_str().unwrap().to_string()
}

#[test]
fn bad_data_files_name_the_file_and_line() {
    let (dir, _, model) = fixture();
    let d = dir.path();
    let m = model.to_str().unwrap();
    let eval = |data: &str| {
        vec!["eval", "--model", m, "--data", data]
            .into_iter()
            .map(String::from)
            .collect::<Vec<_>>()
    };
    let run = |args: Vec<String>, needles: &[&str]| {
        fails_with(&args.iter().map(String::as_str).collect::<Vec<_>>(), needles)
    };

    run(
        eval("/nonexistent/data.csv"),
        &["/nonexistent/data.csv", "cannot read"],
    );
    let f = write(d, "nolevel.csv", "id,text\n1,好累\n".as_bytes());
    run(eval(&f), &["nolevel.csv", "missing column \"level\""]);
    let f = write(
        d,
        "badlevel.csv",
        "id,text,level\n1,好累,3\n2,好累,11\n".as_bytes(),
    );
    run(eval(&f), &["badlevel.csv", "line 3", "level", "0 to 10"]);
    let f = write(d, "empty.csv", "id,text,level\n1,  ,3\n".as_bytes());
    run(eval(&f), &["empty.csv", "line 2", "empty"]);
    let f = write(d, "latin1.csv", b"id,text,level\n1,caf\xe9,3\n");
    run(eval(&f), &["latin1.csv", "line 2", "UTF-8"]);
    let f = write(
        d,
        "quoting.csv",
        "id,text,level\n1,\"好累,3\n2,好,4,extra\n".as_bytes(),
    );
    run(eval(&f), &["quoting.csv", "CSV"]);
    let f = write(d, "binary.csv", "id,text,level,binary\n1,好累,3,2\n".as_bytes());
    run(eval(&f), &["binary.csv", "line 2", "binary", "0 to 1"]);
    // CRLF line ends, and a quoted text over two lines: the line named is where the row starts.
    let f = write(
        d,
        "crlf.csv",
        "id,text,level\r\n1,好累,3\r\n2,\"好累\r\n真的\",4\r\n3,好累,12\r\n".as_bytes(),
    );
    run(eval(&f), &["crlf.csv", "line 5", "level", "0 to 10"]);
}

#[test]
fn bom_and_crlf_files_are_read() {
    let (dir, _, model) = fixture();
    let f = write(
        dir.path(),
        "bom.csv",
        "\u{feff}id,text,level\r\n1,今天上班好累,1\r\n2,已经准备好药了,9\r\n".as_bytes(),
    );
    let report = json(&["eval", "--model", model.to_str().unwrap(), "--data", &f, "--json"]);
    assert_eq!(report["n"], 2);
}

#[test]
fn bad_models_and_texts_are_refused_clearly() {
    let (dir, _, model) = fixture();
    let d = dir.path();
    fails_with(
        &["predict", "--model", "/nonexistent/model", "好累"],
        &["/nonexistent/model", "not a model directory"],
    );
    fails_with(
        &["predict", "--model", model.to_str().unwrap(), "  \n "],
        &["empty text"],
    );

    // A model directory whose weights were changed after training.
    let tampered = d.join("tampered");
    std::fs::create_dir_all(&tampered).unwrap();
    for f in ["config.json", "tokenizer.json", "weights.bpk"] {
        std::fs::copy(model.join(f), tampered.join(f)).unwrap();
    }
    let mut w = std::fs::read(tampered.join("weights.bpk")).unwrap();
    let mid = w.len() / 2;
    w[mid] ^= 0xff;
    std::fs::write(tampered.join("weights.bpk"), &w).unwrap();
    fails_with(
        &["predict", "--model", tampered.to_str().unwrap(), "好累"],
        &["weights.bpk", "SHA-256"],
    );

    // Truncated weights with a matching hash: refused as weights, not a panic.
    let truncated = d.join("truncated");
    std::fs::create_dir_all(&truncated).unwrap();
    std::fs::copy(model.join("tokenizer.json"), truncated.join("tokenizer.json")).unwrap();
    let w = std::fs::read(model.join("weights.bpk")).unwrap();
    let cut = &w[..w.len() / 3];
    std::fs::write(truncated.join("weights.bpk"), cut).unwrap();
    let mut config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(model.join("config.json")).unwrap()).unwrap();
    config["files"]["weights.bpk"] = sosrisk::infer::sha256_hex(cut).into();
    std::fs::write(truncated.join("config.json"), config.to_string()).unwrap();
    fails_with(
        &["predict", "--model", truncated.to_str().unwrap(), "好累"],
        &["weights.bpk"],
    );

    // A config that does not match the weights' shapes.
    let mismatched = d.join("mismatched");
    std::fs::create_dir_all(&mismatched).unwrap();
    for f in ["tokenizer.json", "weights.bpk"] {
        std::fs::copy(model.join(f), mismatched.join(f)).unwrap();
    }
    let mut config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(model.join("config.json")).unwrap()).unwrap();
    config["model"]["d_model"] = 32.into();
    std::fs::write(mismatched.join("config.json"), config.to_string()).unwrap();
    fails_with(
        &["predict", "--model", mismatched.to_str().unwrap(), "好累"],
        &["weights.bpk", "config.json"],
    );
}

#[test]
fn cv_refuses_a_missing_encoder_before_it_starts() {
    let (dir, data, _) = fixture();
    let runs = dir.path().join("cv-runs");
    let o = sosrisk(&[
        "cv",
        "--encoder",
        "/nonexistent/encoder",
        "--data",
        data.to_str().unwrap(),
        "--runs",
        runs.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(err.contains("/nonexistent/encoder"), "{err}");
    assert!(!err.contains("training"), "no fold may start: {err}");
    assert!(!runs.exists(), "nothing written for a run that cannot start");
}

/// `sosrisk novelty` on a copy of the shipped encoder, with synthetic texts: landmarks appended,
/// every answer the same as before plus the note, and a second fit refused.
#[test]
fn novelty_adds_landmarks_that_change_no_answer() {
    let (dir, data, _) = fixture();
    let model = dir.path().join("e5-landmarks");
    std::fs::create_dir_all(&model).unwrap();
    for f in ["config.json", "tokenizer.json", "weights.q8"] {
        std::fs::copy(common::crate_dir().join("models/e5").join(f), model.join(f)).unwrap();
    }
    // GPT-4-like rows of the augmentation pool, synthetic: fold 3's are left out.
    let augmentation = dir.path().join("augmentation.csv");
    let mut rows = String::from("source_id,method,text,level,binary,source_fold\n");
    for (i, (_, text, level, _)) in common::synthetic_rows(40, 5).into_iter().enumerate() {
        rows += &format!(",llm_generation_gpt4,{text},{level},,{}\n", i % 5);
    }
    std::fs::write(&augmentation, rows).unwrap();
    let args = [
        "novelty",
        "--model",
        model.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--everyday",
        data.to_str().unwrap(),
        "--augmentation",
        augmentation.to_str().unwrap(),
        "--landmarks",
        "8",
        "--val-fold",
        "3",
    ];
    let o = sosrisk(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("fold 3's 60 posts unfamiliar"),
        "{}",
        stdout(&o)
    );
    assert!(
        stderr(&o).contains("(180 posts, 0 ordinary, 32 GPT-4 posts)"),
        "{}",
        stderr(&o)
    );
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(model.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["model"]["novelty"]["landmarks"], 8);
    assert_eq!(config["model"]["novelty"]["depth"], 4);
    // Synthetic texts, written for this test.
    let texts = dir.path().join("novelty-texts.txt");
    std::fs::write(&texts, "今天的奶茶很好喝\n我不想活了，药已经买好了\n").unwrap();
    let predict = |m: &Path| -> Vec<serde_json::Value> {
        let (m, f) = (m.to_str().unwrap(), texts.to_str().unwrap());
        let o = sosrisk(&["predict", "--model", m, "--file", f, "--json"]);
        assert!(o.status.success(), "{}", stderr(&o));
        stdout(&o)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let before = predict(&common::crate_dir().join("models/e5"));
    let after = predict(&model);
    assert_eq!((before.len(), after.len()), (2, 2));
    for (b, a) in before.iter().zip(&after) {
        for key in ["level_probs", "high_risk_prob", "call", "reason"] {
            assert_eq!(a[key], b[key], "{key}");
        }
        assert!(b.get("novelty").is_none());
        let distance = a["novelty"]["distance"].as_f64().unwrap();
        assert!((0.0..=2.0).contains(&distance), "{distance}");
    }
    fails_with(&args, &["landmarks already"]);
}

#[test]
fn every_command_has_help() {
    for cmd in [
        "train", "eval", "cv", "predict", "finetune", "import", "bench", "export", "novelty",
    ] {
        let o = sosrisk(&[cmd, "--help"]);
        assert!(o.status.success());
        assert!(stdout(&o).contains("Usage"), "{cmd} --help");
    }
}

/// `sosrisk bench` on the shipped light model: figures for both batch sizes, and 10,000
/// classifications in one process with resident memory flat and every result unchanged
/// (`bench::soak` fails the run if a text's prediction changes).
/// Runs `sosrisk bench` on the shipped light model over `n` synthetic texts with `args` after
/// the model, the texts and the report's path: the process's output and its JSON report.
fn bench_char_ngram(n: usize, args: &[&str]) -> (std::process::Output, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    let texts = dir.path().join("texts.txt");
    let lines: Vec<String> = common::synthetic_rows(n, 5).into_iter().map(|r| r.1).collect();
    std::fs::write(&texts, lines.join("\n")).unwrap();
    let json = dir.path().join("bench.json");
    let model = common::crate_dir().join("models/char-ngram");
    let mut all = vec![
        "bench",
        "--model",
        model.to_str().unwrap(),
        "--file",
        texts.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
    ];
    all.extend(args);
    let o = sosrisk(&all);
    assert!(o.status.success(), "bench failed: {}", stderr(&o));
    let report = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    (o, report)
}

#[test]
fn bench_reports_speed_and_a_flat_ten_thousand_text_soak() {
    let (o, report) = bench_char_ngram(64, &["--backend", "flex", "--soak", "10000"]);
    assert!(stdout(&o).contains("| char-ngram | flex |"), "{}", stdout(&o));
    let run = &report["runs"][0];
    let batches: Vec<u64> = run["throughput"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            assert_eq!(t["texts"], 64);
            assert!(t["ms_per_text"].as_f64().unwrap() > 0.0);
            t["batch"].as_u64().unwrap()
        })
        .collect();
    assert_eq!(batches, [1, 32]);
    assert!(run["load"]["median_seconds"].as_f64().unwrap() > 0.0);
    let soak = run["soak"].as_array().unwrap();
    assert_eq!(soak.last().unwrap()["done"], 10000);
    let rss = |p: &serde_json::Value| p["memory"]["rss_mib"].as_f64().unwrap();
    // After the first 1,000 (allocator pools warm), memory may not grow by more than 16 MiB.
    let (warm, end) = (rss(&soak[1]), rss(soak.last().unwrap()));
    assert!(
        end <= warm + 16.0,
        "resident memory grew from {warm:.1} to {end:.1} MiB"
    );
}

/// `sosrisk bench --kernel-batches` reaches the process that measures (each model and backend
/// runs in a child of its own): the sweep runs at the batch sizes asked for, and given with no
/// value there is no count. Each part's time is said on stderr as it ends.
#[test]
fn bench_counts_kernels_at_the_batch_sizes_asked_for() {
    if !common::vulkan_driver() {
        eprintln!("skipped: no Vulkan driver (apt-get install mesa-vulkan-drivers)");
        return;
    }
    let measure = |kernel_batches: &[&str]| {
        let mut args = vec!["--backend", "wgpu", "--batch", "1", "--kernel-batches"];
        args.extend(kernel_batches);
        let (o, report) = bench_char_ngram(4, &args);
        assert!(stderr(&o).contains("first calls took"), "{}", stderr(&o));
        report["runs"][0]["kernels"].clone()
    };
    let counted = measure(&["1"]);
    assert_eq!(counted["batch_sizes"], serde_json::json!([1]), "{counted}");
    assert!(counted["warm_up"].as_u64().unwrap() > 0, "{counted}");
    assert_eq!(measure(&[]), serde_json::Value::Null);
}

/// `sosrisk export` writes SafeTensors with PyTorch's names and layout (linear weights
/// `[out, in]`), which the peer benchmarks load into PyTorch.
#[test]
fn export_writes_pytorch_layout_safetensors() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("e5.safetensors");
    let model = common::crate_dir().join("models/e5");
    let o = sosrisk(&[
        "export",
        "--model",
        model.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "export failed: {}", stderr(&o));
    let bytes = std::fs::read(&out).unwrap();
    let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + header_len]).unwrap();
    let shape = |name: &str| {
        assert_eq!(header[name]["dtype"], "F32", "{name}");
        header[name]["shape"].clone()
    };
    assert_eq!(
        shape("encoder.layers.0.intermediate.weight"),
        serde_json::json!([1536, 384])
    );
    assert_eq!(
        shape("encoder.layers.11.output.weight"),
        serde_json::json!([384, 1536])
    );
    assert_eq!(
        shape("encoder.embeddings_layer_norm.weight"),
        serde_json::json!([384])
    );
    assert_eq!(shape("level_head.weight"), serde_json::json!([11, 384]));
    assert_eq!(shape("binary_head.bias"), serde_json::json!([2]));
}

/// A screening set (no levels, `group` and `risk` columns) gets per-group rates; a labelled
/// file with a `source` column gets its usual scores and the rates per source.
#[test]
fn eval_reports_screening_rates_per_group() {
    let (dir, _, model) = fixture();
    let set = dir.path().join("screening.csv");
    // Synthetic texts written for this test; the second contains a phrase of the safety net.
    std::fs::write(
        &set,
        "id,group,risk,text\na-1,plain,flag,我已经写好遗书了\na-2,plain,flag,今天不想说话\nb-1,food,none,新开的面馆很好吃\n",
    )
    .unwrap();
    let v = json(&[
        "eval",
        "--model",
        model.to_str().unwrap(),
        "--data",
        set.to_str().unwrap(),
        "--json",
    ]);
    let groups = v["screening"].as_array().unwrap();
    let names: Vec<&str> = groups.iter().map(|g| g["group"].as_str().unwrap()).collect();
    assert_eq!(names, ["plain", "food", "all"]);
    assert_eq!(groups[0]["n"], 2);
    assert_eq!(groups[0]["expect"], "flag");
    assert_eq!(groups[1]["expect"], "none");
    // The safety net flags the farewell note whatever the tiny model says.
    assert!(groups[0]["flagged"].as_f64().unwrap() >= 0.5);

    let pool = dir.path().join("pool.csv");
    std::fs::write(
        &pool,
        "id,text,level,binary,source,split\nr-1,这个杯子质量不错,0,0,review,test\nn-1,今天全市气温回升,0,0,news,test\nn-2,明天有雨,0,0,news,train\n",
    )
    .unwrap();
    let v = json(&[
        "eval",
        "--model",
        model.to_str().unwrap(),
        "--data",
        pool.to_str().unwrap(),
        "--split",
        "test",
        "--json",
    ]);
    assert_eq!(v["scores"]["n"].as_u64().or(v["n"].as_u64()), Some(2), "{v}");
    let groups = v["screening"].as_array().unwrap();
    assert_eq!(groups[0]["group"], "review");
    assert_eq!(groups[0]["expect"], "none");
    assert_eq!(groups[1]["n"], 1);
}

/// `--fold` keeps one cross-validation fold; `--thresholds` recounts the calls at each
/// threshold, the model's own among them, and refuses what is not a probability.
#[test]
fn eval_reports_operating_points_on_a_fold() {
    let (_, data, model) = fixture();
    let (m, d) = (model.to_str().unwrap(), data.to_str().unwrap());
    let v = json(&[
        "eval",
        "--model",
        m,
        "--data",
        d,
        "--fold",
        "2",
        "--thresholds",
        "0.9,0,0.5",
        "--json",
    ]);
    // 300 synthetic rows: every fifth is test, the rest spread over folds 0–3 by id.
    assert_eq!(v["scores"]["n"].as_u64().or(v["n"].as_u64()), Some(60), "{v}");
    let points = v["operating_points"].as_array().unwrap();
    let thresholds: Vec<f64> = points.iter().map(|p| p["threshold"].as_f64().unwrap()).collect();
    assert!(thresholds.windows(2).all(|w| w[0] < w[1]), "{thresholds:?}");
    assert!(thresholds.len() >= 3 && thresholds[0] == 0.0, "{thresholds:?}");
    let own = serde_json::from_str::<serde_json::Value>(
        &std::fs::read_to_string(model.join("config.json")).unwrap(),
    )
    .unwrap()["binary_threshold"]
        .as_f64()
        .unwrap();
    assert!(
        thresholds.iter().any(|t| (t - own).abs() < 1e-6),
        "{own} not in {thresholds:?}"
    );
    // At 0 every high-risk post is called high; fewer are as the threshold rises.
    assert_eq!(points[0]["high_called"], 1.0);
    let called: Vec<f64> = points
        .iter()
        .map(|p| p["high_called"].as_f64().unwrap())
        .collect();
    assert!(called.windows(2).all(|w| w[0] >= w[1]), "{called:?}");
    fails_with(
        &["eval", "--model", m, "--data", d, "--thresholds", "1.5"],
        &["--thresholds: 1.5", "between 0 and 1"],
    );
    fails_with(
        &["eval", "--model", m, "--data", d, "--fold", "7"],
        &["no rows with fold = 7"],
    );
}

/// The files counselors have: a workbook with the text in a column of another name, a CSV
/// saved by Excel on Chinese Windows (GB18030), Excel's "Unicode text" (UTF-16, tabs).
#[test]
fn predict_and_eval_read_workbooks_and_excel_encodings() {
    let (dir, data, model) = fixture();
    let model = model.to_str().unwrap();
    // Synthetic posts, written for this test.
    let book = dir.path().join("posts.xlsx");
    common::write_xlsx(
        &book,
        &[
            ("说明", vec![vec!["这一页没有帖子"]]),
            (
                "帖子",
                vec![
                    vec!["用户", "body"],
                    vec!["u1", "今天加班好累"],
                    vec!["u2", "周末去爬山了"],
                ],
            ),
        ],
    );
    let book = book.to_str().unwrap();
    let o = sosrisk(&[
        "predict", "--model", model, "--file", book, "--sheet", "帖子", "--column", "body", "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).lines().count(), 2);
    fails_with(
        &["predict", "--model", model, "--file", book, "--sheet", "帖子"],
        &["no column named \"text\"", "用户, body"],
    );
    // Without --sheet: the first sheet with rows (the notes page is skipped).
    let o = sosrisk(&[
        "predict", "--model", model, "--file", book, "--column", "body", "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).lines().count(), 2);
    fails_with(
        &["predict", "--model", model, "--file", book, "--sheet", "第三页"],
        &["no sheet named \"第三页\"", "说明, 帖子"],
    );

    // The same labelled data in UTF-8 and in GB18030 scores the same.
    let utf8 = std::fs::read_to_string(data).unwrap();
    let (gbk, _, bad) = encoding_rs::GB18030.encode(&utf8);
    assert!(!bad);
    let gbk_path = dir.path().join("gbk.csv");
    std::fs::write(&gbk_path, &gbk).unwrap();
    let scores = |path: &str| {
        let v = json(&["eval", "--model", model, "--data", path, "--json"]);
        (v["binary_f1"].clone(), v["level_weighted_f1"].clone())
    };
    assert_eq!(scores(data.to_str().unwrap()), scores(gbk_path.to_str().unwrap()));

    // Excel's "Unicode text": UTF-16 with a BOM, tab-separated, saved as .txt.
    let table = "编号\ttext\n1\t今天下雨了\n2\t晚饭吃了面条\n";
    let mut bytes = vec![0xff, 0xfe];
    bytes.extend(table.encode_utf16().flat_map(u16::to_le_bytes));
    let txt = dir.path().join("unicode.txt");
    std::fs::write(&txt, bytes).unwrap();
    let o = sosrisk(&[
        "predict",
        "--model",
        model,
        "--file",
        txt.to_str().unwrap(),
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).lines().count(), 2);
    fails_with(
        &["predict", "--model", model, "--file", "/dev/null/none.csv"],
        &["cannot read"],
    );
}
