//! The technician's web view (cargo feature `web`): a page with the annotated live picture
//! (MJPEG), the reading, frame rate, per-stage latency, NPU time and CPU temperature;
//! `/api/status` (JSON), `/metrics` (Prometheus), `/snapshot.jpg`, and field capture
//! (`POST /api/capture`) when a capture folder is configured.
//!
//! Off by default, bound to the configured address only, optionally behind a bearer token.
//! The pipeline hands frames over through [`hub::Publisher`] and never waits for the web.

pub mod capture;
pub mod hub;
mod http;
pub mod render;
mod sched;
mod server;
pub mod status;

use std::net::SocketAddr;

use thiserror::Error;

pub use hub::{FrameContext, Hub, Publisher};
pub use server::WebServer;

#[derive(Debug, Error)]
pub enum WebError {
    #[error("web view: cannot listen on {addr}: {reason}")]
    Bind { addr: SocketAddr, reason: String },
}
