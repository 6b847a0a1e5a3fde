//! Block-wise quantised weights for a whole module. Every large float parameter is stored in
//! blocks, either as int8, 64 values per f16 scale (absmax / 127, like ggml's Q8_0), or with
//! fewer bits, 32 values per f16 scale and f16 minimum (like ggml's Q4_1); a [`Policy`] gives
//! embedding tables and the rest their bits. Small parameters (biases, norms) stay f32. The
//! encoder is 32M parameters, a third of them its word embeddings: int8 keeps it near 32 MB
//! instead of 64 MB in f16, and 4-bit embeddings with 5-bit layers take it under the page's
//! 25 MB download budget. An embedding row is only looked up, never multiplied through a whole
//! layer, so it takes the fewest bits. Loading dequantises
//! into a freshly initialised module of the same architecture, parameter by parameter in
//! visiting order, checking each shape.

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::prelude::*;
use half::f16;

use crate::Error;

const MAGIC: &[u8; 8] = b"SOSQ8\x01\0\0";
pub const BLOCK: usize = 64;
/// Block length of the low-bit kind: smaller than int8's, since each value has fewer levels.
pub const LOW_BLOCK: usize = 32;
/// Parameters with fewer values than this stay f32: quantising them saves nothing worth the error.
const MIN_QUANTISED: usize = 4096;

const KIND_F32: u8 = 0;
const KIND_Q8: u8 = 1;
/// `bits` (one byte, 2–7), then per block: f16 scale, f16 minimum, the values packed LSB first.
const KIND_LOW: u8 = 2;

/// Bits per value for each kind of large parameter (8 is the int8 kind).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Policy {
    pub embedding_bits: u8,
    pub other_bits: u8,
}

/// What the shipped encoder uses. Chosen on the validation fold among 8/8, 4/8, 4/7, 4/6, 4/5
/// and 3/6 bits (embeddings/rest): 4/5 scored the same as all-int8 there (mean of binary F1
/// and weighted F1 0.630 vs 0.630) at 22.6 MB instead of 32.7 MB; 3-bit embeddings lost 0.6
/// points. The README's quantisation table has every candidate's figures.
pub const DEFAULT_POLICY: Policy = Policy {
    embedding_bits: 4,
    other_bits: 5,
};

/// Plain int8 everywhere (the format's first version).
pub const INT8: Policy = Policy {
    embedding_bits: 8,
    other_bits: 8,
};

fn pack_low(values: &[f32], bits: u8, out: &mut Vec<u8>) {
    let levels = ((1u32 << bits) - 1) as f32;
    for block in values.chunks(LOW_BLOCK) {
        let min = block.iter().copied().fold(f32::INFINITY, f32::min);
        let max = block.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let min16 = f16::from_f32(min);
        let scale16 = f16::from_f32((max - min16.to_f32()) / levels);
        let (lo, step) = (min16.to_f32(), scale16.to_f32());
        out.extend(scale16.to_le_bytes());
        out.extend(min16.to_le_bytes());
        let mut acc = 0u32;
        let mut filled = 0u8;
        for v in block {
            let q = if step > 0.0 {
                ((v - lo) / step).round().clamp(0.0, levels) as u32
            } else {
                0
            };
            acc |= q << filled;
            filled += bits;
            while filled >= 8 {
                out.push(acc as u8);
                acc >>= 8;
                filled -= 8;
            }
        }
        if filled > 0 {
            out.push(acc as u8);
        }
    }
}

fn low_block_bytes(len: usize, bits: u8) -> usize {
    4 + (len * bits as usize).div_ceil(8)
}

fn unpack_low(block: &[u8], len: usize, bits: u8, values: &mut Vec<f32>) {
    let step = f16::from_le_bytes([block[0], block[1]]).to_f32();
    let lo = f16::from_le_bytes([block[2], block[3]]).to_f32();
    let mask = (1u32 << bits) - 1;
    let (mut acc, mut filled) = (0u32, 0u8);
    let mut bytes = block[4..].iter();
    for _ in 0..len {
        while filled < bits {
            acc |= u32::from(*bytes.next().expect("block length checked")) << filled;
            filled += 8;
        }
        values.push(lo + (acc & mask) as f32 * step);
        acc >>= bits;
        filled -= bits;
    }
}

struct Writer {
    out: Vec<u8>,
    count: u32,
    policy: Policy,
    /// Container types from the root to the parameter being visited.
    containers: Vec<String>,
}

