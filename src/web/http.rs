//! The smallest HTTP/1.1 server the web view needs: one thread per connection (capped), one
//! request per connection (every response says `Connection: close`), request heads parsed by
//! `httparse`, timeouts on every socket.
//!
//! Why not a server crate: tiny_http (used first) runs connections on a worker pool whose
//! "is a worker free?" check races with a burst of new connections; the extra connections were
//! queued behind live streams, which hold their worker for as long as they stream, and got no
//! answer at all (1-9 of 20 clients in the load test). Async servers bring a runtime the
//! board's one core does not need. What is left to write is small and tested here and in
//! `tests/web.rs`.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Largest request head (request line and headers) read; longer ones get 431.
const MAX_HEAD: usize = 16 * 1024;
const MAX_HEADERS: usize = 48;
/// A client must send its request within this, and take each write within this.
const READ_TIMEOUT: Duration = Duration::from_secs(10);
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// After answering, the rest of what the client sent is read (and dropped) for at most this
/// long before closing, so an unread body does not turn the close into a reset that loses
/// the response.
const LINGER: Duration = Duration::from_millis(200);

/// One parsed request and the connection to answer it on.
pub struct Request {
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    stream: TcpStream,
}

impl Request {
    pub fn method(&self) -> &str { &self.method }

    /// Path and query, as sent (`/api/status?token=...`).
    pub fn url(&self) -> &str { &self.url }

    /// The first header of that name (case-insensitive), if it is valid UTF-8.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Sends a complete response and closes the connection. Errors mean the client is gone.
    pub fn respond(self, code: u16, headers: &[(&str, &str)], body: &[u8]) -> io::Result<()> {
        respond_on(self.stream, code, headers, body)
    }

    /// The connection, for a response the caller writes itself (the MJPEG stream).
    pub fn into_stream(self) -> TcpStream { self.stream }
}

/// What the accept loop needs from its owner.
pub struct Serve<H, C> {
    /// Connections served at once; beyond that new ones get 503 at once.
    pub max_connections: usize,
    pub handler: H,
    /// Checked after each accepted connection: true ends the loop (see [`wake`]).
    pub closed: C,
    /// Run first in every connection thread (the web view lowers its priority).
    pub on_thread_start: fn(),
}

/// Accepts connections until `closed()` says so, each on its own thread.
pub fn serve<H, C>(listener: TcpListener, serve: Serve<H, C>)
where
    H: Fn(Request) + Send + Sync + 'static,
    C: Fn() -> bool,
{
    let handler = Arc::new(serve.handler);
    let active = Arc::new(AtomicUsize::new(0));
    for conn in listener.incoming() {
        if (serve.closed)() {
            return;
        }
        let stream = match conn {
            Ok(s) => s,
            Err(e) => {
                // Out of file descriptors and the like: wait a little rather than spin.
                log::warn!("web: cannot accept a connection: {e}");
                std::thread::sleep(Duration::from_millis(100));
                continue;
            }
        };
        let _ = stream.set_read_timeout(Some(READ_TIMEOUT));
        let _ = stream.set_write_timeout(Some(WRITE_TIMEOUT));
        let taken = active.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < serve.max_connections).then_some(n + 1));
        if taken.is_err() {
            // Answered from the accept loop itself, so without lingering: nothing may hold it up.
            let mut stream = stream;
            let _ = write_response(&mut stream, 503, &[("Content-Type", "text/plain")], b"too many connections\n");
            continue;
        }
        // The guard exists before the thread: a failed spawn drops it and gives the slot back.
        let (handler, slot, start) = (handler.clone(), Release(active.clone()), serve.on_thread_start);
        let spawned = std::thread::Builder::new().name("web-conn".into()).spawn(move || {
            let _slot = slot;
            start();
            if let Some(request) = read_request(stream) {
                handler(request);
            }
        });
        if let Err(e) = spawned {
            log::warn!("web: cannot start a connection thread: {e}");
        }
    }
}

/// Unblocks a [`serve`] loop waiting in `accept` on `addr`, so it can see that it is closed.
pub fn wake(addr: SocketAddr) {
    let mut addr = addr;
    if addr.ip().is_unspecified() {
        addr.set_ip(if addr.is_ipv4() { [127, 0, 0, 1].into() } else { std::net::Ipv6Addr::LOCALHOST.into() });
    }
    let _ = TcpStream::connect_timeout(&addr, Duration::from_secs(1));
}

