//! Cost of the web view's live image: drawing the annotated camera view and JPEG-encoding it,
//! once per streamed frame (shared by every client). It runs on a web thread at low priority,
//! but on a small board it is the web view's main CPU cost: stream_fps x this time.
//!
//! Run: `cargo bench --bench web`

use std::hint::black_box;
use std::time::SystemTime;

use criterion::{criterion_group, criterion_main, Criterion};
use digitd::frame::OwnedGrey;
use digitd::pipeline::RecognizedDigit;
use digitd::preprocess::BoundingBox;
use digitd::web::hub::LiveFrame;
use digitd::web::render::annotated_jpeg;

fn live_frame() -> LiveFrame {
    let (w, h) = (640, 480);
    // A lit page with a soft gradient and some texture, so the encoder has real work.
    let data = (0..w * h).map(|i| (150 + (i % w) / 8 + (i / w) / 12 + (i * 7919 % 13)) as u8).collect();
    let digit = |x, digit| RecognizedDigit {
        bbox: BoundingBox { x, y: 180, w: 60, h: 90 },
        row: 0,
        digit,
        confidence: 0.98,
        accepted: true,
    };
    LiveFrame {
        seq: 1,
        time: SystemTime::now(),
        image: OwnedGrey { width: w, height: h, data },
        digits: vec![digit(100, 2), digit(200, 5), digit(300, 9), digit(400, 2)],
        tensors: vec![],
        shown: Some("2592".into()),
    }
}

fn bench_live_view(c: &mut Criterion) {
    let frame = live_frame();
    for (width, quality) in [(640, 80), (320, 80)] {
        c.bench_function(&format!("live view {width} px wide, JPEG quality {quality}"), |b| {
            b.iter(|| annotated_jpeg(black_box(&frame), width, quality).map(|j| j.len()))
        });
    }
}

criterion_group!(benches, bench_live_view);
criterion_main!(benches);
