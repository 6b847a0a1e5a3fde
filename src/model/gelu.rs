//! The encoder's GELU (erf form) on the CPU backend.
//!
//! burn-flex evaluates `erf` with a scalar libm call per element on one thread, in the forward
//! pass and again (with `exp`) in the backward one: natively that was about 30 % of a text's
//! inference time. The loops below have no branches and no calls, so the compiler vectorises
//! them (SSE/AVX natively, SIMD128 in the page), and natively they are split over every core.
//! On wgpu, burn's own `gelu` runs: on a GPU the tensor stays where it is.

use burn::prelude::*;
use burn::tensor::activation;

/// `0.5·x·(1 + erf(x/√2))`, as `burn::tensor::activation::gelu` computes it.
pub fn gelu<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    if x.device() != Device::flex() {
        return activation::gelu(x);
    }
    // Device equality ignores autodiff, so training on flex arrives here too.
    if !x.is_autodiff() {
        return map(x, gelu_slice);
    }
    // The value and the slope come from the kernels below as constants; the gradient flows
    // through a term that is zero in value: gelu(x̄) + (x − x̄)·gelu′(x̄), x̄ = x detached.
    let inner = x.clone().inner();
    let value = map(inner.clone(), gelu_slice).autodiff();
    let slope = map(inner, slope_slice).autodiff();
    value + (x.clone() - x.detach()) * slope
}

/// `f` applied in place to the values of a tensor on flex (without autodiff).
fn map<const D: usize>(x: Tensor<D>, f: fn(&mut [f32])) -> Tensor<D> {
    let device = x.device();
    let mut data = x.into_data().convert::<f32>();
    let values = data.as_mut_slice::<f32>().expect("converted to f32 just above");
    for_each_chunk(values, f);
    Tensor::from_data(data, &device)
}

#[cfg(not(target_family = "wasm"))]
fn for_each_chunk(values: &mut [f32], f: fn(&mut [f32])) {
    use rayon::prelude::*;
    // Large enough that a chunk's work outweighs handing it to another thread.
    values.par_chunks_mut(1 << 14).for_each(f);
}

#[cfg(target_family = "wasm")]
fn for_each_chunk(values: &mut [f32], f: fn(&mut [f32])) {
    f(values);
}

fn gelu_slice(values: &mut [f32]) {
    for v in values {
        *v *= cdf(*v);
    }
}

/// gelu′(x) = Φ(x) + x·φ(x).
fn slope_slice(values: &mut [f32]) {
    const FRAC_1_SQRT_2PI: f32 = 0.398_942_3;
    for v in values {
        let x = *v;
        *v = cdf(x) + x * FRAC_1_SQRT_2PI * exp(-0.5 * x * x);
    }
}

/// The standard normal distribution function Φ(x) = ½·(1 + erf(x/√2)).
#[inline(always)]
fn cdf(x: f32) -> f32 {
    0.5 * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2))
}

/// Abramowitz & Stegun 7.1.26: |error| ≤ 1.5·10⁻⁷ (5·10⁻⁷ in f32 arithmetic), the
/// approximation PyTorch's vectorised CPU `erf` uses too.
#[inline(always)]
fn erf(x: f32) -> f32 {
    const P: f32 = 0.327_591_1;
    const A: [f32; 5] = [0.254_829_6, -0.284_496_74, 1.421_413_8, -1.453_152_1, 1.061_405_4];
    let a = x.abs();
    let t = 1.0 / (1.0 + P * a);
    let poly = t * (A[0] + t * (A[1] + t * (A[2] + t * (A[3] + t * A[4]))));
    (1.0 - poly * exp(-a * a)).copysign(x)
}

