//! The encoder's linear layers, `x · W + b`, on the CPU backend at inference in the page.
//!
//! burn's flex backend multiplies with the `gemm` crate, which packs `W` into panels on every
//! call and, in WebAssembly, runs an 8×4 kernel: at the page's shapes (about 47 tokens × 384 ×
//! 384 or 1536) it reached 15–42 GFLOP/s in Chromium where this kernel reaches 40–55, close to
//! what separate SIMD multiplies and adds can do (both compiled into one wasm module, same
//! machine). This one reads `W` where it lies, eight columns at a time, and starts from the
//! bias. Training (autodiff) and wgpu keep burn's own `Linear::forward`: the gradient needs
//! burn's graph, and the GPU has its own kernels.

use burn::backend::Flex;
use burn::nn::Linear;
use burn::prelude::*;

/// Output columns per strip: two wasm SIMD vectors, one AVX vector.
const NR: usize = 8;
/// Rows per tile: 4 × 8 accumulators, the strip's row and `x`'s value fit 16 SIMD registers.
const MR: usize = 4;
/// Rows of `W` per pass: a 256 × 8 strip (8 KiB) stays in L1 while every row tile reads it.
const KC: usize = 256;

/// `layer.forward(x)`; in WebAssembly on flex without autodiff, through [`matmul_bias`].
///
/// Natively burn's `gemm` stays: it has AVX-512 kernels with fused multiply-add where this one is
/// left to the compiler's baseline SSE, and the model was twice as slow per text with this one
/// (e5 on flex, batch 1 and 32).
pub fn linear<const D: usize>(layer: &Linear, x: Tensor<D>) -> Tensor<D> {
    if cfg!(target_family = "wasm")
        && let Some(y) = on_flex(layer, &x)
    {
        return y;
    }
    layer.forward(x)
}

/// `x · W + b` by [`matmul_bias`], or `None` where it does not apply: another backend, autodiff,
/// a width that is not a multiple of [`NR`], or storage that is not f32.
fn on_flex<const D: usize>(layer: &Linear, x: &Tensor<D>) -> Option<Tensor<D>> {
    if x.device() != Device::flex() || x.is_autodiff() {
        return None;
    }
    let weight = layer.weight.val();
    let [k, n] = weight.dims();
    let mut shape = x.dims();
    if !n.is_multiple_of(NR) || shape[D - 1] != k {
        return None;
    }
    let weight = weight.try_into_primitive::<Flex>().ok()?;
    let bias = match &layer.bias {
        Some(b) => Some(b.val().try_into_primitive::<Flex>().ok()?),
        None => None,
    };
    let input = x.clone().try_into_primitive::<Flex>().ok()?;
    let input = if input.is_contiguous() {
        input
    } else {
        input.to_contiguous()
    };
    let bias = match &bias {
        Some(b) => Some(b.as_slice::<f32>()?),
        None => None,
    };
    let xs = input.as_slice::<f32>()?;
    let y = matmul_bias(xs, weight.as_slice::<f32>()?, bias, xs.len() / k, k, n);
    shape[D - 1] = n;
    Some(Tensor::from_data(TensorData::new(y, shape), &x.device()))
}

/// `x[m, k] · w[k, n] + bias[n]`, all row-major; `n` a multiple of [`NR`].
pub fn matmul_bias(x: &[f32], w: &[f32], bias: Option<&[f32]>, m: usize, k: usize, n: usize) -> Vec<f32> {
    assert!(
        x.len() == m * k && w.len() == k * n && n.is_multiple_of(NR),
        "matmul_bias: shapes"
    );
    assert!(bias.is_none_or(|b| b.len() == n), "matmul_bias: bias length");
    let mut y = match bias {
        Some(b) => b.repeat(m),
        None => vec![0.0; m * n],
    };
    accumulate(x, w, &mut y, m, k, n);
    y
}

/// `y[m, n] += x[m, k] · w[k, n]`.
fn accumulate(x: &[f32], w: &[f32], y: &mut [f32], m: usize, k: usize, n: usize) {
    for k0 in (0..k).step_by(KC) {
        let kc = KC.min(k - k0);
        for j in (0..n).step_by(NR) {
            let strip = &w[k0 * n + j..];
            let mut i = 0;
            while i + MR <= m {
                tile::<MR>(&x[i * k + k0..], k, kc, strip, n, &mut y[i * n + j..]);
                i += MR;
            }
            while i < m {
                tile::<1>(&x[i * k + k0..], k, kc, strip, n, &mut y[i * n + j..]);
                i += 1;
            }
        }
    }
}

