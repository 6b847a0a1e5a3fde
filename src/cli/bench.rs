//! `sosrisk bench`: each model on each backend in a process of its own (so that its peak
//! memory is its own), then one table.

use std::path::{Path, PathBuf};
use std::process::{Command as Process, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use sosrisk::bench::{self, memory};
use sosrisk::data;
use sosrisk::finetune::{self, FinetuneConfig};
use sosrisk::infer::Network;
use sosrisk::kernels;
use sosrisk::train::Example;

use super::shared::{Backend, DEFAULT_DATA, read_texts};

/// What `sosrisk bench` measures.
#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// Model directories to measure.
    #[arg(long, default_values = ["models/e5", "models/char-ngram"])]
    pub model: Vec<PathBuf>,
    #[arg(long, value_enum, default_values = ["flex", "wgpu"])]
    pub backend: Vec<Backend>,
    /// Texts per call.
    #[arg(long, default_values_t = [1, 32])]
    pub batch: Vec<usize>,
    /// Labelled CSV whose test split gives the texts.
    #[arg(long, default_value = DEFAULT_DATA)]
    pub data: PathBuf,
    /// Time these texts instead (one per line, or a CSV with a text column).
    #[arg(long)]
    pub file: Option<PathBuf>,
    /// Texts timed for each batch size (the first ones).
    #[arg(long, default_value_t = 250)]
    pub texts: usize,
    /// Also time one training epoch of the encoder over this many training posts.
    #[arg(long, default_value_t = 0)]
    pub train_rows: usize,
    /// Also classify this many texts one at a time and report memory along the way.
    #[arg(long, default_value_t = 0)]
    pub soak: usize,
    /// Write every figure as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Measure in this process (one model, one backend) and print JSON.
    #[arg(long, hide = true)]
    pub single: bool,
    /// With --single: time the training epoch instead of inference.
    #[arg(long, hide = true)]
    pub train_phase: bool,
    /// On wgpu: count the distinct kernels the page's warm-up compiles, then those a sweep of
    /// every eighth token length up to the model's, at each of these batch sizes, compiles on top
    /// (none is the aim: each is a shader compile mid-request). Given with no value: no count.
    #[arg(long, value_delimiter = ',', num_args = 0.., default_values_t = [1, 7, 32])]
    pub kernel_batches: Vec<usize>,
}

/// The texts timed: `--file`, or the dataset's test split in file order (the peers read the
/// same rows the same way).
fn texts(args: &Args) -> Result<Vec<String>> {
    let all: Vec<String> = match &args.file {
        Some(f) => read_texts(f)?.into_iter().map(|(_, t)| t).collect(),
        None => data::read_labelled(&args.data)
            .with_context(|| "the benchmark reads the test split's texts; give --file for others")?
            .only_split("test")?
            .posts
            .into_iter()
            .map(|p| p.text)
            .collect(),
    };
    if all.is_empty() {
        bail!("no texts to time");
    }
    Ok(all.into_iter().take(args.texts).collect())
}

/// The first `n` training posts outside fold 3, in file order, for the training epoch.
fn training_examples(args: &Args, n: usize) -> Result<Vec<Example>> {
    let ds = data::read_labelled(&args.data)?;
    Ok(ds
        .posts
        .iter()
        .filter(|p| p.split.as_deref() == Some("train") && p.fold != Some(3))
        .take(n)
        .map(Example::from)
        .collect())
}

/// One model on one backend, in this process: loading, throughput and memory, and the long run.
fn measure_inference(args: &Args, model: &Path, backend: Backend) -> Result<Value> {
    let texts = texts(args)?;
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let mut phase = Phases::start(model, backend);
    let start = memory();
    let (clf, load) = bench::time_load(model, &backend.device(), 3)?;
    let loaded = memory();
    phase.done("3 loads");
    // Before anything else runs on this classifier: first calls compile.
    let first_calls = bench::first_calls(&clf)?;
    phase.done("first calls");
    let mut throughput = Vec::new();
    for &b in &args.batch {
        throughput.push(bench::time_batches(&clf, &refs, b)?);
        phase.done(&format!("{} texts at batch {b}", refs.len()));
    }
    // The encoder's matmuls alone at these texts' mean length: how far below its time the
    // rest of the work could at best bring it on this backend.
    let matmul_floor: Vec<Value> = match clf.network() {
        Network::Encoder { tokenizer, spec, .. } => {
            let tokens: usize = refs
                .iter()
                .map(|t| tokenizer.encode(t).map(|p| p.ids.len()).unwrap_or(0))
                .sum();
            let mean = tokens.div_ceil(refs.len().max(1));
            let dev = backend.device();
            args.batch
                .iter()
                .map(|&b| json!({ "batch": b, "tokens": mean, "ms_per_text": bench::matmul_floor(&spec.encoder, mean, b, &dev) }))
                .collect()
        }
        _ => Vec::new(),
    };
    phase.done("matmul floor");
    let kernels = match backend {
        Backend::Wgpu if !args.kernel_batches.is_empty() => Some(count_kernels(&clf, &args.kernel_batches)?),
        _ => None,
    };
    phase.done("kernel count");
    let soak = if args.soak > 0 {
        Some(bench::soak(&clf, &refs, args.soak, (args.soak / 10).max(1))?)
    } else {
        None
    };
    phase.done("soak");
    Ok(json!({
        "model": model.display().to_string(),
        "architecture": clf.manifest.architecture.name(),
        "backend": backend.name(),
        "texts": texts.len(),
        "load": load,
        "throughput": throughput,
        "first_calls": first_calls,
        "matmul_floor": matmul_floor,
        "memory": { "start": start, "after_load": loaded, "end": memory() },
        "soak": soak,
        "kernels": kernels,
    }))
}

