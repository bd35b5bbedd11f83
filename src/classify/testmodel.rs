//! Tiny hand-encoded ONNX models for tests: one `Conv` whose kernel covers the whole input,
//! so `[N, 1, S, S]` maps to `[N, C, 1, 1]`. Lets tests build valid models of any shape
//! (including wrong ones) without Python or the real artifacts.
//!
//! The protobuf is written by hand: a dozen fields of `onnx.proto` are all that is needed.

/// The batch dimension of the generated model's input.
#[derive(Clone, Copy, Debug)]
pub enum Batch {
    /// Symbolic `N`.
    Any,
    Fixed(u64),
}

/// A model `logits[c] = bias[c] + weight(c) * sum(input)` with input `[batch, 1, side, side]`
/// and output `[batch, bias.len(), 1, 1]`, where `weight(c) = class_weight * c`.
pub fn conv_model(side: u64, batch: Batch, class_weight: f32, bias: &[f32]) -> Vec<u8> {
    let classes = bias.len() as u64;
    let kernel_len = (classes * side * side) as usize;
    let mut weights = Vec::with_capacity(kernel_len * 4);
    for c in 0..classes {
        for _ in 0..side * side {
            weights.extend_from_slice(&(class_weight * c as f32).to_le_bytes());
        }
    }
    let bias_bytes: Vec<u8> = bias.iter().flat_map(|b| b.to_le_bytes()).collect();

    let node = [
        field_str(1, "input"),
        field_str(1, "W"),
        field_str(1, "B"),
        field_str(2, "logits"),
        field_str(3, "conv"),
        field_str(4, "Conv"),
        field_bytes(5, &int_attr_list("kernel_shape", &[side, side])),
    ]
    .concat();
    let node = [field_bytes(1, &node)].concat();
    let init_w = tensor("W", &[classes, 1, side, side], &weights);
    let init_b = tensor("B", &[classes], &bias_bytes);
    let graph = [
        node,
        field_str(2, "testmodel"),
        field_bytes(5, &init_w),
        field_bytes(5, &init_b),
        field_bytes(11, &value_info("input", &[batch_dim(batch), Some(1), Some(side), Some(side)])),
        field_bytes(12, &value_info("logits", &[batch_dim(batch), Some(classes), Some(1), Some(1)])),
    ]
    .concat();
    let opset = [field_str(1, ""), field_varint(2, 13)].concat();
    [field_varint(1, 7), field_str(2, "digitd-tests"), field_bytes(7, &graph), field_bytes(8, &opset)].concat()
}

fn batch_dim(b: Batch) -> Option<u64> {
    match b {
        Batch::Any => None,
        Batch::Fixed(n) => Some(n),
    }
}

/// An INTS attribute message.
fn int_attr_list(name: &str, values: &[u64]) -> Vec<u8> {
    let mut a = field_str(1, name);
    a.extend(field_varint(20, 7)); // AttributeType INTS
    for &v in values {
        a.extend(field_varint(8, v));
    }
    a
}

fn tensor(name: &str, dims: &[u64], raw: &[u8]) -> Vec<u8> {
    let mut t = Vec::new();
    for &d in dims {
        t.extend(field_varint(1, d));
    }
    t.extend(field_varint(2, 1)); // FLOAT
    t.extend(field_str(8, name));
    t.extend(field_bytes(9, raw));
    t
}

/// A float tensor value info; `None` dims are the symbol `N`.
fn value_info(name: &str, dims: &[Option<u64>]) -> Vec<u8> {
    let mut shape = Vec::new();
    for d in dims {
        let dim = match d {
            Some(v) => field_varint(1, *v),
            None => field_str(2, "N"),
        };
        shape.extend(field_bytes(1, &dim));
    }
    let tensor_type = [field_varint(1, 1), field_bytes(2, &shape)].concat();
    let type_proto = field_bytes(1, &tensor_type);
    [field_str(1, name), field_bytes(2, &type_proto)].concat()
}

fn varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn field_varint(field: u64, v: u64) -> Vec<u8> {
    let mut out = Vec::new();
    varint(field << 3, &mut out);
    varint(v, &mut out);
    out
}

fn field_bytes(field: u64, bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    varint((field << 3) | 2, &mut out);
    varint(bytes.len() as u64, &mut out);
    out.extend_from_slice(bytes);
    out
}

fn field_str(field: u64, s: &str) -> Vec<u8> { field_bytes(field, s.as_bytes()) }

/// A `MANIFEST.json` for `onnx` (written next to it as `file`), with the given declared
/// input shape (JSON text such as `["N",1,28,28]`).
pub fn manifest_for(onnx: &[u8], file: &str, input_shape: &str, min_confidence: f32) -> String {
    format!(
        r#"{{"schema_version": 1,
  "classes": ["0","1","2","3","4","5","6","7","8","9","not_a_digit"],
  "reject": {{"min_confidence": {min_confidence}}},
  "onnx": {{"file": "{file}", "sha256": "{sha}", "bytes": {bytes},
           "input":  {{"name": "input",  "shape": {input_shape}, "dtype": "float32", "layout": "NCHW", "scale": "0..1"}},
           "output": {{"name": "logits", "shape": ["N",11,1,1],  "dtype": "float32", "layout": "NCHW", "kind": "logits"}}}}}}
"#,
        sha = super::manifest::sha256_hex(onnx),
        bytes = onnx.len()
    )
}
