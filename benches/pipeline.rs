//! Whole-pipeline speed on one core: preprocessing + CPU classification of a 640x480 frame
//! holding 4 handwritten digits (MNIST test digits, 56 to 140 px tall, dark ink on a
//! lit-from-the-side page). Bar: at least 500 frames/s (2 ms per frame).
//!
//! Also compares the classifier's batching choices on the same 4 digits.
//!
//! Run: `cargo bench --bench pipeline` (needs `model/artifacts/MANIFEST.json`; pin to one
//! core with `taskset -c 0` for steadier numbers).

use std::hint::black_box;
use std::io::Read;
use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion};
use digitd::classify::cpu::{Batching, CpuClassifier};
use digitd::classify::{Classifier, Manifest};
use digitd::frame::OwnedGrey;
use digitd::pipeline::Pipeline;
use digitd::policy::AcceptRule;
use digitd::preprocess::{DigitTensor, PreprocessConfig, Preprocessor};

const MANIFEST: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/model/artifacts/MANIFEST.json");
const MNIST: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data/mnist/t10k-images-idx3-ubyte.gz");

/// The first `n` MNIST test digits (28x28, ink bright).
fn mnist_digits(n: usize) -> Vec<[u8; 784]> {
    let file = std::fs::File::open(MNIST).unwrap_or_else(|e| panic!("{MNIST}: {e}"));
    let mut bytes = Vec::new();
    flate2::read::GzDecoder::new(file).read_to_end(&mut bytes).expect("MNIST gzip");
    assert_eq!(&bytes[..4], &[0, 0, 8, 3], "idx3 magic");
    bytes[16..].chunks_exact(784).take(n).map(|c| c.try_into().unwrap()).collect()
}

/// 640x480 page: brightness falls from 215 to 165 left to right; 4 digits scaled 2x-5x
/// (bilinear), ink darkening the paper by up to 70 %.
fn four_digit_frame() -> OwnedGrey {
    let (w, h) = (640usize, 480usize);
    let paper = |x: usize| 215.0 - 50.0 * x as f32 / w as f32;
    let mut data: Vec<f32> = (0..w * h).map(|i| paper(i % w)).collect();
    for (digit, (x0, y0, scale)) in mnist_digits(4).iter().zip([(40, 60, 2.0f32), (150, 40, 3.0), (290, 60, 4.0), (430, 150, 5.0)]) {
        let side = (28.0 * scale) as usize;
        for oy in 0..side {
            for ox in 0..side {
                let (sx, sy) = ((ox as f32 + 0.5) / scale - 0.5, (oy as f32 + 0.5) / scale - 0.5);
                let ink = bilinear(digit, sx, sy) / 255.0;
                let px = &mut data[(y0 + oy) * w + x0 + ox];
                *px *= 1.0 - 0.7 * ink;
            }
        }
    }
    OwnedGrey { width: w, height: h, data: data.iter().map(|&v| v.round().clamp(0.0, 255.0) as u8).collect() }
}

fn bilinear(img: &[u8; 784], x: f32, y: f32) -> f32 {
    let at = |x: i32, y: i32| if (0..28).contains(&x) && (0..28).contains(&y) { img[(y * 28 + x) as usize] as f32 } else { 0.0 };
    let (x0, y0) = (x.floor(), y.floor());
    let (fx, fy) = (x - x0, y - y0);
    let (x0, y0) = (x0 as i32, y0 as i32);
    let top = at(x0, y0) * (1.0 - fx) + at(x0 + 1, y0) * fx;
    let bottom = at(x0, y0 + 1) * (1.0 - fx) + at(x0 + 1, y0 + 1) * fx;
    top * (1.0 - fy) + bottom * fy
}

fn bench(c: &mut Criterion) {
    if !Path::new(MANIFEST).is_file() {
        eprintln!("skipping the pipeline bench: {MANIFEST} does not exist (build the model first)");
        return;
    }
    let manifest = Manifest::load(Path::new(MANIFEST)).expect("manifest");
    let frame = four_digit_frame();

    let classifier = CpuClassifier::load(&manifest).expect("model");
    let rule = AcceptRule { strict: manifest.reject.thresholds(), row: Some(digitd::policy::DEFAULT_ROW_RULE), lone: Some(digitd::policy::DEFAULT_LONE_RULE) };
    let mut pipeline = Pipeline::new(PreprocessConfig::default(), Box::new(classifier), rule);
    let result = pipeline.process(frame.view()).expect("pipeline");
    eprintln!("bench frame: {} candidates, reading {:?}", result.digits.len(), result.reading);
    assert_eq!(result.digits.len(), 4, "the bench frame should hold 4 digits");

    c.bench_function("pipeline 640x480, 4 digits (preprocess + cpu classify)", |b| {
        b.iter(|| {
            let r = pipeline.process(black_box(frame.view())).unwrap();
            black_box(r.reading.len())
        })
    });

    let mut pre = Preprocessor::new(PreprocessConfig::default());
    c.bench_function("preprocess only 640x480, 4 digits", |b| b.iter(|| black_box(pre.process(black_box(frame.view())).len())));

    let tensors: Vec<DigitTensor> = pre.process(frame.view()).iter().map(|d| d.tensor.clone()).collect();
    let mut group = c.benchmark_group("classify 4 digits");
    for (name, batching) in [("symbolic batch", Batching::Symbolic), ("fixed batch 4", Batching::Fixed(4)), ("fixed batch 8 (padded)", Batching::Fixed(8)), ("batch 1 x4", Batching::Fixed(1))] {
        let mut cls = CpuClassifier::load_with(&manifest, batching).expect("model");
        let mut out = Vec::new();
        group.bench_function(name, |b| {
            b.iter(|| {
                cls.classify(black_box(&tensors), &mut out).unwrap();
                black_box(out.len())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
