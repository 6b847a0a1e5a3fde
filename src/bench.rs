//! Speed and memory of a loaded model, natively: what `sosrisk bench` reports and what the peer
//! harness under `bench/` compares with onnxruntime and PyTorch on the same texts.
//!
//! Times are wall-clock on whatever else the machine is doing, so a report keeps every run's
//! raw figures next to its summary; compare ratios taken in one run, not absolute times.

use std::path::Path;
use std::time::Instant;

use serde::Serialize;

use crate::artifact::{self, ArtifactError};
use crate::infer::{Classifier, Prediction};
use crate::model::bert::BertConfig;
use burn::prelude::*;
use burn::tensor::Distribution;

use crate::{Error, TextError};

/// Resident and peak resident memory of this process, in MiB (Linux's `/proc/self/status`).
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Memory {
    pub rss_mib: f64,
    pub peak_mib: f64,
}

/// Milliseconds per text that the encoder's dense matmuls alone take (per layer the four
/// attention projections and the two feed-forward ones) in calls of `rows` texts of `tokens`
/// tokens each: a floor under the encoder's time on this backend, whatever else were fused.
pub fn matmul_floor(cfg: &BertConfig, tokens: usize, rows: usize, device: &Device) -> f64 {
    let m = (tokens * rows).max(1);
    let (h, i) = (cfg.hidden, cfg.intermediate);
    let pairs: Vec<(Tensor<2>, Tensor<2>)> = [(h, h), (h, h), (h, h), (h, h), (h, i), (i, h)]
        .into_iter()
        .map(|(k, n)| {
            let random = |shape: [usize; 2]| Tensor::random(shape, Distribution::Default, device);
            (random([m, k]), random([k, n]))
        })
        .collect();
    // Reading back a sum waits for the work on a lazy backend, at the cost of one small reduction.
    let layer = || {
        for (a, b) in &pairs {
            let _ = a.clone().matmul(b.clone()).sum().into_data();
        }
    };
    layer();
    let started = Instant::now();
    let mut reps = 0;
    while reps < 3 || started.elapsed().as_secs_f64() < 0.5 {
        layer();
        reps += 1;
    }
    started.elapsed().as_secs_f64() * 1e3 / reps as f64 * cfg.layers as f64 / rows as f64
}

/// `None` where the kernel does not say (not Linux).
pub fn memory() -> Option<Memory> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |name: &str| -> Option<f64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        let kib: f64 = line[name.len()..]
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()?;
        Some(kib / 1024.0)
    };
    Some(Memory {
        rss_mib: field("VmRSS:")?,
        peak_mib: field("VmHWM:")?,
    })
}

/// Loading a model directory: reading, checking each file's SHA-256 and building the network.
#[derive(Debug, Clone, Serialize)]
pub struct LoadTiming {
    /// Each load's seconds; the first includes the page cache warming up.
    pub seconds: Vec<f64>,
    pub median_seconds: f64,
}

pub fn time_load(
    dir: &Path,
    device: &Device,
    times: usize,
) -> Result<(Classifier, LoadTiming), ArtifactError> {
    let mut seconds = Vec::with_capacity(times);
    let mut clf = None;
    for _ in 0..times.max(1) {
        let started = Instant::now();
        clf = Some(artifact::load(dir, device)?);
        seconds.push(started.elapsed().as_secs_f64());
    }
    let median_seconds = median(&seconds);
    Ok((
        clf.expect("loaded at least once"),
        LoadTiming {
            seconds,
            median_seconds,
        },
    ))
}

/// Classifying `texts` in batches of `batch`, after one untimed warm-up batch.
#[derive(Debug, Clone, Serialize)]
pub struct Throughput {
    pub batch: usize,
    pub texts: usize,
    pub seconds: f64,
    pub ms_per_text: f64,
    pub texts_per_second: f64,
    /// Median milliseconds of one call of `batch` texts.
    pub median_ms_per_call: f64,
}

