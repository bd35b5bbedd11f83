//! digitd: reads handwritten digits from camera frames.
//!
//! One pipeline with swappable ends:
//!
//! ```text
//! FrameSource ──► GreyImage ──► Preprocessor ──► [DigitTensor] ──► Classifier ──► policy ──► Display
//! (files, clip,    (Y plane,     (fixed-point:     (28x28 u8,        (CPU/tract,    (reject,
//!  V4L2 later)      borrowed)     polarity, binarise, MNIST style)     NPU later)     stabilise)
//!                                 components, normalise)
//! ```
//!
//! Hardware access lives at the edges (`source`, `display` back ends, `classify` back ends);
//! everything in between is pure and unit-tested.

pub mod app;
pub mod classify;
pub mod config;
pub mod display;
pub mod frame;
pub mod logging;
pub mod pipeline;
pub mod policy;
pub mod preprocess;
pub mod source;
pub mod synth;
#[cfg(feature = "web")]
pub mod web;
