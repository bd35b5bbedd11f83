//! The endpoints: an accept thread and one low-priority thread per connection
//! ([`super::http`]); live streams are capped at `max_clients`. Nothing here can stop the
//! pipeline: handlers only read the hub, and every failure becomes an HTTP status or a log line.

use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use super::http::{self, Request, Serve};
use super::capture;
use super::hub::Hub;
use super::render::annotated_jpeg;
use super::status::{metrics, Status};
use super::WebError;
use crate::config::WebConfig;

const PAGE: &str = include_str!("page.html");
const BOUNDARY: &str = "digitd-frame";
/// A stream with no new frame for this long sends nothing but stays open; the check lets its
/// thread notice a stopping daemon.
const STREAM_POLL: Duration = Duration::from_millis(500);
/// How long `/snapshot.jpg` waits for a first frame.
const SNAPSHOT_WAIT: Duration = Duration::from_secs(2);

/// What the handlers need besides the hub.
#[derive(Clone, Debug)]
struct Settings {
    token: Option<String>,
    max_clients: usize,
    view_width: u32,
    jpeg_quality: u8,
    capture_dir: Option<PathBuf>,
    model_sha256: String,
    /// Captures are taken one at a time (two at once would name the same folder).
    capture_lock: Arc<Mutex<()>>,
}

/// Connections served at once besides the `max_clients` streams (page loads, status polls).
const EXTRA_CONNECTIONS: usize = 16;

/// How often a failed bind is retried (the USB-gadget interface may come up after digitd).
const BIND_RETRY: Duration = Duration::from_secs(5);

/// The running server; stops (and tells its streams to stop) when dropped.
pub struct WebServer {
    hub: Arc<Hub>,
    /// Where the accept loop listens, once bound (to wake it on drop).
    bound: Arc<Mutex<Option<SocketAddr>>>,
    acceptor: Option<JoinHandle<()>>,
}

impl WebServer {
    /// Serves on `cfg.listen` (that address only). The first bind happens before this
    /// returns: `Ok(Err(e))` means it failed and is being retried every few seconds in the
    /// background (the reader keeps working meanwhile); the `SocketAddr` is the address bound.
    pub fn start(cfg: &WebConfig, hub: Arc<Hub>, model_sha256: &str) -> Result<(WebServer, Result<SocketAddr, WebError>), WebError> {
        let settings = Settings {
            token: cfg.token.as_ref().map(|t| t.as_str().to_string()),
            max_clients: cfg.max_clients.get() as usize,
            view_width: cfg.view_width.get(),
            jpeg_quality: cfg.jpeg_quality.get() as u8,
            capture_dir: cfg.capture_dir.clone(),
            model_sha256: model_sha256.to_string(),
            capture_lock: Arc::new(Mutex::new(())),
        };
        let listen = cfg.listen;
        let bind = move || {
            let listener = TcpListener::bind(listen).map_err(|e| WebError::Bind { addr: listen, reason: e.to_string() })?;
            let addr = listener.local_addr().unwrap_or(listen);
            Ok::<_, WebError>((listener, addr))
        };
        let first = bind();
        let bound_now = match &first {
            Ok((_, addr)) => Ok(*addr),
            Err(e) => Err(WebError::Bind { addr: listen, reason: format!("{}; retrying every {} s", reason_of(e), BIND_RETRY.as_secs()) }),
        };
        // The accept thread uses the first bind, then retries with fresh ones.
        let mut first = Some(first);
        let bound = Arc::new(Mutex::new(bound_now.as_ref().ok().copied()));
        let (b, h) = (bound.clone(), hub.clone());
        let acceptor = std::thread::Builder::new()
            .name("web".into())
            .spawn(move || {
                super::sched::lower_current_thread();
                let listener = loop {
                    match first.take().unwrap_or_else(bind) {
                        Ok((listener, addr)) => {
                            if b.lock().unwrap_or_else(|e| e.into_inner()).replace(addr).is_none() {
                                log::info!("web view on http://{addr}/ (bound after retrying)");
                            }
                            break listener;
                        }
                        Err(e) => log::debug!("{e}"),
                    }
                    // Wait for the next try, or for the daemon to stop.
                    if h.wait_closed(BIND_RETRY) {
                        return;
                    }
                };
                // A stop between the bind and here found no address to wake: see it now.
                if h.is_closed() {
                    return;
                }
                let handler_hub = h.clone();
                http::serve(
                    listener,
                    Serve {
                        max_connections: settings.max_clients + EXTRA_CONNECTIONS,
                        handler: move |request| handle(request, &handler_hub, &settings),
                        closed: move || h.is_closed(),
                        on_thread_start: super::sched::lower_current_thread,
                    },
                );
            })
            .map_err(|e| WebError::Bind { addr: listen, reason: format!("cannot start the server thread: {e}") })?;
        Ok((WebServer { hub, bound, acceptor: Some(acceptor) }, bound_now))
    }

