//! How many GPU kernels a model compiles, and whether a shape the page has not warmed up makes it
//! compile more. On wgpu every kernel not launched before is a shader to compile (in a browser,
//! a pipeline: tens to hundreds of milliseconds each) that the user waits for mid-request.
//!
//! Counted with cubecl's [`LaunchedKernels`]: the distinct kernels (by the id the compilation
//! cache is keyed on) launched while a collection is open. The CPU backend (flex) is not cubecl
//! and launches none.

use std::collections::BTreeSet;

use burn::cubecl::launched::LaunchedKernels;
use serde::Serialize;

use crate::infer::{Classifier, Network};
use crate::{Error, TextError};

/// The characters the synthetic texts of a sweep are made of: common ones, so each is (nearly
/// always) a token of its own and every token length can be reached one character at a time.
const FILL: &str = "今天我们去公园散步看见很多人在跑步小孩子放风筝老人下棋天气晴朗风也不大回家路上买了水果和面包晚上做饭洗碗然后看书睡觉";

/// Texts whose token counts (the model's, `<s>` and `</s>` included) are each of `lengths`,
/// where one can be made: a token length between two characters' is skipped.
pub fn texts_of_token_lengths(clf: &Classifier, lengths: &[usize]) -> Result<Vec<(usize, String)>, Error> {
    let Network::Encoder { tokenizer, .. } = clf.network() else {
        return Ok(Vec::new());
    };
    let wanted: BTreeSet<usize> = lengths.iter().copied().collect();
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

/// What the page's worker runs before it times a GPU: the load's warm-up text, each single
/// shape, then the batch of 32 ([`crate::web::backend::warm_up_shapes`]).
pub fn warm_up(clf: &Classifier) -> Result<(), TextError> {
    let (single, batch) = crate::web::backend::warm_up_shapes();
    clf.predict(&[crate::web::backend::WARM_UP])?;
    for text in &single {
        clf.predict(&[text.as_str()])?;
    }
    let batch: Vec<&str> = batch.iter().map(String::as_str).collect();
    clf.predict(&batch)?;
    Ok(())
}

/// What [`variants`] found.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct KernelCount {
    /// Distinct kernels launched by loading and warming up.
    pub warm_up: usize,
    /// Distinct kernels launched by the sweep.
    pub sweep: usize,
    /// Of those, kernels the warm-up had not launched: compiles a user would wait for.
    pub new_after_warm_up: usize,
    /// Token lengths and batch sizes the sweep ran.
    pub token_lengths: Vec<usize>,
    pub batch_sizes: Vec<usize>,
}

/// Runs `warm_up`, then every text of `texts` in batches of each of `batches` (a batch of `b`
/// copies of the text), and counts the distinct kernels each launched.
pub fn variants(
    clf: &Classifier,
    warm_up: impl FnOnce() -> Result<(), TextError>,
    texts: &[(usize, String)],
    batches: &[usize],
) -> Result<KernelCount, TextError> {
    let collecting = LaunchedKernels::new();
    warm_up()?;
    let warm = collecting.finish();
    let collecting = LaunchedKernels::new();
    for (_, text) in texts {
        for &b in batches {
            let batch = vec![text.as_str(); b];
            clf.predict(&batch)?;
        }
    }
    let sweep = collecting.finish();
    Ok(KernelCount {
        warm_up: warm.len(),
        sweep: sweep.len(),
        new_after_warm_up: sweep.difference(&warm).count(),
        token_lengths: texts.iter().map(|(n, _)| *n).collect(),
        batch_sizes: batches.to_vec(),
    })
}