/// `y[r, 0..8] += Σ_kk x[r, kk] · w[kk, 0..8]` for `R` rows: the compiler turns the `[f32; 8]`
/// arithmetic into SIMD (two 128-bit vectors per row in wasm).
#[inline(always)]
fn tile<const R: usize>(x: &[f32], ldx: usize, kc: usize, w: &[f32], ldw: usize, y: &mut [f32]) {
    // One bounds check per tile instead of one per element keeps the loop vectorisable.
    assert!(x.len() >= (R - 1) * ldx + kc && w.len() >= (kc - 1) * ldw + NR);
    assert!(y.len() >= (R - 1) * ldw + NR);
    let mut acc = [[0.0f32; NR]; R];
    for (r, a) in acc.iter_mut().enumerate() {
        a.copy_from_slice(&y[r * ldw..r * ldw + NR]);
    }
    for kk in 0..kc {
        // SAFETY: kk < kc, so kk * ldw + NR <= (kc - 1) * ldw + NR <= w.len() (asserted above).
        let b: [f32; NR] = unsafe { *(w.as_ptr().add(kk * ldw) as *const [f32; NR]) };
        for (r, a) in acc.iter_mut().enumerate() {
            // SAFETY: r * ldx + kk < (R - 1) * ldx + kc <= x.len() (asserted above).
            let v = unsafe { *x.get_unchecked(r * ldx + kk) };
            for c in 0..NR {
                a[c] += v * b[c];
            }
        }
    }
    for (r, a) in acc.iter().enumerate() {
        y[r * ldw..r * ldw + NR].copy_from_slice(a);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::LinearConfig;

    fn reference(x: &[f32], w: &[f32], bias: &[f32], m: usize, k: usize, n: usize) -> Vec<f64> {
        let mut y = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                y[i * n + j] = f64::from(bias[j])
                    + (0..k)
                        .map(|kk| f64::from(x[i * k + kk]) * f64::from(w[kk * n + j]))
                        .sum::<f64>();
            }
        }
        y
    }

    fn values(len: usize, seed: f32) -> Vec<f32> {
        (0..len).map(|i| (i as f32 * 0.37 + seed).sin() * 1.5).collect()
    }

    #[test]
    fn matches_a_double_precision_product_at_every_tail_shape() {
        // Row counts around the tile height, depths around and over one pass, widths of 1–3 strips.
        for (m, k, n) in [
            (1, 3, 8),
            (3, 17, 16),
            (4, 256, 8),
            (5, 257, 24),
            (7, 600, 16),
            (13, 384, 24),
        ] {
            let (x, w, bias) = (values(m * k, 0.1), values(k * n, 0.7), values(n, 1.3));
            let got = matmul_bias(&x, &w, Some(&bias), m, k, n);
            let want = reference(&x, &w, &bias, m, k, n);
            for (g, e) in got.iter().zip(&want) {
                assert!(
                    (f64::from(*g) - e).abs() < 1e-4 * (1.0 + e.abs()),
                    "{m}×{k}×{n}: {g} vs {e}"
                );
            }
        }
    }

    #[test]
    fn the_flex_path_matches_burns_linear_and_leaves_other_cases_to_burn() {
        let device = Device::flex();
        let layer = LinearConfig::new(48, 32).init(&device);
        let x = Tensor::<3>::from_data(TensorData::new(values(2 * 9 * 48, 0.5), [2, 9, 48]), &device);
        let ours = on_flex(&layer, &x)
            .unwrap()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        let burns = layer.forward(x.clone()).into_data().try_to_vec::<f32>().unwrap();
        assert_eq!(ours.len(), 2 * 9 * 32);
        for (a, b) in ours.iter().zip(&burns) {
            assert!((a - b).abs() < 1e-5 * (1.0 + b.abs()), "{a} vs {b}");
        }
        // A transposed (non-contiguous) input is made contiguous first.
        let xt = Tensor::<3>::from_data(TensorData::new(values(9 * 2 * 48, 0.9), [9, 2, 48]), &device)
            .swap_dims(0, 1);
        let ours = linear(&layer, xt.clone())
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        let burns = layer.forward(xt).into_data().try_to_vec::<f32>().unwrap();
        for (a, b) in ours.iter().zip(&burns) {
            assert!((a - b).abs() < 1e-5 * (1.0 + b.abs()), "{a} vs {b}");
        }
        // Widths that are not a multiple of the strip go to burn.
        let narrow = LinearConfig::new(48, 11).init(&device);
        let got = linear(&narrow, x.clone())
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        assert_eq!(got, narrow.forward(x).into_data().try_to_vec::<f32>().unwrap());
    }
}