    pub fn hub(&self) -> &Arc<Hub> { &self.hub }
}

fn reason_of(e: &WebError) -> &str {
    match e {
        WebError::Bind { reason, .. } => reason,
    }
}

impl Drop for WebServer {
    fn drop(&mut self) {
        self.hub.close();
        if let Some(addr) = *self.bound.lock().unwrap_or_else(|e| e.into_inner()) {
            http::wake(addr);
        }
        if let Some(t) = self.acceptor.take() {
            let _ = t.join();
        }
    }
}

/// Splits `/path?query` and finds `name=` in the query (percent-decoded).
fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    query.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == name).then(|| percent_decode(v))
    })
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Compares without an early exit, so the time taken says nothing about the token.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn authorised(request: &Request, token: &str) -> bool {
    let header = request.header("Authorization").and_then(|v| v.strip_prefix("Bearer ")).map(|v| v.trim().to_string());
    let given = header.or_else(|| query_param(request.url(), "token"));
    given.is_some_and(|g| same_secret(g.as_bytes(), token.as_bytes()))
}

fn respond(request: Request, hub: &Hub, code: u16, content_type: &str, body: Vec<u8>) {
    hub.count_response(code);
    let mut headers = vec![("Content-Type", content_type), ("Cache-Control", "no-store")];
    if code == 401 {
        headers.push(("WWW-Authenticate", "Bearer"));
    }
    // The client may have gone; nothing to do about it.
    let _ = request.respond(code, &headers, &body);
}

fn error(request: Request, hub: &Hub, code: u16, message: &str) {
    let body = serde_json::json!({ "error": message }).to_string().into_bytes();
    respond(request, hub, code, "application/json", body);
}