impl ModuleVisitor for Writer {
    fn enter_module(&mut self, _name: &str, container_type: &str) {
        self.containers.push(container_type.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.containers.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let tensor = param.val();
        let dims = tensor.dims();
        let values = tensor
            .into_data()
            .convert::<f32>()
            .try_into_vec::<f32>()
            .expect("float parameter");
        self.count += 1;
        let bits = if self.containers.last().is_some_and(|c| c == "Struct:Embedding") {
            self.policy.embedding_bits
        } else {
            self.policy.other_bits
        };
        let kind = match (values.len() >= MIN_QUANTISED, bits) {
            (false, _) => KIND_F32,
            (true, 8) => KIND_Q8,
            (true, _) => KIND_LOW,
        };
        self.out.push(kind);
        self.out.push(D as u8);
        for d in dims {
            self.out.extend((d as u32).to_le_bytes());
        }
        match kind {
            KIND_F32 => {
                values.iter().for_each(|v| self.out.extend(v.to_le_bytes()));
                return;
            }
            KIND_LOW => {
                self.out.push(bits);
                pack_low(&values, bits, &mut self.out);
                return;
            }
            _ => {}
        }
        for block in values.chunks(BLOCK) {
            let max = block.iter().fold(0f32, |m, v| m.max(v.abs()));
            let scale = f16::from_f32(max / 127.0);
            let s = scale.to_f32();
            self.out.extend(scale.to_le_bytes());
            for v in block {
                let q = if s > 0.0 {
                    (v / s).round().clamp(-127.0, 127.0)
                } else {
                    0.0
                };
                self.out.push(q as i8 as u8);
            }
        }
    }
}

/// The module's float parameters as a quantised weight file.
pub fn to_bytes<M: Module>(module: &M, policy: Policy) -> Vec<u8> {
    to_bytes_with::<M, M>(module, None, policy)
}

/// [`to_bytes`] of `module`, then of `extra`'s parameters in the same file.
pub fn to_bytes_with<M: Module, N: Module>(module: &M, extra: Option<&N>, policy: Policy) -> Vec<u8> {
    assert!(
        [policy.embedding_bits, policy.other_bits]
            .iter()
            .all(|b| (2..=8).contains(b)),
        "{policy:?}: 2 to 8 bits"
    );
    let mut writer = Writer {
        out: Vec::new(),
        count: 0,
        policy,
        containers: Vec::new(),
    };
    module.visit(&mut writer);
    if let Some(extra) = extra {
        extra.visit(&mut writer);
    }
    let mut bytes = MAGIC.to_vec();
    bytes.extend(writer.count.to_le_bytes());
    bytes.extend(writer.out);
    bytes
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    index: usize,
    error: Option<String>,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], String> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end = end.ok_or_else(|| format!("ends early (at byte {} of {})", self.pos, self.bytes.len()))?;
        let slice = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(slice)
    }

    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes")))
    }

    fn tensor(&mut self, dims: &[usize]) -> Result<Vec<f32>, String> {
        let at = self.index;
        let kind = self.take(1)?[0];
        let rank = self.take(1)?[0] as usize;
        let mut stored = Vec::with_capacity(rank);
        for _ in 0..rank {
            stored.push(self.u32()? as usize);
        }
        if stored != dims {
            return Err(format!(
                "parameter {at} has shape {stored:?}, the architecture expects {dims:?}"
            ));
        }
        let n: usize = dims.iter().product();
        match kind {
            KIND_F32 => Ok(self
                .take(n * 4)?
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes")))
                .collect()),
            KIND_Q8 => {
                let mut values = Vec::with_capacity(n);
                let mut left = n;
                while left > 0 {
                    let len = left.min(BLOCK);
                    let scale = f16::from_le_bytes(self.take(2)?.try_into().expect("2 bytes")).to_f32();
                    values.extend(self.take(len)?.iter().map(|&q| f32::from(q as i8) * scale));
                    left -= len;
                }
                Ok(values)
            }
            KIND_LOW => {
                let bits = self.take(1)?[0];
                if !(2..8).contains(&bits) {
                    return Err(format!("parameter {at} claims {bits} bits per value"));
                }
                let mut values = Vec::with_capacity(n);
                let mut left = n;
                while left > 0 {
                    let len = left.min(LOW_BLOCK);
                    let block = self.take(low_block_bytes(len, bits))?;
                    unpack_low(block, len, bits, &mut values);
                    left -= len;
                }
                Ok(values)
            }
            other => Err(format!("parameter {at} has unknown storage kind {other}")),
        }
    }
}

