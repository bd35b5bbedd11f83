//! Preprocessing speed: a 640x480 frame with 4 handwritten digits (MNIST test digits, 40 to
//! 120 px tall) on a ruled page under uneven light, with specks and sensor noise.
//! Bar: at most 1 ms per frame on one core.
//!
//! Run: `cargo bench --bench preprocess`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use digitd::frame::OwnedGrey;
use digitd::preprocess::Preprocessor;

#[path = "../src/preprocess/test_draw.rs"]
mod draw;
use draw::*;

/// Four MNIST digits on a page with specks; `tilted`: on ruled lines tilted by ~4 degrees
/// that the digits touch (the lines are cut away), else beside one horizontal line.
fn four_digit_frame(tilted: bool) -> OwnedGrey {
    let (w, h) = (640, 480);
    let mut canvas = Canvas::new(w, h);
    if tilted {
        for y in (60..h).step_by(70) {
            canvas.stroke((0.0, y as f32), (w as f32, y as f32 - 45.0), 2.0, 0.6);
        }
    } else {
        canvas.ruled_lines(200, 1000, 2, 0.7);
    }
    // (x, y, scale): digits about 40, 60, 80 and 120 px tall.
    let placed = [(40, 40, 2.0), (150, 30, 3.0), (280, 20, 4.0), (420, 220, 6.0)];
    match mnist_test_images(placed.len()) {
        Some(images) => {
            for (img, &(x, y, s)) in images.iter().zip(&placed) {
                canvas.mnist(img, x, y, s, 0.1);
            }
        }
        None => {
            // No MNIST data: drawn glyphs of the same sizes.
            for (d, &(x, y, s)) in [7u8, 2, 1, 0].iter().zip(&placed) {
                let side = 20.0 * s;
                canvas.glyph(*d, (x as f32 + 4.0 * s, y as f32 + 4.0 * s, side * 0.7, side), 1.0 + s, 0.1);
            }
        }
    }
    let avoid: Vec<_> = placed.iter().map(|&(x, y, s)| (x, y, (28.0 * s) as usize, (28.0 * s) as usize)).collect();
    let mut rng = Lcg(42);
    canvas.specks(20, &mut rng, &avoid);
    OwnedGrey { width: w, height: h, data: canvas.render(0.9, uneven_light, 4.0, &mut rng) }
}

fn bench_preprocess(c: &mut Criterion) {
    let frame = four_digit_frame(false);
    let mut pre = Preprocessor::default();
    let found = pre.process(frame.view()).len();
    assert_eq!(found, 4, "the bench frame must hold 4 readable digits");
    eprintln!("stage timings of one frame: {:?}", pre.timings());
    c.bench_function("preprocess 640x480, 4 digits", |b| b.iter(|| pre.process(black_box(frame.view())).len()));

    let frame = four_digit_frame(true);
    let found = pre.process(frame.view()).len();
    assert_eq!(found, 4, "the tilted-lines frame must hold 4 readable digits");
    eprintln!("stage timings of one frame on tilted lines: {:?}", pre.timings());
    c.bench_function("preprocess 640x480, 4 digits on tilted ruled lines", |b| b.iter(|| pre.process(black_box(frame.view())).len()));
}

criterion_group!(benches, bench_preprocess);
criterion_main!(benches);