/// Says on stderr how long each part of a measurement took, as it ends: on a software GPU
/// (lavapipe) one part can take many minutes, and a silent child looks hung.
struct Phases {
    what: String,
    since: Instant,
}

impl Phases {
    fn start(model: &Path, backend: Backend) -> Self {
        Self {
            what: format!("{} on {}", model.display(), backend.name()),
            since: Instant::now(),
        }
    }

    fn done(&mut self, part: &str) {
        eprintln!(
            "  {}: {part} took {:.1} s",
            self.what,
            self.since.elapsed().as_secs_f64()
        );
        self.since = Instant::now();
    }
}

/// The kernels of the page's warm-up and those a sweep of token lengths compiles on top.
fn count_kernels(
    clf: &sosrisk::infer::Classifier,
    batches: &[usize],
) -> Result<Option<kernels::KernelCount>> {
    // Every eighth length up to the model's limit (tokens; characters for the n-gram model):
    // padded, lengths between them run the same shapes (`tests/kernels.rs`), and every length of
    // the encoder at batch 32 takes an hour on lavapipe.
    let max = match clf.network() {
        Network::Encoder { spec, .. } => spec.max_tokens,
        Network::Ngram { cfg, .. } => cfg.max_chars,
    };
    let lengths: Vec<usize> = (1..=max).step_by(8).chain([max]).collect();
    let texts = kernels::texts_of_token_lengths(clf, &lengths)?;
    let count = kernels::variants(clf, || kernels::warm_up(clf), &[(&texts, batches)], 1)?;
    Ok(Some(count))
}

/// One training epoch of an encoder model, in a process of its own: autodiff's memory would
/// otherwise count as inference's peak. `null` for the n-gram model, which trains in seconds.
fn measure_training(args: &Args, model: &Path, backend: Backend) -> Result<Value> {
    let dev = backend.device();
    let clf = sosrisk::artifact::load(model, &dev)?;
    let Network::Encoder {
        tokenizer,
        model: network,
        spec,
        ..
    } = clf.network()
    else {
        return Ok(Value::Null);
    };
    let examples = training_examples(args, args.train_rows)?;
    let cfg = FinetuneConfig {
        max_tokens: spec.max_tokens,
        ..FinetuneConfig::default()
    };
    let epoch = finetune::time_epoch(network, &spec.encoder, tokenizer, &examples, &cfg, &dev)?;
    Ok(json!({ "epoch": epoch, "memory": memory() }))
}

pub fn run(args: Args) -> Result<()> {
    let args = &args;
    if args.single {
        let [model] = args.model.as_slice() else {
            bail!("--single measures one --model");
        };
        let [backend] = args.backend.as_slice() else {
            bail!("--single measures one --backend");
        };
        let result = if args.train_phase {
            measure_training(args, model, *backend)?
        } else {
            measure_inference(args, model, *backend)?
        };
        println!("{}", serde_json::to_string(&result)?);
        return Ok(());
    }
    let exe = std::env::current_exe().context("finding this program to run each measurement")?;
    let mut runs = Vec::new();
    for model in &args.model {
        for &backend in &args.backend {
            eprintln!("measuring {} on {} …", model.display(), backend.name());
            let mut run = child(&exe, args, model, backend, false)?;
            // Training is timed on the CPU only: the peer it is compared with is PyTorch's CPU.
            if args.train_rows > 0 && matches!(backend, Backend::Flex) {
                eprintln!("timing a training epoch of {} …", model.display());
                run["train_epoch"] = child(&exe, args, model, backend, true)?;
            }
            runs.push(run);
        }
    }
    print_table(&runs);
    if let Some(path) = &args.json {
        let report = json!({ "runs": runs });
        std::fs::write(path, serde_json::to_vec_pretty(&report)?)
            .with_context(|| format!("{}: cannot write", path.display()))?;
    }
    Ok(())
}

