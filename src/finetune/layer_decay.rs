//! Layer-wise learning-rate decay: the encoder's top layer learns at the full rate and each
//! depth below it at `decay` times the rate above (the embeddings last), so that the general
//! features of the lower layers move least (ULMFiT's discriminative fine-tuning; ELECTRA and
//! BEiT use 0.8–0.95). The heads keep their own rate (`head_lr_scale`).

use burn::optim::GradientsParams;
use burn::tensor::Gradients;

use crate::model::bert::BertEncoder;

/// The encoder's gradients taken out of `grads` by depth, each with its multiple of the
/// learning rate: the embeddings get `decay^L`, layer k (1-based) `decay^(L − k)`.
pub(super) fn grads_by_depth(
    encoder: &BertEncoder,
    grads: &mut Gradients,
    decay: f64,
) -> Vec<(f64, GradientsParams)> {
    let top = encoder.layers().len();
    let scale = |depth: usize| decay.powi((top - depth) as i32);
    let mut out = vec![(
        scale(0),
        GradientsParams::from_module(grads, &encoder.embeddings()),
    )];
    for (k, layer) in encoder.layers().iter().enumerate() {
        out.push((scale(k + 1), GradientsParams::from_module(grads, layer)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::bert::tiny_config;
    use burn::prelude::*;

    #[test]
    fn each_depth_gets_its_own_gradients_and_rate() {
        let device = Device::flex().autodiff();
        let config = tiny_config(3);
        let encoder = config.init(&device);
        let ids = Tensor::<2, Int>::from_data(TensorData::new(vec![3i64, 4, 5, 6], [1, 4]), &device);
        let mask = Tensor::<2>::ones([1, 4], &device);
        let mut grads = encoder.forward(ids, mask).sum().backward();
        let groups = grads_by_depth(&encoder, &mut grads, 0.5);
        let rates: Vec<f64> = groups.iter().map(|g| g.0).collect();
        assert_eq!(rates, [0.125, 0.25, 0.5, 1.0]);
        // Every group holds gradients, and none is left over for the rest of the model.
        assert!(groups.iter().all(|(_, g)| !g.is_empty()));
        let rest = GradientsParams::from_module(&mut grads, &encoder);
        assert!(rest.is_empty(), "the groups cover the whole encoder");
    }
}
