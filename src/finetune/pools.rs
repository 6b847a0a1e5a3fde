//! Extra training pools beside the labelled posts (ordinary texts, generated posts): a few rows
//! of each join every batch, drawn without replacement from a shuffled order that is drawn
//! again when it runs out. Each pool has its own generator, so adding pools leaves the posts'
//! own order (and a run without pools) exactly as before.

use serde::{Deserialize, Serialize};

use crate::train::Rng;

/// A pool's sampler: its order, how far into it the run is, and its generator's state.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PoolState {
    pub order: Vec<usize>,
    pub next: usize,
    pub rng: u64,
}

impl PoolState {
    /// A sampler over `len` rows; `stream` keeps pools' generators apart.
    pub fn new(len: usize, seed: u64, stream: u64) -> Self {
        let mut state = Self {
            order: (0..len).collect(),
            next: 0,
            rng: seed ^ stream.wrapping_mul(0xa076_1d64_78bd_642f),
        };
        state.reshuffle();
        state
    }

    fn reshuffle(&mut self) {
        let mut rng = Rng(self.rng);
        rng.shuffle(&mut self.order);
        self.rng = rng.0;
        self.next = 0;
    }

    /// The next `n` row indices (fewer only when the pool is smaller than `n`).
    pub fn take(&mut self, n: usize) -> Vec<usize> {
        let n = n.min(self.order.len());
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            if self.next == self.order.len() {
                self.reshuffle();
            }
            out.push(self.order[self.next]);
            self.next += 1;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_comes_once_before_any_comes_twice() {
        let mut pool = PoolState::new(10, 7, 1);
        let mut first: Vec<usize> = (0..4).flat_map(|_| pool.take(2)).collect();
        first.extend(pool.take(2));
        first.sort_unstable();
        assert_eq!(first, (0..10).collect::<Vec<_>>());
        // Wraps into a fresh order.
        assert_eq!(pool.take(3).len(), 3);
    }

    #[test]
    fn pools_draw_different_orders_from_one_seed() {
        let a = PoolState::new(50, 42, 1);
        let b = PoolState::new(50, 42, 2);
        assert_ne!(a.order, b.order);
        assert_eq!(a, PoolState::new(50, 42, 1));
    }
}