fn handle(request: Request, hub: &Arc<Hub>, settings: &Settings) {
    if let Some(token) = &settings.token {
        if !authorised(&request, token) {
            return error(request, hub, 401, "a bearer token is required (Authorization: Bearer <token> or ?token=)");
        }
    }
    let path = request.url().split('?').next().unwrap_or("").to_string();
    let method = request.method().to_string();
    match (path.as_str(), method.as_str()) {
        ("/", "GET") | ("/index.html", "GET") => respond(request, hub, 200, "text/html; charset=utf-8", PAGE.as_bytes().to_vec()),
        ("/api/status", "GET") => {
            let status = Status::gather(hub, settings.max_clients, settings.capture_dir.is_some());
            match serde_json::to_vec(&status) {
                Ok(body) => respond(request, hub, 200, "application/json", body),
                Err(e) => error(request, hub, 500, &format!("status: {e}")),
            }
        }
        ("/metrics", "GET") => {
            let status = Status::gather(hub, settings.max_clients, settings.capture_dir.is_some());
            respond(request, hub, 200, "text/plain; version=0.0.4; charset=utf-8", metrics(&status, hub).into_bytes())
        }
        ("/snapshot.jpg", "GET") => {
            let frame = hub.latest().or_else(|| hub.wait_frame_after(0, SNAPSHOT_WAIT));
            let Some(frame) = frame else { return error(request, hub, 503, "no frame yet") };
            match hub.jpeg(&frame, |f| annotated_jpeg(f, settings.view_width, settings.jpeg_quality)) {
                Ok((_, jpeg)) => respond(request, hub, 200, "image/jpeg", jpeg.to_vec()),
                Err(e) => error(request, hub, 500, &e),
            }
        }
        ("/stream.mjpg", "GET") => match hub.join_stream(settings.max_clients) {
            Some(_slot) => {
                hub.count_response(200);
                // This connection's thread streams until the client goes or the daemon stops.
                stream(request, hub, settings);
            }
            None => error(request, hub, 503, &format!("all {} live-view slots are in use", settings.max_clients)),
        },
        ("/api/capture", "POST") => match &settings.capture_dir {
            None => error(request, hub, 403, "capture is off (set web.capture_dir or run with --capture-dir)"),
            Some(dir) => match hub.latest() {
                None => error(request, hub, 503, "no frame yet"),
                Some(frame) => {
                    let _one_at_a_time = settings.capture_lock.lock().unwrap_or_else(|e| e.into_inner());
                    let classifier = hub.status().classifier;
                    match capture::save(dir, &frame, &settings.model_sha256, &classifier) {
                        Ok(receipt) => {
                            hub.counters.captures.fetch_add(1, Ordering::Relaxed);
                            log::info!("capture {} saved in {} ({} digits)", receipt.id, receipt.path.display(), receipt.digits);
                            let body = serde_json::to_vec(&receipt).unwrap_or_default();
                            respond(request, hub, 201, "application/json", body)
                        }
                        Err(e) => {
                            log::warn!("{e}");
                            error(request, hub, 500, &e)
                        }
                    }
                }
            },
        },
        ("/" | "/index.html" | "/api/status" | "/metrics" | "/snapshot.jpg" | "/stream.mjpg" | "/api/capture", _) => {
            error(request, hub, 405, &format!("{method} is not allowed on {path}"))
        }
        _ => error(request, hub, 404, &format!("no such page: {path}")),
    }
}

/// MJPEG (`multipart/x-mixed-replace`): each new frame as one part, until the client goes or
/// the daemon stops. A client slower than the stream just gets the newest frame each time.
fn stream(request: Request, hub: &Hub, settings: &Settings) {
    let mut out = std::io::BufWriter::with_capacity(16 * 1024, request.into_stream());
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: multipart/x-mixed-replace; boundary={BOUNDARY}\r\n\
         Cache-Control: no-store\r\nConnection: close\r\n\r\n"
    );
    if out.write_all(head.as_bytes()).and_then(|()| out.flush()).is_err() {
        return;
    }
    let mut seen = 0;
    while !hub.is_closed() {
        let Some(frame) = hub.wait_frame_after(seen, STREAM_POLL) else { continue };
        let jpeg = match hub.jpeg(&frame, |f| annotated_jpeg(f, settings.view_width, settings.jpeg_quality)) {
            Ok((seq, j)) => {
                seen = seq;
                j
            }
            Err(e) => {
                log::debug!("web: frame {} not encoded: {e}", frame.seq);
                seen = frame.seq;
                continue;
            }
        };
        let part = format!("--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\n\r\n", jpeg.len());
        let sent = out.write_all(part.as_bytes()).and_then(|()| out.write_all(&jpeg)).and_then(|()| out.write_all(b"\r\n")).and_then(|()| out.flush());
        if sent.is_err() {
            return; // the client went away, or stalled past the write timeout
        }
        hub.counters.stream_frames_sent.fetch_add(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_params_and_secrets() {
        assert_eq!(query_param("/api/status?token=abc%21def&x=1", "token").as_deref(), Some("abc!def"));
        assert_eq!(query_param("/api/status?x=1", "token"), None);
        assert_eq!(query_param("/api/status", "token"), None);
        assert_eq!(percent_decode("a%2"), "a%2");
        assert_eq!(percent_decode("%zz%41"), "%zzA");
        assert_eq!(percent_decode("%"), "%");
        assert!(same_secret(b"secret-token", b"secret-token"));
        assert!(!same_secret(b"secret-token", b"secret-tokeN"));
        assert!(!same_secret(b"secret", b"secret-token"));
    }
}
