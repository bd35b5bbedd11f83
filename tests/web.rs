//! The web view served by a real `digitd run` on the sample clip, over real sockets: the
//! endpoints, the token, capture, the client cap, malformed requests, and shutdown.
#![cfg(feature = "web")]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_digitd");

/// `digitd run` on the looping sample clip with the web view on a free loopback port.
struct Daemon {
    child: Child,
    addr: SocketAddr,
    _log: std::sync::mpsc::Receiver<String>,
}

impl Daemon {
    fn start(dir: &Path, config: &str, extra: &[&str]) -> Daemon {
        let cfg = dir.join("digitd.toml");
        std::fs::write(&cfg, format!("[web]\nenabled = true\nlisten = \"127.0.0.1:0\"\n{config}")).unwrap();
        let mut child = Command::new(BIN)
            .args(["--config", cfg.to_str().unwrap(), "run", "--loop", "--display", "none"])
            .args(extra)
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, log) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let Ok(line) = log.recv_timeout(deadline.saturating_duration_since(Instant::now())) else {
                reap(&mut child);
                panic!("no 'web view on' line");
            };
            if let Some(rest) = line.split("web view on http://").nth(1) {
                let addr = rest.split('/').next().unwrap().parse().unwrap();
                return Daemon { child, addr, _log: log };
            }
        }
    }

    fn alive(&mut self) -> bool { self.child.try_wait().unwrap().is_none() }

    fn stop(mut self) -> Duration {
        let sent = Instant::now();
        Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        while self.child.try_wait().unwrap().is_none() {
            assert!(sent.elapsed() < Duration::from_secs(10), "digitd did not stop");
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(self.child.wait().unwrap().success());
        sent.elapsed()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        reap(&mut self.child);
    }
}

/// Kills a daemon and waits for it, so the test run leaves no zombie behind.
fn reap(child: &mut std::process::Child) {
    let _ = child.kill();
    let _ = child.wait();
}

struct Reply {
    code: u16,
    headers: String,
    body: Vec<u8>,
}

impl Reply {
    fn text(&self) -> String { String::from_utf8_lossy(&self.body).into_owned() }
    fn json(&self) -> serde_json::Value { serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.text())) }
}

/// Sends `raw` and reads the whole reply (the server closes or sends Content-Length).
fn raw_request(addr: SocketAddr, raw: &[u8]) -> Option<Reply> {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(raw).ok()?;
    let mut reader = BufReader::new(s);
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            break;
        }
        if line == "\r\n" {
            break;
        }
        head.push_str(&line);
    }
    let code = head.split(' ').nth(1)?.parse().ok()?;
    let len = head.lines().find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse::<usize>().unwrap()));
    let mut body = vec![0; len.unwrap_or(0)];
    reader.read_exact(&mut body).ok()?;
    Some(Reply { code, headers: head, body })
}

fn request(addr: SocketAddr, method: &str, path: &str, headers: &str) -> Reply {
    let raw = format!("{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 0\r\n{headers}\r\n");
    raw_request(addr, raw.as_bytes()).unwrap_or_else(|| panic!("no reply to {method} {path}"))
}

fn get(addr: SocketAddr, path: &str) -> Reply { request(addr, "GET", path, "") }

/// Opens `/stream.mjpg` and returns the JPEG parts of the first `n` frames.
fn stream_frames(addr: SocketAddr, n: usize, auth: &str) -> Result<Vec<Vec<u8>>, u16> {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "GET /stream.mjpg HTTP/1.1\r\nHost: x\r\n{auth}\r\n").unwrap();
    let mut r = BufReader::new(s);
    let mut status = String::new();
    r.read_line(&mut status).unwrap();
    let code: u16 = status.split(' ').nth(1).unwrap().parse().unwrap();
    if code != 200 {
        return Err(code);
    }
    let mut frames = Vec::new();
    while frames.len() < n {
        let mut line = String::new();
        assert!(r.read_line(&mut line).unwrap() > 0, "stream ended");
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            let len: usize = v.trim().parse().unwrap();
            let mut blank = String::new();
            r.read_line(&mut blank).unwrap();
            let mut jpeg = vec![0; len];
            r.read_exact(&mut jpeg).unwrap();
            frames.push(jpeg);
        }
    }
    Ok(frames)
}

