//! A weight soup: the element-wise mean of several models of one architecture, fine-tuned from
//! the same start (Wortsman et al., 2022). Models fine-tuned from one pretrained encoder at a
//! small learning rate stay close enough that their average is itself a good model, and it costs
//! one model's size and speed where an ensemble costs all of them.

use std::path::Path;

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::prelude::*;

use super::FinetuneError;
use crate::infer::Network;
use crate::model::bert::{BertClassifier, BertConfig};

/// Every float parameter of a module, in visiting order (the same for the same architecture).
#[derive(Default)]
struct Collect(Vec<Vec<f32>>);

impl ModuleVisitor for Collect {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let values = param
            .val()
            .into_data()
            .convert::<f32>()
            .try_into_vec::<f32>()
            .expect("f32");
        self.0.push(values);
    }
}

/// Replaces each float parameter, in visiting order, by the given values (same shape).
struct Replace {
    values: std::vec::IntoIter<Vec<f32>>,
}

impl ModuleMapper for Replace {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let values = self.values.next().expect("one value per parameter");
        param.map(|t| {
            let shape = t.shape();
            Tensor::from_data(TensorData::new(values, shape), &t.device())
        })
    }
}

/// The uniform soup of `models` (at least one), built on the first one's structure.
pub fn soup<M: Module + Clone>(models: &[M]) -> M {
    let first = models.first().expect("a soup of no models").clone();
    let mut sum: Option<Vec<Vec<f32>>> = None;
    for m in models {
        let mut c = Collect::default();
        m.visit(&mut c);
        match &mut sum {
            None => sum = Some(c.0),
            Some(sum) => {
                assert_eq!(sum.len(), c.0.len(), "models of one architecture");
                for (s, v) in sum.iter_mut().zip(c.0) {
                    for (a, b) in s.iter_mut().zip(v) {
                        *a += b;
                    }
                }
            }
        }
    }
    let n = models.len() as f32;
    let mean: Vec<Vec<f32>> = sum
        .expect("at least one model")
        .into_iter()
        .map(|v| v.into_iter().map(|x| x / n).collect())
        .collect();
    first.map(&mut Replace {
        values: mean.into_iter(),
    })
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
