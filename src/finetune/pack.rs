//! From trained weights to a classifier: calibration and the threshold on the validation fold.

use burn::prelude::*;

use super::calibration::calibrate;
use super::rows::{Row, Rows, argmax_scores, logits};
use super::{
    EpochLog, FinetuneConfig, FinetuneError, FinetuneReport, Finetuned, FixedCalibration, softmax_rows,
};
use crate::import::QUERY_PREFIX;
use crate::infer::{Architecture, Classifier, EncoderSpec, Manifest, Network};
use crate::labels::{HIGH_RISK, N_LEVELS};
use crate::model::bert::{self, BertClassifier};
use crate::tokenize::PieceTokenizer;
use crate::train::best_threshold;

/// What a fine-tuned encoder's classifier is made of besides its weights.
pub struct EncoderParts {
    pub bert: bert::BertConfig,
    pub source: serde_json::Value,
    pub tokenizer: PieceTokenizer,
    pub max_tokens: usize,
}

/// The classifier for `model` with these temperatures and this threshold.
pub fn assemble(
    model: BertClassifier,
    parts: EncoderParts,
    calibration: FixedCalibration,
    device: &Device,
) -> Classifier {
    let spec = EncoderSpec {
        encoder: parts.bert,
        max_tokens: parts.max_tokens,
        query_prefix: QUERY_PREFIX.into(),
        temperatures: calibration.temperatures,
        novelty: None,
    };
    let mut manifest = Manifest::new(
        Architecture::Encoder(spec.clone()),
        serde_json::json!({ "encoder_source": parts.source }),
    );
    manifest.binary_threshold = calibration.threshold;
    let network = Network::Encoder {
        tokenizer: parts.tokenizer,
        model: Box::new(model),
        spec,
        landmarks: None,
    };
    Classifier::from_parts(manifest, network, device)
}

/// Calibration and the threshold from the validation fold only (or as fixed in advance when
/// there is none); then the classifier.
pub(super) fn pack(
    model: BertClassifier,
    rows: &Rows,
    cfg: &FinetuneConfig,
    parts: EncoderParts,
    (best_epoch, epochs): (usize, Vec<EpochLog>),
    device: &Device,
) -> Result<Finetuned, FinetuneError> {
    let test_logits = (!rows.test.is_empty()).then(|| logits(&model, &rows.test, device));
    let level_targets = |rows: &[Row]| rows.iter().map(|r| Some(r.level)).collect::<Vec<_>>();
    let binary_targets = |rows: &[Row]| rows.iter().map(|r| r.binary).collect::<Vec<_>>();
    let (fixed, calibration, validation) = if rows.val.is_empty() {
        let fixed = cfg.fixed_calibration.ok_or_else(|| {
            FinetuneError::Setup(
                "a run without a validation fold needs its calibration fixed in advance".into(),
            )
        })?;
        (fixed, None, None)
    } else {
        let val_logits = logits(&model, &rows.val, device);
        let level_cal = calibrate(
            N_LEVELS,
            (&val_logits.0, &level_targets(&rows.val)),
            test_logits
                .as_ref()
                .map(|l| (l.0.as_slice(), level_targets(&rows.test))),
        );
        let binary_cal = calibrate(
            2,
            (&val_logits.1, &binary_targets(&rows.val)),
            test_logits
                .as_ref()
                .map(|l| (l.1.as_slice(), binary_targets(&rows.test))),
        );
        let val_high: Vec<(f32, usize)> = softmax_rows(&val_logits.1, 2, binary_cal.temperature)
            .chunks(2)
            .zip(&rows.val)
            .filter_map(|(p, r)| r.binary.map(|b| (p[HIGH_RISK], b)))
            .collect();
        let fixed = FixedCalibration {
            temperatures: [level_cal.temperature, binary_cal.temperature],
            threshold: best_threshold(&val_high),
        };
        (
            fixed,
            Some([level_cal, binary_cal]),
            Some(argmax_scores(&rows.val, &val_logits)),
        )
    };
    let report = FinetuneReport {
        settings: cfg.clone(),
        best_epoch,
        validation,
        test: test_logits.as_ref().map(|l| argmax_scores(&rows.test, l)),
        epochs,
        calibration,
        binary_threshold: fixed.threshold,
    };
    Ok(Finetuned {
        classifier: assemble(model, parts, fixed, device),
        report,
    })
}