/// `eˣ` for x ≤ 0 (Cephes' `expf` polynomial, relative error ~10⁻⁷), without branches: the
/// argument is clamped where the result underflows, and 2ⁿ is built from its exponent bits.
#[inline(always)]
fn exp(x: f32) -> f32 {
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // Adding and subtracting 1.5·2²³ rounds to the nearest integer without a libm call.
    const ROUND: f32 = 12_582_912.0;
    let x = x.max(-87.0);
    let n = (x * std::f32::consts::LOG2_E + ROUND) - ROUND;
    let r = x - n * LN2_HI - n * LN2_LO;
    let p = ((((1.987_569_2e-4 * r + 1.398_199_9e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2) * r
        + 1.666_666_5e-1)
        * r
        + 0.5;
    let e = p * r * r + r + 1.0;
    // 2ⁿ: with 2²³ added, the biased exponent n + 127 (1 to 254 here) sits in the low
    // mantissa bits; shifting them into the exponent field needs no float-to-int conversion,
    // whose saturating `as` would stop the loop from vectorising.
    e * f32::from_bits((n + (127.0 + 8_388_608.0)).to_bits() << 23)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// erf to double precision (the Taylor series converges fast for |x| ≤ 6 in f64).
    fn erf_reference(x: f64) -> f64 {
        if x.abs() > 6.0 {
            return x.signum();
        }
        // erf(x) = 2/√π · e^{-x²} · Σ 2ⁿ x^{2n+1} / (1·3·…·(2n+1))
        let mut term = x;
        let mut sum = x;
        for n in 1..200 {
            term *= 2.0 * x * x / (2 * n + 1) as f64;
            sum += term;
        }
        2.0 / std::f64::consts::PI.sqrt() * (-x * x).exp() * sum
    }

    #[test]
    fn erf_and_exp_match_double_precision() {
        for i in -8000..=8000 {
            let x = i as f32 / 1000.0;
            let e = erf_reference(f64::from(x));
            assert!(
                (f64::from(erf(x)) - e).abs() < 5e-7,
                "erf({x}) = {} vs {e}",
                erf(x)
            );
            let y = -x.abs() * 10.0;
            let e = f64::from(y).exp();
            assert!(
                (f64::from(exp(y)) - e).abs() <= 3e-7 * e + 1e-38,
                "exp({y}) = {} vs {e}",
                exp(y)
            );
        }
        assert!(exp(-1000.0) < 1e-37);
    }

    /// Training runs on flex under autodiff, where the fast path would cut the gradient: the
    /// derivative must be GELU's, Φ(x) + x·φ(x).
    #[test]
    fn keeps_the_gradient_under_autodiff() {
        let device = Device::flex().autodiff();
        let xs = [-2.0f32, -0.5, 0.0, 0.7, 3.0];
        let x = Tensor::<1>::from_data(TensorData::new(xs.to_vec(), [5]), &device).require_grad();
        let y = gelu(x.clone());
        let values = y.clone().into_data().try_to_vec::<f32>().unwrap();
        let grads = y.sum().backward();
        let got = x.grad(&grads).expect("a gradient for x");
        let got = got.into_data().try_to_vec::<f32>().unwrap();
        for ((x, y), g) in xs.iter().map(|&x| f64::from(x)).zip(values).zip(got) {
            let cdf = 0.5 * (1.0 + erf_reference(x / std::f64::consts::SQRT_2));
            let pdf = (-x * x / 2.0).exp() / (2.0 * std::f64::consts::PI).sqrt();
            assert!((f64::from(y) - x * cdf).abs() < 1e-6, "gelu({x}) = {y}");
            assert!((f64::from(g) - (cdf + x * pdf)).abs() < 1e-5, "gelu'({x}) = {g}");
        }
    }

    #[test]
    fn matches_burns_gelu_on_the_cpu_backend() {
        let device = Device::flex();
        let values: Vec<f32> = (0..70_000).map(|i| (i as f32 - 35_000.0) / 2_500.0).collect();
        let x = Tensor::<2>::from_data(TensorData::new(values, [700, 100]), &device);
        let ours = gelu(x.clone()).into_data().try_to_vec::<f32>().unwrap();
        let burns = activation::gelu(x).into_data().try_to_vec::<f32>().unwrap();
        for (a, b) in ours.iter().zip(&burns) {
            assert!((a - b).abs() <= 1e-6 * (1.0 + b.abs()), "{a} vs {b}");
        }
    }
}
