//! Which backend the model runs on in the page: the CPU first, always, so the page is usable as
//! soon as the CPU backend is ready; WebGPU only when it is measured clearly faster on this
//! device and gives the CPU's probabilities. Published measurements say WebGPU at batch 1 is
//! often slower than wasm for small encoders, and first runs pay for pipeline compilation, so
//! "an adapter exists" is not a reason to use it. Software adapters are never chosen
//! automatically. Nothing of this is stored: each visit measures again. The decision rules are
//! here, free of the browser, and tested natively; the worker does the measuring.

use crate::web::protocol::Why;

/// WebGPU is used only when it takes at most this share of the CPU's time, at batch 1 and at
/// batch 32 alike.
pub const SWITCH_RATIO: f64 = 0.7;
/// And when its probabilities on the canary texts are the CPU's to within this.
pub const CANARY_TOLERANCE: f64 = 1e-4;

/// The text the model is run on once as it loads (a failure there is a load failure).
pub const WARM_UP: &str = "今天有点累，但还好。";

/// Synthetic texts of the lengths the page sends, written for this: one post at a time (short,
/// medium, long), and a batch of 32 of mixed lengths. A GPU is warmed up on these before it is
/// timed (its shaders compile on first use); `sosrisk bench` counts what other shapes compile.
pub fn warm_up_shapes() -> (Vec<String>, Vec<String>) {
    let single = vec![
        "今天好累。".to_string(),
        "下班路上下起了雨，没带伞，到家全身都湿透了，洗了个热水澡才缓过来。".to_string(),
        "周末和朋友去郊外爬山，山顶的风很大，我们在亭子里吃了带去的面包和水果，聊了很久最近的工作和生活，下山的时候天已经快黑了。".repeat(2),
    ];
    let batch = (0..32).map(|i| single[i % 3].clone()).collect();
    (single, batch)
}

/// Batch sizes a GPU is warmed up at with one short post (32 too: the mixed batch of 32 is
/// padded to a longer length, and a short batch of 32 still compiled 9 kernels of its own): with
/// token lengths padded to a few buckets and batches to a power of two ([`crate::infer`]), the
/// kernels a GPU compiles depend on the batch size, not on the length (measured on lavapipe:
/// after one short text at each of these, no length up to 160 at any of them compiled a new
/// kernel; `tests/kernels.rs`).
pub const LADDER: [usize; 5] = [2, 4, 8, 16, 32];

/// Every request a GPU is warmed up with, in order: the load's text ([`WARM_UP`], first, which
/// the worker runs as it loads and so skips here), each single shape, the
/// shortest at each batch size of [`LADDER`], and the mixed batch of 32. After these, no text
/// of up to 160 tokens at any batch size up to 32 compiles a new kernel.
pub fn warm_up_runs() -> Vec<Vec<String>> {
    let (single, batch) = warm_up_shapes();
    let mut runs = vec![vec![WARM_UP.to_string()]];
    runs.extend(single.iter().map(|t| vec![t.clone()]));
    runs.extend(LADDER.iter().map(|&b| vec![single[0].clone(); b]));
    runs.push(batch);
    runs
}

/// Names of software rasterisers in an adapter's vendor, architecture, device or description.
const SOFTWARE: &[&str] = &[
    "swiftshader",
    "llvmpipe",
    "lavapipe",
    "softpipe",
    "software",
    "basic render",
];

/// The software adapter's name, if the adapter is one: the browser says so
/// (`isFallbackAdapter`), or one of its names is a software rasteriser's.
pub fn software_adapter(names: &[String], fallback: bool) -> Option<String> {
    let joined = names
        .iter()
        .filter(|n| !n.is_empty())
        .cloned()
        .collect::<Vec<_>>()
        .join(" ");
    let lower = joined.to_lowercase();
    (fallback || SOFTWARE.iter().any(|s| lower.contains(s))).then(|| {
        if joined.is_empty() {
            "fallback adapter".into()
        } else {
            joined
        }
    })
}