/// Gives a connection slot back when its thread ends, however it ends.
struct Release(Arc<AtomicUsize>);

impl Drop for Release {
    fn drop(&mut self) { self.0.fetch_sub(1, Ordering::AcqRel); }
}

/// Reads and parses one request head; answers 4xx/505 itself for a bad one. `None` when there
/// is nothing to hand on (bad request answered, client gone or silent).
fn read_request(mut stream: TcpStream) -> Option<Request> {
    let mut head = Vec::with_capacity(1024);
    let mut chunk = [0u8; 2048];
    loop {
        let n = match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return None, // closed half way, or silent past the timeout
            Ok(n) => n,
        };
        // Only the new bytes (and 3 before them) can complete the blank line.
        let from = head.len().saturating_sub(3);
        head.extend_from_slice(&chunk[..n]);
        if let Some(end) = find_blank_line(&head[from..]) {
            head.truncate(from + end);
            break;
        }
        if head.len() > MAX_HEAD {
            return reject(stream, 431, "request head too large");
        }
    }
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut parsed = httparse::Request::new(&mut headers);
    // The head ends in a blank line, so anything but Complete is a malformed request.
    let (method, url) = match (parsed.parse(&head), parsed.method, parsed.path) {
        (Ok(httparse::Status::Complete(_)), Some(method), Some(url)) => (method, url),
        (Err(httparse::Error::Version), ..) => return reject(stream, 505, "only HTTP/1.0 and 1.1"),
        _ => return reject(stream, 400, "malformed request"),
    };
    let headers = parsed
        .headers
        .iter()
        .filter_map(|h| Some((h.name.to_string(), std::str::from_utf8(h.value).ok()?.trim().to_string())))
        .collect();
    Some(Request { method: method.to_string(), url: url.to_string(), headers, stream })
}

/// Answers a request that goes no further with `code` and a line of text.
fn reject(stream: TcpStream, code: u16, text: &str) -> Option<Request> {
    let _ = respond_on(stream, code, &[("Content-Type", "text/plain")], format!("{text}\n").as_bytes());
    None
}

/// Offset just past the first "\r\n\r\n" in `bytes`.
fn find_blank_line(bytes: &[u8]) -> Option<usize> { bytes.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4) }

fn respond_on(mut stream: TcpStream, code: u16, headers: &[(&str, &str)], body: &[u8]) -> io::Result<()> {
    write_response(&mut stream, code, headers, body)?;
    linger_close(stream);
    Ok(())
}

fn write_response(stream: &mut TcpStream, code: u16, headers: &[(&str, &str)], body: &[u8]) -> io::Result<()> {
    let mut head = format!("HTTP/1.1 {code} {}\r\n", reason(code));
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\nConnection: close\r\n\r\n", body.len()));
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    stream.flush()
}