/// Runs one measurement in a child process and reads its JSON.
fn child(exe: &Path, args: &Args, model: &Path, backend: Backend, train: bool) -> Result<Value> {
    let mut cmd = Process::new(exe);
    cmd.arg("bench").arg("--single");
    if train {
        cmd.arg("--train-phase");
    }
    cmd.args(["--model", &model.display().to_string()]);
    cmd.args(["--backend", backend.name()]);
    cmd.args(["--data", &args.data.display().to_string()]);
    if let Some(f) = &args.file {
        cmd.args(["--file", &f.display().to_string()]);
    }
    for b in &args.batch {
        cmd.args(["--batch", &b.to_string()]);
    }
    cmd.args(["--texts", &args.texts.to_string()]);
    cmd.args(["--train-rows", &args.train_rows.to_string()]);
    cmd.args(["--soak", &args.soak.to_string()]);
    cmd.arg("--kernel-batches");
    if !args.kernel_batches.is_empty() {
        let batches: Vec<String> = args.kernel_batches.iter().map(usize::to_string).collect();
        cmd.arg(batches.join(","));
    }
    // The child's progress lines reach the user as they come; only its JSON is read.
    let out = cmd
        .stderr(Stdio::inherit())
        .output()
        .context("running a measurement")?;
    if !out.status.success() {
        bail!(
            "measuring {} on {} failed ({}); its messages are above",
            model.display(),
            backend.name(),
            out.status
        );
    }
    serde_json::from_slice(&out.stdout).context("reading a measurement")
}

fn print_table(runs: &[Value]) {
    println!(
        "| model | backend | load (s) | batch | ms/text | matmuls alone (ms/text) | texts/s | peak memory (MiB) |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for r in runs {
        for (k, t) in r["throughput"].as_array().into_iter().flatten().enumerate() {
            let floor = r["matmul_floor"][k]["ms_per_text"]
                .as_f64()
                .map_or("–".into(), |ms| format!("{ms:.2}"));
            println!(
                "| {} | {} | {:.2} | {} | {:.2} | {floor} | {:.1} | {:.0} |",
                r["architecture"].as_str().unwrap_or("?"),
                r["backend"].as_str().unwrap_or("?"),
                r["load"]["median_seconds"].as_f64().unwrap_or(f64::NAN),
                t["batch"],
                t["ms_per_text"].as_f64().unwrap_or(f64::NAN),
                t["texts_per_second"].as_f64().unwrap_or(f64::NAN),
                r["memory"]["end"]["peak_mib"].as_f64().unwrap_or(f64::NAN),
            );
        }
        if let Some(e) = r["train_epoch"]["epoch"].as_object() {
            println!(
                "training epoch ({} on {}): {} rows, {} steps, {:.1} s",
                r["architecture"].as_str().unwrap_or("?"),
                r["backend"].as_str().unwrap_or("?"),
                e["rows"],
                e["steps"],
                e["seconds"].as_f64().unwrap_or(f64::NAN)
            );
        }
        if let Some(k) = r["kernels"].as_object() {
            let lengths = k["token_lengths"].as_array().map_or(0, Vec::len);
            println!(
                "kernels ({} on {}): {} compiled by the warm-up; a sweep of {lengths} token lengths × batches {} launched {}, of which {} new",
                r["architecture"].as_str().unwrap_or("?"),
                r["backend"].as_str().unwrap_or("?"),
                k["warm_up"],
                k["batch_sizes"],
                k["sweep"],
                k["new_after_warm_up"],
            );
        }
        if let Some(calls) = r["first_calls"].as_array() {
            let each: Vec<String> = calls
                .iter()
                .map(|c| {
                    format!(
                        "{} {:.0} → {:.0} ms",
                        c["shape"].as_str().unwrap_or("?"),
                        c["first_ms"].as_f64().unwrap_or(f64::NAN),
                        c["warm_ms"].as_f64().unwrap_or(f64::NAN)
                    )
                })
                .collect();
            println!(
                "first call → warm ({} on {}): {}",
                r["architecture"].as_str().unwrap_or("?"),
                r["backend"].as_str().unwrap_or("?"),
                each.join("; ")
            );
        }
        if let Some(points) = r["soak"].as_array() {
            let rss = |p: Option<&Value>| {
                p.and_then(|p| p["memory"]["rss_mib"].as_f64())
                    .unwrap_or(f64::NAN)
            };
            println!(
                "soak ({} on {}): {} classifications, resident memory {:.1} → {:.1} MiB",
                r["architecture"].as_str().unwrap_or("?"),
                r["backend"].as_str().unwrap_or("?"),
                points.last().map(|p| p["done"].clone()).unwrap_or_default(),
                rss(points.first()),
                rss(points.last()),
            );
        }
    }
}