pub fn time_batches(clf: &Classifier, texts: &[&str], batch: usize) -> Result<Throughput, TextError> {
    let batch = batch.max(1);
    // The first call compiles kernels (wgpu) and grows buffers: not what a user waits for after.
    clf.predict(&texts[..batch.min(texts.len())])?;
    let mut calls = Vec::new();
    let started = Instant::now();
    for (k, chunk) in texts.chunks(batch).enumerate() {
        let call = Instant::now();
        clf.predict(chunk).map_err(|e| e.offset(k * batch))?;
        calls.push(call.elapsed().as_secs_f64() * 1e3);
    }
    let seconds = started.elapsed().as_secs_f64();
    Ok(Throughput {
        batch,
        texts: texts.len(),
        seconds,
        ms_per_text: seconds * 1e3 / texts.len().max(1) as f64,
        texts_per_second: texts.len() as f64 / seconds,
        median_ms_per_call: median(&calls),
    })
}

/// One shape class of the page's (a post of one length, or a batch), timed on a classifier
/// that has run nothing yet: the first call pays for compiling its kernels (wgpu) and growing
/// buffers, the later ones do not.
#[derive(Debug, Clone, Serialize)]
pub struct FirstCall {
    pub shape: String,
    pub texts: usize,
    pub first_ms: f64,
    /// Median of three calls after the first.
    pub warm_ms: f64,
}

/// [`FirstCall`] for each of the page's warm-up shapes in turn (short, medium and long post,
/// then the mixed batch of 32): each class's first call comes after the classes before it, as
/// in a page that meets them in this order.
pub fn first_calls(clf: &Classifier) -> Result<Vec<FirstCall>, TextError> {
    let (single, batch) = crate::web::backend::warm_up_shapes();
    let names = ["1 short post", "1 medium post", "1 long post", "32 mixed posts"];
    let classes = single
        .iter()
        .map(|t| vec![t.as_str()])
        .chain([batch.iter().map(String::as_str).collect()]);
    let mut out = Vec::new();
    for (name, texts) in names.iter().zip(classes) {
        let timed = || -> Result<f64, TextError> {
            let t0 = Instant::now();
            clf.predict(&texts)?;
            Ok(t0.elapsed().as_secs_f64() * 1e3)
        };
        let first_ms = timed()?;
        let warm = (0..3).map(|_| timed()).collect::<Result<Vec<_>, _>>()?;
        out.push(FirstCall {
            shape: (*name).into(),
            texts: texts.len(),
            first_ms,
            warm_ms: median(&warm),
        });
    }
    Ok(out)
}

/// Memory after every `every` classifications in a long run of single-text calls.
#[derive(Debug, Clone, Serialize)]
pub struct SoakPoint {
    pub done: usize,
    pub memory: Memory,
}

/// Classifies `n` texts one at a time, cycling through `texts`, and samples memory at the start
/// and after every `every` texts. Each prediction must equal the first one made for that text:
/// a leak that also corrupted state would show here, not only in the memory figures.
pub fn soak(clf: &Classifier, texts: &[&str], n: usize, every: usize) -> Result<Vec<SoakPoint>, SoakError> {
    let first: Vec<Prediction> = texts
        .iter()
        .map(|t| clf.predict(&[t]).map(|mut p| p.remove(0)))
        .collect::<Result<_, _>>()
        .map_err(|e| SoakError::Predict(e.error))?;
    let sample = |done| memory().map(|memory| SoakPoint { done, memory });
    let mut points: Vec<SoakPoint> = sample(0).into_iter().collect();
    for done in 1..=n {
        let i = (done - 1) % texts.len();
        let p = clf
            .predict(&[texts[i]])
            .map_err(|e| SoakError::Predict(e.error))?;
        if p[0] != first[i] {
            return Err(SoakError::Changed { done, index: i });
        }
        if done % every.max(1) == 0 || done == n {
            points.extend(sample(done));
        }
    }
    Ok(points)
}

#[derive(Debug, thiserror::Error)]
pub enum SoakError {
    #[error(transparent)]
    Predict(Error),
    #[error("classification {done}: text {index} gave a different result than the first time")]
    Changed { done: usize, index: usize },
}

pub fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn memory_reads_this_process() {
        let m = memory().expect("Linux reports VmRSS and VmHWM");
        assert!(m.rss_mib > 0.5 && m.peak_mib >= m.rss_mib, "{m:?}");
    }
}
