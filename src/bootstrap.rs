//! Bootstrap intervals for test-set scores: resample the posts with replacement (2,000 times,
//! fixed seed) and take the 2.5th and 97.5th percentiles of binary F1 and level weighted F1.
//! Paired: both models' calls on the same resampled posts, so the interval of the difference
//! reflects only how the two models differ (on 250 posts one model's interval is about ±5
//! points, far wider than most differences between models).

use serde::{Deserialize, Serialize};

use crate::labels::HIGH_RISK;
use crate::metrics::{f1_for, weighted_f1};

pub const RESAMPLES: usize = 2000;
pub const SEED: u64 = 20240419;

/// A score with its 95 % interval.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct Interval {
    pub value: f64,
    pub low: f64,
    pub high: f64,
}

/// One model's calls on labelled posts: levels and (where labelled) binary.
pub struct Calls<'a> {
    pub level_true: &'a [usize],
    pub level_pred: &'a [usize],
    /// True and predicted binary per post (`None` where the post has no binary label).
    pub binary: &'a [Option<(usize, usize)>],
}

/// Binary F1 and level weighted F1, each with its interval.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Intervals {
    pub binary_f1: Option<Interval>,
    pub level_weighted_f1: Interval,
}

/// The paired difference (this model − the other) of each score, with its interval and the
/// share of resamples where this model is not better.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Paired {
    pub binary_f1: Option<(Interval, f64)>,
    pub level_weighted_f1: (Interval, f64),
}

/// SplitMix64: the same resamples on every platform.
struct Draw(u64);

impl Draw {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) % n as u64) as usize
    }
}

fn scores(c: &Calls, idx: &[usize]) -> (Option<f64>, f64) {
    let lt: Vec<usize> = idx.iter().map(|&i| c.level_true[i]).collect();
    let lp: Vec<usize> = idx.iter().map(|&i| c.level_pred[i]).collect();
    let (bt, bp): (Vec<usize>, Vec<usize>) = idx.iter().filter_map(|&i| c.binary[i]).unzip();
    let binary = (!bt.is_empty()).then(|| f1_for(&bt, &bp, HIGH_RISK));
    (binary, weighted_f1(&lt, &lp))
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    let at = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[at]
}

fn interval(value: f64, mut samples: Vec<f64>) -> Interval {
    samples.sort_by(f64::total_cmp);
    Interval {
        value,
        low: percentile(&samples, 0.025),
        high: percentile(&samples, 0.975),
    }
}

/// The resampled index sets (the same for every model, which is what pairs them).
fn resamples(n: usize) -> impl Iterator<Item = Vec<usize>> {
    let mut draw = Draw(SEED);
    (0..RESAMPLES).map(move |_| (0..n).map(|_| draw.below(n)).collect())
}

/// Each score of `calls` with its bootstrap interval.
pub fn intervals(calls: &Calls) -> Intervals {
    let n = calls.level_true.len();
    let all: Vec<usize> = (0..n).collect();
    let (b, w) = scores(calls, &all);
    let (mut bs, mut ws) = (Vec::new(), Vec::new());
    for idx in resamples(n) {
        let (bi, wi) = scores(calls, &idx);
        bs.extend(bi);
        ws.push(wi);
    }
    Intervals {
        binary_f1: b.map(|b| interval(b, bs)),
        level_weighted_f1: interval(w, ws),
    }
}

/// `a − b` on the same posts, with its interval and the share of resamples where `a` does not
/// beat `b` (a one-sided bootstrap p-value).
pub fn paired(a: &Calls, b: &Calls) -> Paired {
    let n = a.level_true.len();
    assert_eq!(n, b.level_true.len(), "the same posts");
    let all: Vec<usize> = (0..n).collect();
    let ((ab, aw), (bb, bw)) = (scores(a, &all), scores(b, &all));
    let (mut db, mut dw) = (Vec::new(), Vec::new());
    for idx in resamples(n) {
        let ((xb, xw), (yb, yw)) = (scores(a, &idx), scores(b, &idx));
        if let (Some(x), Some(y)) = (xb, yb) {
            db.push(x - y);
        }
        dw.push(xw - yw);
    }
    let not_better = |d: &[f64]| d.iter().filter(|&&x| x <= 0.0).count() as f64 / d.len().max(1) as f64;
    let (pb, pw) = (not_better(&db), not_better(&dw));
    Paired {
        binary_f1: ab.zip(bb).map(|(x, y)| (interval(x - y, db), pb)),
        level_weighted_f1: (interval(aw - bw, dw), pw),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn calls<'a>(lt: &'a [usize], lp: &'a [usize], bin: &'a [Option<(usize, usize)>]) -> Calls<'a> {
        Calls {
            level_true: lt,
            level_pred: lp,
            binary: bin,
        }
    }

    #[test]
    fn the_interval_holds_the_score_and_narrows_with_more_posts() {
        let make = |n: usize| {
            let lt: Vec<usize> = (0..n).map(|i| i % 3).collect();
            let lp: Vec<usize> = (0..n)
                .map(|i| if i % 5 == 0 { (i + 1) % 3 } else { i % 3 })
                .collect();
            let bin: Vec<Option<(usize, usize)>> = (0..n)
                .map(|i| Some((i % 2, if i % 7 == 0 { 1 - i % 2 } else { i % 2 })))
                .collect();
            (lt, lp, bin)
        };
        let (lt, lp, bin) = make(100);
        let small = intervals(&calls(&lt, &lp, &bin));
        let w = small.level_weighted_f1;
        assert!(w.low <= w.value && w.value <= w.high, "{w:?}");
        let (lt, lp, bin) = make(1000);
        let big = intervals(&calls(&lt, &lp, &bin));
        let width = |i: Interval| i.high - i.low;
        assert!(width(big.level_weighted_f1) < width(small.level_weighted_f1));
        assert!(big.binary_f1.is_some());
        // Fixed seed: the same interval every time.
        assert_eq!(intervals(&calls(&lt, &lp, &bin)), big);
    }

    #[test]
    fn a_model_against_itself_differs_by_exactly_nothing() {
        let lt = [0, 1, 2, 3, 4, 5, 6, 7];
        let lp = [0, 1, 2, 2, 4, 6, 6, 7];
        let bin = [
            Some((0, 0)),
            Some((1, 1)),
            Some((0, 1)),
            Some((1, 1)),
            None,
            Some((0, 0)),
            Some((1, 0)),
            Some((1, 1)),
        ];
        let c = calls(&lt, &lp, &bin);
        let p = paired(&c, &c);
        let (d, not_better) = p.level_weighted_f1;
        assert_eq!((d.value, d.low, d.high, not_better), (0.0, 0.0, 0.0, 1.0));
    }

    #[test]
    fn a_clearly_better_model_is_better_in_almost_every_resample() {
        let n = 200;
        let lt: Vec<usize> = (0..n).map(|i| i % 4).collect();
        let good: Vec<usize> = lt.clone();
        let bad: Vec<usize> = lt.iter().map(|l| (l + 1) % 4).collect();
        let bin: Vec<Option<(usize, usize)>> = vec![None; n];
        let p = paired(&calls(&lt, &good, &bin), &calls(&lt, &bad, &bin));
        assert!(p.binary_f1.is_none());
        let (d, not_better) = p.level_weighted_f1;
        assert!(
            d.value > 0.9 && d.low > 0.8 && not_better < 0.01,
            "{d:?} {not_better}"
        );
    }
}
