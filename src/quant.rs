//! Block-wise int8 weights for a whole module: every large float parameter is stored as blocks
//! of 64 values, each with one f16 scale (absmax / 127), like ggml's Q8_0; small ones (biases,
//! norms) stay f32. The encoder is 32M parameters, so this is what keeps it near 32 MB instead
//! of 64 MB in f16. Loading dequantises into a freshly initialised module of the same
//! architecture, parameter by parameter in visiting order, checking each shape.

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::prelude::*;
use half::f16;

use crate::Error;

const MAGIC: &[u8; 8] = b"SOSQ8\x01\0\0";
pub const BLOCK: usize = 64;
/// Parameters with fewer values than this stay f32: quantising them saves nothing worth the error.
const MIN_QUANTISED: usize = 4096;

const KIND_F32: u8 = 0;
const KIND_Q8: u8 = 1;

struct Writer {
    out: Vec<u8>,
    count: u32,
}

impl ModuleVisitor for Writer {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let tensor = param.val();
        let dims = tensor.dims();
        let values = tensor
            .into_data()
            .convert::<f32>()
            .try_into_vec::<f32>()
            .expect("float parameter");
        self.count += 1;
        let quantise = values.len() >= MIN_QUANTISED;
        self.out.push(if quantise { KIND_Q8 } else { KIND_F32 });
        self.out.push(D as u8);
        for d in dims {
            self.out.extend((d as u32).to_le_bytes());
        }
        if !quantise {
            values.iter().for_each(|v| self.out.extend(v.to_le_bytes()));
            return;
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

/// The module's float parameters as an int8 weight file.
pub fn to_bytes<M: Module>(module: &M) -> Vec<u8> {
    let mut writer = Writer {
        out: Vec::new(),
        count: 0,
    };
    module.visit(&mut writer);
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
            other => Err(format!("parameter {at} has unknown storage kind {other}")),
        }
    }
}

impl ModuleMapper for Reader<'_> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        if self.error.is_some() {
            return param;
        }
        let param = param.map(|tensor| {
            let dims = tensor.dims();
            match self.tensor(&dims) {
                Ok(values) => Tensor::from_data(TensorData::new(values, dims), &tensor.device()),
                Err(e) => {
                    self.error = Some(e);
                    tensor
                }
            }
        });
        self.index += 1;
        param
    }
}

/// Loads an int8 weight file (`what` names it in errors) into `module`, which must have the
/// architecture the file was written from.
pub fn load_into<M: Module>(module: M, bytes: &[u8], what: &str) -> Result<M, Error> {
    let bad = |detail: String| Error::Weights {
        what: what.into(),
        detail,
    };
    if bytes.len() < MAGIC.len() + 4 || &bytes[..MAGIC.len()] != MAGIC {
        return Err(bad("not a sosrisk int8 weight file (wrong magic bytes)".into()));
    }
    let mut reader = Reader {
        bytes,
        pos: MAGIC.len(),
        index: 0,
        error: None,
    };
    let count = reader.u32().map_err(bad)? as usize;
    let module = module.map(&mut reader);
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
    Ok(module)
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
        let bytes = to_bytes(&a);
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
    fn wrong_shape_truncation_and_garbage_are_errors() {
        let device = Device::flex();
        let bytes = to_bytes(&LinearConfig::new(96, 128).init(&device));
        let shape = load_into(LinearConfig::new(128, 96).init(&device), &bytes, "w.q8").unwrap_err();
        assert!(shape.to_string().contains("shape [96, 128]"), "{shape}");
        let short = load_into(LinearConfig::new(96, 128).init(&device), &bytes[..100], "w.q8").unwrap_err();
        assert!(short.to_string().contains("ends early"), "{short}");
        let junk = load_into(LinearConfig::new(96, 128).init(&device), b"not weights", "w.q8").unwrap_err();
        assert!(junk.to_string().contains("magic"), "{junk}");
    }
}