/// The decision from the median milliseconds of the same passes on each backend (batch 1, batch
/// 32) and the largest difference of their probabilities on the canary texts.
pub fn decide(cpu_ms: [f64; 2], gpu_ms: [f64; 2], canary_diff: f64) -> Why {
    // NaN (a broken run) is a mismatch too.
    if canary_diff.is_nan() || canary_diff > CANARY_TOLERANCE {
        return Why::Mismatch { diff: canary_diff };
    }
    let ratio = (gpu_ms[0] / cpu_ms[0].max(1e-9)).max(gpu_ms[1] / cpu_ms[1].max(1e-9));
    if ratio <= SWITCH_RATIO {
        Why::Faster { ratio }
    } else {
        Why::Slower { ratio }
    }
}

/// The median of a few timings.
pub fn median(mut ms: Vec<f64>) -> f64 {
    ms.sort_by(f64::total_cmp);
    ms.get(ms.len() / 2).copied().unwrap_or(f64::NAN)
}

/// The largest difference between two sets of probabilities of the same texts.
pub fn largest_difference(a: &[crate::prediction::Prediction], b: &[crate::prediction::Prediction]) -> f64 {
    a.iter()
        .zip(b)
        .flat_map(|(x, y)| {
            x.level_probs
                .iter()
                .zip(&y.level_probs)
                .map(|(p, q)| f64::from((p - q).abs()))
                .chain([f64::from((x.high_risk_prob - y.high_risk_prob).abs())])
        })
        .fold(if a.len() == b.len() { 0.0 } else { f64::INFINITY }, f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn software_adapters_are_recognised() {
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            software_adapter(
                &names(&["google", "swiftshader", "", "Google SwiftShader"]),
                false
            )
            .as_deref(),
            Some("google swiftshader Google SwiftShader")
        );
        assert!(software_adapter(&names(&["mesa", "llvmpipe (LLVM 15.0.6, 256 bits)"]), false).is_some());
        assert!(
            software_adapter(&names(&["", ""]), true).is_some(),
            "the browser says so"
        );
        assert_eq!(
            software_adapter(&names(&["nvidia", "ada", "NVIDIA GeForce RTX 4090"]), false),
            None
        );
        assert_eq!(software_adapter(&names(&["intel", "gen-12lp"]), false), None);
    }

    #[test]
    fn webgpu_is_chosen_only_when_clearly_faster_and_equal() {
        assert_eq!(
            decide([60.0, 1800.0], [20.0, 500.0], 1e-6),
            Why::Faster { ratio: 1.0 / 3.0 }
        );
        // Faster at batch 32 only is not enough: the page mostly classifies one text.
        assert!(
            matches!(decide([60.0, 1800.0], [90.0, 500.0], 1e-6), Why::Slower { ratio } if (ratio - 1.5).abs() < 1e-9)
        );
        // 0.8× is within the noise of a few runs: stay.
        assert!(matches!(
            decide([100.0, 100.0], [80.0, 80.0], 0.0),
            Why::Slower { .. }
        ));
        assert!(matches!(
            decide([100.0, 100.0], [10.0, 10.0], 1e-3),
            Why::Mismatch { .. }
        ));
        assert!(matches!(
            decide([100.0, 100.0], [10.0, 10.0], f64::NAN),
            Why::Mismatch { .. }
        ));
    }

    #[test]
    fn the_warm_up_starts_with_the_loads_text_and_ends_at_32() {
        // The worker skips the first run: `build` ran it as the model loaded.
        let runs = warm_up_runs();
        assert_eq!(runs[0], vec![WARM_UP.to_string()]);
        assert!(runs[1..].iter().all(|r| r.iter().all(|t| t != WARM_UP)));
        let sizes: Vec<usize> = runs.iter().map(Vec::len).collect();
        assert_eq!(sizes, [1, 1, 1, 1, 2, 4, 8, 16, 32, 32]);
    }

    #[test]
    fn medians_and_differences() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        let p =
            |x: f32| crate::prediction::Prediction::from_probabilities(vec![x, 1.0 - x], x, 0.5, (1, false));
        assert!((largest_difference(&[p(0.5)], &[p(0.5001)]) - 1e-4).abs() < 1e-6);
        assert_eq!(largest_difference(&[p(0.5)], &[]), f64::INFINITY);
    }
}