impl ModuleMapper for Reader<'_> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        if self.error.is_some() {
            return param;
        }
        // The shape and device without initialising: a fresh module's parameters are lazy, and
        // drawing 32M random numbers only to overwrite them was a fifth of the load time.
        let dims: [usize; D] = param.lazy_shape().dims();
        let device = param.lazy_device();
        let param = match self.tensor(&dims) {
            Ok(values) => {
                let id = param.id;
                param.transform_for_load(Tensor::from_data(TensorData::new(values, dims), &device), id)
            }
            Err(e) => {
                self.error = Some(e);
                param
            }
        };
        self.index += 1;
        param
    }
}

/// Appends `extra`'s parameters to a weight file without touching (or quantising again) what
/// it holds: `load_into_with(…, Some(extra), …)` reads the result.
pub fn append<N: Module>(bytes: &[u8], extra: &N, policy: Policy, what: &str) -> Result<Vec<u8>, Error> {
    let count = header_count(bytes, what)?;
    let tail = to_bytes(extra, policy);
    let mut out = MAGIC.to_vec();
    out.extend((count + header_count(&tail, what)?).to_le_bytes());
    out.extend(&bytes[MAGIC.len() + 4..]);
    out.extend(&tail[MAGIC.len() + 4..]);
    Ok(out)
}

fn header_count(bytes: &[u8], what: &str) -> Result<u32, Error> {
    if bytes.len() < MAGIC.len() + 4 || &bytes[..MAGIC.len()] != MAGIC {
        return Err(Error::Weights {
            what: what.into(),
            detail: "not a sosrisk quantised weight file (wrong magic bytes)".into(),
        });
    }
    Ok(u32::from_le_bytes(
        bytes[MAGIC.len()..MAGIC.len() + 4].try_into().expect("4 bytes"),
    ))
}

/// Loads a quantised weight file (`what` names it in errors) into `module`, which must have the
/// architecture the file was written from.
pub fn load_into<M: Module>(module: M, bytes: &[u8], what: &str) -> Result<M, Error> {
    load_into_with::<M, M>(module, None, bytes, what).map(|(m, _)| m)
}

