//! A fine-tuning run's per-epoch checkpoint, so that a stopped run resumes where it was.

use std::path::{Path, PathBuf};

use burn::module::Module;
use serde::{Deserialize, Serialize};

use super::{EpochLog, FinetuneConfig, FinetuneError};
use crate::model::bert::BertClassifier;

/// What a checkpoint holds besides the weights: where the run is and what it has seen.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct CheckpointState {
    pub settings: FinetuneConfig,
    pub epoch: usize,
    pub step: usize,
    pub rng: u64,
    pub order: Vec<usize>,
    pub best_key: f64,
    pub best_epoch: usize,
    pub epochs: Vec<EpochLog>,
    /// Each extra pool's sampler (see `pools.rs`); empty without pools.
    #[serde(default)]
    pub pools: Vec<super::pools::PoolState>,
}

/// Where a run keeps its per-epoch checkpoint: `state.json`, `last.bpk` (the model being
/// trained), `best.bpk` (the best epoch so far) and, when averaging, `average.bpk` (the mean of
/// the epochs averaged so far; how many follows from the settings and the epoch). Adam's moment
/// estimates are not kept: a resumed run re-estimates them, which costs a few steps of a
/// slightly noisier update.
pub struct Checkpoints<'a> {
    pub dir: &'a Path,
    pub resume: bool,
}

pub(super) fn checkpoint_error(path: PathBuf, detail: String) -> FinetuneError {
    FinetuneError::Checkpoint { path, detail }
}

pub(super) fn save_module(path: PathBuf, model: &BertClassifier) -> Result<(), FinetuneError> {
    let bytes = model
        .clone()
        .into_record()
        .into_bytes()
        .map_err(|e| checkpoint_error(path.clone(), format!("{e:?}")))?;
    std::fs::write(&path, &bytes[..]).map_err(|e| checkpoint_error(path, e.to_string()))
}

pub(super) fn load_module(path: PathBuf, model: BertClassifier) -> Result<BertClassifier, FinetuneError> {
    let record = burn::store::ModuleRecord::load(&path)
        .map_err(|e| checkpoint_error(path.clone(), format!("{e:?}")))?;
    model
        .try_load_record(record)
        .map_err(|e| checkpoint_error(path, format!("does not fit this encoder: {e:?}")))
}

impl Checkpoints<'_> {
    /// The best epoch's model in a checkpoint directory: what a soup is made of.
    pub fn best_in(dir: &Path) -> PathBuf {
        dir.join("best.bpk")
    }

    /// The saved state, if resuming and there is one; refused when it was written with other
    /// settings or data.
    pub(super) fn saved_state(
        &self,
        cfg: &FinetuneConfig,
        train_rows: usize,
    ) -> Result<Option<CheckpointState>, FinetuneError> {
        let path = self.dir.join("state.json");
        if !self.resume || !path.is_file() {
            return Ok(None);
        }
        let bytes = std::fs::read(&path).map_err(|e| checkpoint_error(path.clone(), e.to_string()))?;
        let saved: CheckpointState =
            serde_json::from_slice(&bytes).map_err(|e| checkpoint_error(path.clone(), e.to_string()))?;
        if saved.settings != *cfg || saved.order.len() != train_rows {
            return Err(checkpoint_error(
                path,
                "was written with other settings or data; resume with the same ones, or start afresh without --resume".into(),
            ));
        }
        Ok(Some(saved))
    }

    /// The mean of the epochs averaged so far.
    pub(super) fn average(&self) -> PathBuf {
        self.dir.join("average.bpk")
    }

    /// Writes the model being trained after this epoch, the epoch's validated model (`valid`:
    /// the same, or the average) as the best when this epoch is the best and as the average
    /// when averaging, and the state.
    pub(super) fn write(
        &self,
        state: &CheckpointState,
        trained: &BertClassifier,
        valid: &BertClassifier,
    ) -> Result<(), FinetuneError> {
        std::fs::create_dir_all(self.dir).map_err(|e| checkpoint_error(self.dir.into(), e.to_string()))?;
        save_module(self.dir.join("last.bpk"), trained)?;
        if state.best_epoch == state.epoch {
            save_module(Self::best_in(self.dir), valid)?;
        }
        if state.settings.averaged_epochs(state.epoch).is_some() {
            save_module(self.average(), valid)?;
        }
        let path = self.dir.join("state.json");
        let json = serde_json::to_vec_pretty(state).expect("state serialises");
        std::fs::write(&path, json).map_err(|e| checkpoint_error(path, e.to_string()))
    }
}