fn poll_until(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

#[test]
fn serves_page_status_metrics_snapshot_and_stream() {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(dir.path(), "", &["--fps", "20"]);
    let page = get(d.addr, "/");
    assert_eq!(page.code, 200);
    assert!(page.text().contains("/stream.mjpg") && page.text().contains("id=\"reading\""));

    // The clip's known readings appear in the status.
    let known: Vec<String> = serde_json::from_str::<serde_json::Value>(&std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/sample/readings.json")).unwrap())
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["text"].as_str().unwrap().to_string())
        .collect();
    let mut seen = None;
    assert!(poll_until(Duration::from_secs(30), || {
        let s = get(d.addr, "/api/status").json();
        seen = s["reading"].as_str().map(str::to_string);
        seen.as_ref().is_some_and(|r| known.contains(r))
    }), "no known reading in the status (last {seen:?})");
    let s = get(d.addr, "/api/status").json();
    assert_eq!(s["classifier"], "cpu");
    assert!(s["fps"].as_f64().unwrap() > 0.0 && s["frames"].as_u64().unwrap() > 0);
    assert!(s["latency_ms"]["preprocess"].as_f64().unwrap() > 0.0);
    assert_eq!(s["capture_enabled"], false);

    let m = get(d.addr, "/metrics");
    assert_eq!(m.code, 200);
    assert!(m.headers.contains("text/plain; version=0.0.4"), "{}", m.headers);
    assert!(m.text().contains("digitd_frames_total ") && m.text().contains("digitd_readings_shown_total "));

    let snap = get(d.addr, "/snapshot.jpg");
    assert_eq!(snap.code, 200);
    let img = image::load_from_memory_with_format(&snap.body, image::ImageFormat::Jpeg).unwrap();
    assert_eq!((img.width(), img.height()), (640, 480));

    // The live picture changes: the clip moves from page to page.
    let frames = stream_frames(d.addr, 12, "").unwrap();
    assert!(frames.windows(2).any(|w| w[0] != w[1]), "12 identical stream frames");
    for f in &frames {
        image::load_from_memory_with_format(f, image::ImageFormat::Jpeg).unwrap();
    }
    assert!(d.stop() < Duration::from_secs(2));
}

#[test]
fn errors_and_malformed_requests_get_4xx_and_never_stop_the_daemon() {
    let dir = tempfile::tempdir().unwrap();
    let mut d = Daemon::start(dir.path(), "", &["--fps", "20"]);
    assert_eq!(get(d.addr, "/no/such/page").code, 404);
    assert_eq!(request(d.addr, "DELETE", "/api/status", "").code, 405);
    // Read-only unless capture is enabled.
    let c = request(d.addr, "POST", "/api/capture", "");
    assert_eq!(c.code, 403);
    assert!(c.json()["error"].as_str().unwrap().contains("capture is off"));
    let junk: [&[u8]; 7] = [
        b"\x00\x01\x02\x03garbage\r\n\r\n",
        b"GET\r\n\r\n",
        b"GET / HTTP/9.9\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
        b"GET / HTTP/1.1\r\nBad header without colon\r\n\r\n",
        b"POST /api/capture HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\nshort",
        b"GET /api/status?token=%ZZ%%% HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    ];
    for raw in junk {
        if let Some(r) = raw_request(d.addr, raw) {
            assert!(r.code < 500 || r.code == 505, "{:?} got {}", String::from_utf8_lossy(raw), r.code);
        }
    }
    let mut huge = b"GET /".to_vec();
    huge.extend(std::iter::repeat_n(b'a', 1 << 20));
    huge.extend(b" HTTP/1.1\r\n\r\n");
    let _ = raw_request(d.addr, &huge);
    // Half a request, then the client vanishes.
    drop(TcpStream::connect(d.addr).unwrap().write_all(b"GET /api/sta"));
    assert!(d.alive());
    assert_eq!(get(d.addr, "/api/status").code, 200);
    let m = get(d.addr, "/metrics").text();
    let four = m.lines().find(|l| l.starts_with("digitd_http_responses_total{code=\"4xx\"}")).unwrap();
    assert!(four.split(' ').nth(1).unwrap().parse::<f64>().unwrap() >= 3.0, "{four}");
    d.stop();
}

#[test]
fn a_token_guards_every_endpoint() {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(dir.path(), "token = \"s3cret-token\"\n", &["--fps", "20"]);
    for path in ["/", "/api/status", "/metrics", "/snapshot.jpg"] {
        let r = get(d.addr, path);
        assert_eq!(r.code, 401, "{path}");
        assert!(r.headers.contains("WWW-Authenticate: Bearer"), "{}", r.headers);
    }
    assert_eq!(request(d.addr, "GET", "/api/status", "Authorization: Bearer wrong-token\r\n").code, 401);
    assert_eq!(stream_frames(d.addr, 1, "").unwrap_err(), 401);
    assert_eq!(request(d.addr, "GET", "/api/status", "Authorization: Bearer s3cret-token\r\n").code, 200);
    assert_eq!(get(d.addr, "/api/status?token=s3cret-token").code, 200);
    assert_eq!(stream_frames(d.addr, 2, "Authorization: Bearer s3cret-token\r\n").unwrap().len(), 2);
    d.stop();
}

#[test]
fn capture_saves_frame_crops_and_sidecar() {
    let dir = tempfile::tempdir().unwrap();
    let caps = dir.path().join("captures");
    let d = Daemon::start(dir.path(), "", &["--fps", "20", "--capture-dir", caps.to_str().unwrap()]);
    // Wait for a frame with digits in it.
    assert!(poll_until(Duration::from_secs(30), || get(d.addr, "/api/status").json()["frame_reading"].as_str().is_some_and(|r| !r.is_empty())));
    let r = request(d.addr, "POST", "/api/capture", "");
    assert_eq!(r.code, 201, "{}", r.text());
    let receipt = r.json();
    let folder = caps.join(receipt["id"].as_str().unwrap());
    let sidecar: serde_json::Value = serde_json::from_slice(&std::fs::read(folder.join("capture.json")).unwrap()).unwrap();
    assert_eq!(sidecar["format"], "digitd-capture/1");
    let digits = sidecar["digits"].as_array().unwrap();
    assert!(!digits.is_empty());
    for d in digits {
        let crop = image::open(folder.join(d["crop"].as_str().unwrap())).unwrap();
        assert_eq!((crop.width(), crop.height()), (28, 28));
    }
    assert_eq!(image::open(folder.join("frame.png")).unwrap().width(), 640);
    assert_eq!(get(d.addr, "/api/status").json()["captures"], 1);
    d.stop();
}

#[test]
fn streams_are_capped_and_slots_come_back() {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(dir.path(), "max_clients = 2\n", &["--fps", "20"]);
    let open = |addr| {
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(b"GET /stream.mjpg HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let mut r = BufReader::new(s);
        let mut status = String::new();
        r.read_line(&mut status).unwrap();
        (status, r)
    };
    let (a, ra) = open(d.addr);
    let (b, _rb) = open(d.addr);
    assert!(a.contains(" 200 ") && b.contains(" 200 "), "{a} {b}");
    assert_eq!(stream_frames(d.addr, 1, "").unwrap_err(), 503);
    assert_eq!(get(d.addr, "/api/status").json()["stream_clients"], 2);
    drop(ra);
    // The server notices at its next write that the first client left.
    assert!(poll_until(Duration::from_secs(5), || stream_frames(d.addr, 1, "").is_ok()));
    // A stream left open does not hold up shutdown.
    assert!(d.stop() < Duration::from_secs(2));
}

/// A busy (or not yet existing) address is reported, the reader keeps reading, and the view
/// comes up once the address is free.
#[test]
fn a_busy_port_is_reported_and_retried_while_reading_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let mut child = Command::new(BIN)
        .args(["run", "--loop", "--fps", "20", "--display", "none", "--web", &format!("127.0.0.1:{port}")])
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let expect = |needle: &str, limit: Duration| {
        let deadline = Instant::now() + limit;
        loop {
            let line = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())).unwrap_or_else(|_| panic!("no {needle:?} in the log"));
            if line.contains(needle) {
                return line;
            }
        }
    };
    let err = expect("cannot listen", Duration::from_secs(20));
    assert!(err.contains(&format!("web view: cannot listen on 127.0.0.1:{port}")) && err.contains("retrying"), "{err}");
    // Still reading.
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
    assert!(first.starts_with("reading: "), "{first}");
    drop(taken);
    expect("bound after retrying", Duration::from_secs(10));
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    assert_eq!(get(addr, "/api/status").code, 200);
    reap(&mut child);
}