/// [`load_into`] `module`, then `extra` from the rest of the file ([`to_bytes_with`], [`append`]).
pub fn load_into_with<M: Module, N: Module>(
    module: M,
    extra: Option<N>,
    bytes: &[u8],
    what: &str,
) -> Result<(M, Option<N>), Error> {
    let bad = |detail: String| Error::Weights {
        what: what.into(),
        detail,
    };
    let count = header_count(bytes, what)? as usize;
    let mut reader = Reader {
        bytes,
        pos: MAGIC.len() + 4,
        index: 0,
        error: None,
    };
    let module = module.map(&mut reader);
    let extra = extra.map(|e| e.map(&mut reader));
    if let Some(e) = reader.error {
        return Err(bad(e));
    }
    if reader.index != count || reader.pos != bytes.len() {
        return Err(bad(format!(
            "holds {count} parameters in {} bytes, the architecture has {} and {} bytes were read",
            bytes.len(),
            reader.index,
            reader.pos
        )));
    }
    Ok((module, extra))
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::{Linear, LinearConfig};

    fn values(l: &Linear) -> Vec<f32> {
        l.weight.val().into_data().try_into_vec::<f32>().unwrap()
    }

    #[test]
    fn round_trip_error_is_within_half_a_step_per_block() {
        let device = Device::flex();
        device.seed(1);
        let a = LinearConfig::new(96, 128).init(&device);
        let bytes = to_bytes(&a, INT8);
        // 12,288 weights as int8 + one f16 scale per 64, plus 128 f32 biases and headers.
        assert!(
            bytes.len() < 12_288 + 12_288 / 64 * 2 + 128 * 4 + 64,
            "{} bytes",
            bytes.len()
        );
        device.seed(2);
        let b = load_into(LinearConfig::new(96, 128).init(&device), &bytes, "test").unwrap();
        let (wa, wb) = (values(&a), values(&b));
        for (block_a, block_b) in wa.chunks(BLOCK).zip(wb.chunks(BLOCK)) {
            let step = block_a.iter().fold(0f32, |m, v| m.max(v.abs())) / 127.0;
            for (x, y) in block_a.iter().zip(block_b) {
                assert!((x - y).abs() <= step * 0.51 + 1e-6, "{x} vs {y}");
            }
        }
        let bias = |l: &Linear| {
            l.bias
                .as_ref()
                .unwrap()
                .val()
                .into_data()
                .try_into_vec::<f32>()
                .unwrap()
        };
        assert_eq!(bias(&a), bias(&b), "small parameters stay exact");
    }

    #[test]
    fn low_bit_round_trip_is_within_half_a_step_per_block() {
        let device = Device::flex();
        for bits in [3, 4, 5] {
            device.seed(3);
            // 97 × 128: the last block of the weight is a partial one.
            let a = LinearConfig::new(97, 128).init(&device);
            let policy = Policy {
                embedding_bits: 8,
                other_bits: bits,
            };
            let bytes = to_bytes(&a, policy);
            let packed = 97 * 128 * bits as usize / 8 + (97 * 128usize).div_ceil(LOW_BLOCK) * 4;
            assert!(
                bytes.len() < packed + 128 * 4 + 64,
                "{bits} bits: {} bytes",
                bytes.len()
            );
            let b = load_into(LinearConfig::new(97, 128).init(&device), &bytes, "test").unwrap();
            let levels = ((1u32 << bits) - 1) as f32;
            for (block_a, block_b) in values(&a).chunks(LOW_BLOCK).zip(values(&b).chunks(LOW_BLOCK)) {
                let (lo, hi) = block_a
                    .iter()
                    .fold((f32::MAX, f32::MIN), |(l, h), &v| (l.min(v), h.max(v)));
                // Half a step, plus the f16 rounding of the block's minimum and scale.
                let step = (hi - lo) / levels;
                for (x, y) in block_a.iter().zip(block_b) {
                    assert!(
                        (x - y).abs() <= step * 0.51 + lo.abs() * 1e-3 + 1e-6,
                        "{bits} bits: {x} vs {y}"
                    );
                }
            }
        }
    }

    #[test]
    fn embeddings_and_other_parameters_get_their_own_bits() {
        use burn::nn::{Embedding, EmbeddingConfig};
        #[derive(Module, Debug)]
        struct Both {
            table: Embedding,
            layer: Linear,
        }
        let device = Device::flex();
        let both = Both {
            table: EmbeddingConfig::new(256, 64).init(&device),
            layer: LinearConfig::new(64, 128).init(&device),
        };
        let size = |policy| to_bytes(&both, policy).len();
        let n = 256 * 64 + 64 * 128;
        assert!(size(INT8) > n, "int8: one byte a value");
        let low = size(DEFAULT_POLICY);
        let expected = 16_384 / 2 + 16_384 / LOW_BLOCK * 4 + 8_192 * 5 / 8 + 8_192 / LOW_BLOCK * 4;
        assert!(low >= expected && low < expected + 1024, "{low} vs {expected}");
    }

    #[test]
    fn appended_parameters_load_after_the_untouched_rest() {
        let device = Device::flex();
        device.seed(4);
        let main = LinearConfig::new(96, 128).init(&device);
        let extra = LinearConfig::new(64, 80).init(&device);
        let bytes = to_bytes(&main, DEFAULT_POLICY);
        let appended = append(&bytes, &extra, DEFAULT_POLICY, "w.q8").unwrap();
        // The same bytes as writing both at once, and the first module's bytes untouched.
        assert_eq!(appended, to_bytes_with(&main, Some(&extra), DEFAULT_POLICY));
        assert_eq!(appended[12..bytes.len()], bytes[12..]);
        let fresh = || LinearConfig::new(96, 128).init(&device);
        let (a, b) = load_into_with(
            fresh(),
            Some(LinearConfig::new(64, 80).init(&device)),
            &appended,
            "w.q8",
        )
        .unwrap();
        assert_eq!(values(&a), values(&load_into(fresh(), &bytes, "w.q8").unwrap()));
        let want = load_into(
            LinearConfig::new(64, 80).init(&device),
            &to_bytes(&extra, DEFAULT_POLICY),
            "x",
        );
        assert_eq!(values(&b.unwrap()), values(&want.unwrap()));
        // Without the extra module the file has parameters left over: an error, not a silent skip.
        let left = load_into(fresh(), &appended, "w.q8").unwrap_err();
        assert!(left.to_string().contains("holds 4 parameters"), "{left}");
    }

    #[test]
    fn wrong_shape_truncation_and_garbage_are_errors() {
        let device = Device::flex();
        let bytes = to_bytes(&LinearConfig::new(96, 128).init(&device), INT8);
        let shape = load_into(LinearConfig::new(128, 96).init(&device), &bytes, "w.q8").unwrap_err();
        assert!(shape.to_string().contains("shape [96, 128]"), "{shape}");
        let short = load_into(LinearConfig::new(96, 128).init(&device), &bytes[..100], "w.q8").unwrap_err();
        assert!(short.to_string().contains("ends early"), "{short}");
        let junk = load_into(LinearConfig::new(96, 128).init(&device), b"not weights", "w.q8").unwrap_err();
        assert!(junk.to_string().contains("magic"), "{junk}");
    }
}