/// Closes our side, then drops what the client still sends for at most [`LINGER`] in all.
fn linger_close(mut stream: TcpStream) {
    let _ = stream.shutdown(Shutdown::Write);
    let deadline = Instant::now() + LINGER;
    let mut sink = [0u8; 4096];
    while let Some(left) = deadline.checked_duration_since(Instant::now()).filter(|d| !d.is_zero()) {
        let _ = stream.set_read_timeout(Some(left));
        match stream.read(&mut sink) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
}

fn reason(code: u16) -> &'static str {
    match code {
        200 => "OK",
        201 => "Created",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;
    use std::sync::Mutex;

    struct EchoServer {
        addr: SocketAddr,
        closed: Arc<AtomicBool>,
        thread: std::thread::JoinHandle<()>,
    }

    impl EchoServer {
        /// Ends the accept loop the way `WebServer` does: mark closed, wake, join.
        fn stop(self) {
            self.closed.store(true, Ordering::Release);
            wake(self.addr);
            self.thread.join().unwrap();
        }
    }

    /// A server on a free loopback port whose handler echoes method, url and a header.
    fn echo_server(max_connections: usize) -> EchoServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let closed = Arc::new(AtomicBool::new(false));
        let c = closed.clone();
        let hold = Arc::new(Mutex::new(()));
        let thread = std::thread::spawn(move || {
            serve(
                listener,
                Serve {
                    max_connections,
                    handler: move |r: Request| {
                        if r.url() == "/hold" {
                            // Keep the connection (and its slot) busy for a while.
                            let _g = hold.lock();
                            std::thread::sleep(Duration::from_millis(600));
                        }
                        let body = format!("{} {} {}", r.method(), r.url(), r.header("x-test").unwrap_or("-"));
                        let _ = r.respond(200, &[("Content-Type", "text/plain")], body.as_bytes());
                    },
                    closed: move || c.load(Ordering::Acquire),
                    on_thread_start: || {},
                },
            )
        });
        EchoServer { addr, closed, thread }
    }

    fn exchange(addr: SocketAddr, raw: &[u8]) -> String {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let _ = s.write_all(raw);
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        out
    }

    #[test]
    fn parses_requests_and_closes_each_connection() {
        let server = echo_server(8);
        let addr = server.addr;
        let r = exchange(addr, b"GET /api/status?x=1 HTTP/1.1\r\nHost: a\r\nX-Test:  yes \r\n\r\n");
        assert!(r.starts_with("HTTP/1.1 200 OK\r\n"), "{r}");
        assert!(r.contains("Connection: close\r\n") && r.contains("Content-Length: 23\r\n"), "{r}");
        assert!(r.ends_with("\r\n\r\nGET /api/status?x=1 yes"), "{r}");
        // The head may arrive in pieces.
        let mut s = TcpStream::connect(addr).unwrap();
        for part in [&b"POST /a HT"[..], b"TP/1.0\r\n", b"\r\n"] {
            s.write_all(part).unwrap();
            std::thread::sleep(Duration::from_millis(20));
        }
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        assert!(out.ends_with("POST /a -"), "{out}");
        server.stop();
    }

    #[test]
    fn bad_heads_get_4xx_or_505() {
        let server = echo_server(8);
        let addr = server.addr;
        assert!(exchange(addr, b"\x00\x01garbage\r\n\r\n").starts_with("HTTP/1.1 400 "));
        assert!(exchange(addr, b"GET\r\n\r\n").starts_with("HTTP/1.1 400 "));
        assert!(exchange(addr, b"GET / HTTP/9.9\r\n\r\n").starts_with("HTTP/1.1 505 "));
        assert!(exchange(addr, b"GET / HTTP/1.1\r\nno colon here\r\n\r\n").starts_with("HTTP/1.1 400 "));
        let mut huge = b"GET /".to_vec();
        huge.extend(std::iter::repeat_n(b'a', 64 * 1024));
        assert!(exchange(addr, &huge).starts_with("HTTP/1.1 431 "));
        // A client that sends half a head and goes: nothing to answer, the server goes on.
        drop(TcpStream::connect(addr).unwrap().write_all(b"GET /x"));
        assert!(exchange(addr, b"GET /ok HTTP/1.1\r\n\r\n").ends_with("GET /ok -"));
        server.stop();
    }

    #[test]
    fn a_burst_of_connections_is_served_and_the_cap_answers_503() {
        let server = echo_server(3);
        let addr = server.addr;
        // Three connections hold every slot: the fourth is turned away at once, not queued.
        let holders: Vec<_> = (0..3).map(|_| std::thread::spawn(move || exchange(addr, b"GET /hold HTTP/1.1\r\n\r\n"))).collect();
        std::thread::sleep(Duration::from_millis(150));
        assert!(exchange(addr, b"GET /late HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 503 "));
        for h in holders {
            assert!(h.join().unwrap().ends_with("GET /hold -"));
        }
        // The slots come back once those connections end.
        assert!(exchange(addr, b"GET /again HTTP/1.1\r\n\r\n").ends_with("GET /again -"));
        server.stop();
        // 20 connections at once (the burst that stalled tiny_http) all get answers.
        let server = echo_server(32);
        let addr = server.addr;
        let burst: Vec<_> = (0..20).map(|i| std::thread::spawn(move || exchange(addr, format!("GET /{i} HTTP/1.1\r\n\r\n").as_bytes()))).collect();
        for (i, h) in burst.into_iter().enumerate() {
            assert!(h.join().unwrap().ends_with(&format!("GET /{i} -")));
        }
        server.stop();
    }
}
