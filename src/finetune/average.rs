//! The element-wise mean of the float parameters of several models of one architecture: a
//! soup's members ([`super::soup`]) or one run's epochs from some epoch on (stochastic weight
//! averaging, Izmailov et al., 2018: the mean of the late epochs' weights lies nearer the middle
//! of the flat region the run wanders in, and tends to generalise better than its last point).

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::prelude::*;

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

/// A running sum of models' float parameters and how many were added.
#[derive(Default)]
pub struct WeightMean {
    sum: Vec<Vec<f32>>,
    count: usize,
}

impl WeightMean {
    /// Resumes a mean of `count` models saved as the model `mean` (a stopped run's average).
    pub fn resume<M: Module>(mean: &M, count: usize) -> Self {
        let mut m = Self::default();
        m.add(mean);
        m.sum.iter_mut().flatten().for_each(|x| *x *= count as f32);
        m.count = count;
        m
    }

    /// Adds one model (of the same architecture as those added before).
    pub fn add<M: Module>(&mut self, model: &M) {
        let mut c = Collect::default();
        model.visit(&mut c);
        if self.count == 0 {
            self.sum = c.0;
        } else {
            assert_eq!(self.sum.len(), c.0.len(), "models of one architecture");
            for (s, v) in self.sum.iter_mut().zip(c.0) {
                for (a, b) in s.iter_mut().zip(v) {
                    *a += b;
                }
            }
        }
        self.count += 1;
    }

    /// How many models were added.
    pub fn count(&self) -> usize {
        self.count
    }

    /// `template` (of the same architecture) with the mean parameters.
    pub fn model<M: Module>(&self, template: M) -> M {
        assert!(self.count > 0, "a mean of no models");
        let n = self.count as f32;
        let mean: Vec<Vec<f32>> = self
            .sum
            .iter()
            .map(|v| v.iter().map(|x| x / n).collect())
            .collect();
        template.map(&mut Replace {
            values: mean.into_iter(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::{Linear, LinearConfig};

    fn weights(m: &Linear) -> Vec<f32> {
        let mut c = Collect::default();
        m.visit(&mut c);
        c.0.concat()
    }

    #[test]
    fn the_mean_is_element_wise_and_resumes_from_a_saved_mean() {
        let device = Device::flex();
        device.seed(3);
        let models: Vec<Linear> = (0..3).map(|_| LinearConfig::new(4, 2).init(&device)).collect();
        let mut all = WeightMean::default();
        models.iter().for_each(|m| all.add(m));
        let got = weights(&all.model(models[0].clone()));
        let each: Vec<Vec<f32>> = models.iter().map(weights).collect();
        for (k, g) in got.iter().enumerate() {
            let want = (each[0][k] + each[1][k] + each[2][k]) / 3.0;
            assert!((g - want).abs() < 1e-6, "parameter {k}: {g} against {want}");
        }
        // A run stopped after two epochs saves their mean; resumed, the third joins it.
        let mut two = WeightMean::default();
        models[..2].iter().for_each(|m| two.add(m));
        let mut resumed = WeightMean::resume(&two.model(models[0].clone()), two.count());
        resumed.add(&models[2]);
        assert_eq!(resumed.count(), 3);
        for (a, b) in got.iter().zip(weights(&resumed.model(models[0].clone()))) {
            assert!((a - b).abs() < 1e-6);
        }
    }
}
