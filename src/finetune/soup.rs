//! A weight soup: the element-wise mean of several models of one architecture, fine-tuned from
//! the same start (Wortsman et al., 2022). Models fine-tuned from one pretrained encoder at a
//! small learning rate stay close enough that their average is itself a good model, and it costs
//! one model's size and speed where an ensemble costs all of them.

use std::path::Path;

use burn::module::Module;
use burn::prelude::*;

use super::FinetuneError;
use super::average::WeightMean;
use crate::infer::Network;
use crate::model::bert::{BertClassifier, BertConfig};

/// The uniform soup of `models` (at least one), built on the first one's structure.
pub fn soup<M: Module + Clone>(models: &[M]) -> M {
    let mut mean = WeightMean::default();
    models.iter().for_each(|m| mean.add(m));
    mean.model(models.first().expect("a soup of no models").clone())
}

/// A soup member: a run's checkpoint file (`best.bpk`), read into `template`'s structure, or a
/// saved model directory fine-tuned from the same encoder (`encoder`'s shape), whose quantised
/// weights are read back as floats. A shipped model can so join a soup after the checkpoints it
/// was made from are gone.
pub fn member(
    path: &Path,
    template: BertClassifier,
    encoder: &BertConfig,
    device: &Device,
) -> Result<BertClassifier, FinetuneError> {
    if !path.is_dir() {
        return super::load_checkpoint(path, template);
    }
    let refused = |why: String| FinetuneError::Setup(format!("soup member {}: {why}", path.display()));
    let classifier = crate::artifact::load(path, device).map_err(|e| refused(e.to_string()))?;
    match classifier.network() {
        Network::Encoder { model, spec, .. } if spec.encoder == *encoder => Ok((**model).clone()),
        Network::Encoder { .. } => Err(refused(
            "fine-tuned from an encoder of another shape than --encoder".into(),
        )),
        _ => Err(refused(
            "not a fine-tuned encoder (a model of another architecture)".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::{Linear, LinearConfig};

    fn out(m: &Linear, x: &Tensor<2>) -> Vec<f32> {
        m.forward(x.clone())
            .into_data()
            .try_into_vec::<f32>()
            .expect("f32")
    }

    #[test]
    fn a_soup_of_identical_models_is_the_model() {
        let device = Device::flex();
        device.seed(1);
        let m: Linear = LinearConfig::new(3, 2).init(&device);
        let x = Tensor::<2>::from_data(TensorData::new(vec![0.5f32, -1.0, 2.0], [1, 3]), &device);
        let s = soup(&[m.clone(), m.clone(), m.clone()]);
        for (a, b) in out(&m, &x).iter().zip(out(&s, &x)) {
            assert!((a - b).abs() < 1e-6);
        }
    }

    #[test]
    fn a_soup_of_linear_models_averages_their_outputs() {
        // For a linear model the mean of the weights gives the mean of the outputs.
        let device = Device::flex();
        device.seed(2);
        let a: Linear = LinearConfig::new(3, 2).init(&device);
        let b: Linear = LinearConfig::new(3, 2).init(&device);
        let x = Tensor::<2>::from_data(TensorData::new(vec![1.0f32, 0.25, -0.5], [1, 3]), &device);
        let s = soup(&[a.clone(), b.clone()]);
        let (oa, ob, os) = (out(&a, &x), out(&b, &x), out(&s, &x));
        assert_ne!(oa, ob);
        for k in 0..2 {
            assert!(((oa[k] + ob[k]) / 2.0 - os[k]).abs() < 1e-5);
        }
    }
}
