//! How many GPU kernels a model compiles, and whether a shape the page has not warmed up makes it
//! compile more. On wgpu every kernel not launched before is a shader to compile (in a browser,
//! a pipeline: tens to hundreds of milliseconds each) that the user waits for mid-request.
//!
//! Counted with cubecl's [`LaunchedKernels`]: the distinct kernels (by the id the compilation
//! cache is keyed on) launched while a collection is open. The CPU backend (flex) is not cubecl
//! and launches none.

use std::collections::{BTreeSet, HashSet};

use burn::cubecl::launched::LaunchedKernels;
use serde::Serialize;

use crate::infer::{Classifier, Network};
use crate::{Error, TextError};

/// The characters the synthetic texts of a sweep are made of: common ones, so each is (nearly
/// always) a token of its own and every token length can be reached one character at a time.
const FILL: &str = "今天我们去公园散步看见很多人在跑步小孩子放风筝老人下棋天气晴朗风也不大回家路上买了水果和面包晚上做饭洗碗然后看书睡觉";

/// Texts whose token counts (the encoder's, `<s>` and `</s>` included; the n-gram model's are
/// characters) are each of `lengths`, where one can be made: a token length between two
/// characters' is skipped.
pub fn texts_of_token_lengths(clf: &Classifier, lengths: &[usize]) -> Result<Vec<(usize, String)>, Error> {
    let wanted: BTreeSet<usize> = lengths.iter().copied().collect();
    let tokenizer = match clf.network() {
        Network::Encoder { tokenizer, .. } => tokenizer,
        Network::Ngram { .. } => {
            let text = |n| FILL.chars().cycle().take(n).collect();
            return Ok(wanted
                .into_iter()
                .filter(|&n| n > 0)
                .map(|n| (n, text(n)))
                .collect());
        }
    };
    let Some(&longest) = wanted.last() else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    let mut text = String::new();
    for c in FILL.chars().cycle().take(4 * longest) {
        text.push(c);
        let pieces = tokenizer.encode(&text)?;
        let n = pieces.ids.len();
        if pieces.truncated || n > longest {
            break;
        }
        if wanted.contains(&n) && out.last().is_none_or(|(m, _)| *m != n) {
            out.push((n, text.clone()));
        }
    }
    Ok(out)
}

/// What the page's worker runs before it uses or times a GPU
/// ([`crate::web::backend::warm_up_runs`]).
pub fn warm_up(clf: &Classifier) -> Result<(), TextError> {
    for run in crate::web::backend::warm_up_runs() {
        let run: Vec<&str> = run.iter().map(String::as_str).collect();
        clf.predict(&run)?;
    }
    Ok(())
}

/// What [`variants`] found.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct KernelCount {
    /// Distinct kernels launched by loading and warming up.
    pub warm_up: usize,
    /// Distinct kernels launched by the sweeps.
    pub sweep: usize,
    /// Of those, kernels the warm-up had not launched: compiles a user would wait for.
    pub new_after_warm_up: usize,
    /// Of those, the ones every pass of the sweeps launched. A shape the warm-up missed makes
    /// its kernels in every pass; what only some passes launch depends on timing — most likely
    /// burn's choice of an in-place kernel, taken only when no other handle to a buffer is
    /// alive, which the GPU's queue may still hold (seen once on CI: 1 kernel, in 1 run of
    /// many).
    pub new_in_every_pass: usize,
    /// How many times the sweeps ran.
    pub passes: usize,
    /// Token lengths and batch sizes the sweeps ran.
    pub token_lengths: BTreeSet<usize>,
    pub batch_sizes: BTreeSet<usize>,
}

/// Texts of known token lengths, each run in batches of each of the sizes (a batch of `b`
/// copies of the text).
pub type Sweep<'a> = (&'a [(usize, String)], &'a [usize]);

/// Runs `warm_up`, then every sweep `passes` times (at least once), and counts the distinct
/// kernels each part launched.
pub fn variants(
    clf: &Classifier,
    warm_up: impl FnOnce() -> Result<(), TextError>,
    sweeps: &[Sweep],
    passes: usize,
) -> Result<KernelCount, TextError> {
    let collecting = LaunchedKernels::new();
    warm_up()?;
    let warm = collecting.finish();
    let mut each = Vec::new();
    for _ in 0..passes.max(1) {
        let collecting = LaunchedKernels::new();
        for (texts, batches) in sweeps {
            for (_, text) in *texts {
                for &b in *batches {
                    clf.predict(&vec![text.as_str(); b])?;
                }
            }
        }
        each.push(collecting.finish());
    }
    let sweep: HashSet<u128> = each.iter().flatten().copied().collect();
    let new_in_every_pass = sweep
        .iter()
        .filter(|k| !warm.contains(*k) && each.iter().all(|pass| pass.contains(*k)))
        .count();
    Ok(KernelCount {
        warm_up: warm.len(),
        sweep: sweep.len(),
        new_after_warm_up: sweep.iter().filter(|k| !warm.contains(*k)).count(),
        new_in_every_pass,
        passes: each.len(),
        token_lengths: sweeps
            .iter()
            .flat_map(|(t, _)| t.iter().map(|(n, _)| *n))
            .collect(),
        batch_sizes: sweeps.iter().flat_map(|(_, b)| b.iter().copied()).collect(),
    })
}

/// Every distinct kernel launched since it started, counted on request: what the page's debug
/// line (`?debug=kernels`) reports. Between two counts nothing else runs in the worker.
pub struct Tally {
    /// Kernels by the stable hash their compilation is cached under.
    seen: HashSet<u128>,
    open: Option<LaunchedKernels>,
}

impl Tally {
    pub fn start() -> Self {
        Self {
            seen: HashSet::new(),
            open: Some(LaunchedKernels::new()),
        }
    }

    /// Distinct kernels launched so far.
    pub fn count(&mut self) -> usize {
        if let Some(open) = self.open.take() {
            self.seen.extend(open.finish());
        }
        self.open = Some(LaunchedKernels::new());
        self.seen.len()
    }
}
