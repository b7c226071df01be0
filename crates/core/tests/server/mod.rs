//! A raw HTTP/1.1 test server on a tokio TcpListener. Raw so that it can misbehave in the ways real
//! sources do: ignore Range, lie in Content-Range or Content-Length, close early, stall, trickle.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

#[derive(Debug, Clone)]
pub struct Req {
    pub path: String,
    pub headers: HashMap<String, String>,
    /// Which accepted connection carried it (0 = first).
    pub conn: usize,
}

impl Req {
    pub fn header(&self, k: &str) -> Option<&str> {
        self.headers.get(&k.to_ascii_lowercase()).map(String::as_str)
    }
}

#[derive(Debug, Clone)]
pub enum Len {
    Auto,
    Omit,
    Value(u64),
}

#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Arc<Vec<u8>>,
    pub range: (usize, usize),
    pub len: Len,
    /// Close the connection after this many body bytes.
    pub send_limit: Option<usize>,
    /// Sleep after the headers, before the body.
    pub stall: Option<Duration>,
    /// Send one byte per interval.
    pub trickle: Option<Duration>,
    /// Bytes per second for this response.
    pub rate: Option<u64>,
    pub close: bool,
}

impl Reply {
    pub fn status(status: u16) -> Self {
        Self {
            status,
            headers: vec![],
            body: Arc::new(Vec::new()),
            range: (0, 0),
            len: Len::Auto,
            send_limit: None,
            stall: None,
            trickle: None,
            rate: None,
            close: false,
        }
    }
    pub fn text(status: u16, body: &str) -> Self {
        let b = Arc::new(body.as_bytes().to_vec());
        Self {
            range: (0, b.len()),
            body: b,
            ..Self::status(status)
        }
    }
    pub fn bytes(body: Vec<u8>) -> Self {
        let n = body.len();
        Self {
            range: (0, n),
            body: Arc::new(body),
            ..Self::status(200)
        }
    }
    pub fn header(mut self, k: &str, v: &str) -> Self {
        self.headers.push((k.into(), v.into()));
        self
    }
}

/// Serves `data` honouring Range and If-Range like a well-behaved server.
pub fn file_reply(req: &Req, data: &Arc<Vec<u8>>, etag: Option<&str>) -> Reply {
    let total = data.len();
    let mut r = Reply {
        body: data.clone(),
        range: (0, total),
        ..Reply::status(200)
    };
    r.headers.push(("Accept-Ranges".into(), "bytes".into()));
    if let Some(e) = etag {
        r.headers.push(("ETag".into(), e.into()));
    }
    let if_range_ok = match (req.header("if-range"), etag) {
        (Some(v), Some(e)) => v == e,
        (Some(_), None) => false,
        (None, _) => true,
    };
    if let (Some(range), true) = (req.header("range"), if_range_ok) {
        if let Some(spec) = range.strip_prefix("bytes=") {
            let (a, b) = spec.split_once('-').unwrap();
            let a: usize = a.parse().unwrap();
            let b: usize = if b.is_empty() {
                total - 1
            } else {
                b.parse::<usize>().unwrap().min(total - 1)
            };
            r.status = 206;
            r.range = (a, b + 1);
            r.headers
                .push(("Content-Range".into(), format!("bytes {a}-{b}/{total}")));
        }
    }
    r
}

pub type Handler = Arc<dyn Fn(&Req) -> Reply + Send + Sync>;

pub struct Server {
    pub addr: SocketAddr,
    pub requests: Arc<AtomicUsize>,
    pub connections: Arc<AtomicUsize>,
    routes: Arc<Mutex<HashMap<String, Handler>>>,
}

impl Server {
    pub async fn start() -> Server {
        Self::start_on("127.0.0.1:0").await
    }

    pub async fn start_on(bind: &str) -> Server {
        let listener = TcpListener::bind(bind).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let routes: Arc<Mutex<HashMap<String, Handler>>> = Default::default();
        let requests = Arc::new(AtomicUsize::new(0));
        let connections = Arc::new(AtomicUsize::new(0));
        let (r2, q2, c2) = (routes.clone(), requests.clone(), connections.clone());
        tokio::spawn(async move {
            loop {
                let Ok((sock, _)) = listener.accept().await else {
                    return;
                };
                let conn = c2.fetch_add(1, Ordering::SeqCst);
                let (routes, requests) = (r2.clone(), q2.clone());
                tokio::spawn(async move {
                    let _ = serve_conn(sock, conn, routes, requests).await;
                });
            }
        });
        Server {
            addr,
            requests,
            connections,
            routes,
        }
    }

    pub fn route(&self, path: &str, h: impl Fn(&Req) -> Reply + Send + Sync + 'static) {
        self.routes.lock().unwrap().insert(path.to_string(), Arc::new(h));
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }
}

async fn serve_conn(
    sock: TcpStream,
    conn: usize,
    routes: Arc<Mutex<HashMap<String, Handler>>>,
    requests: Arc<AtomicUsize>,
) -> std::io::Result<()> {
    sock.set_nodelay(true)?;
    let mut rd = BufReader::new(sock);
    loop {
        let mut line = String::new();
        if rd.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
        let mut headers = HashMap::new();
        loop {
            let mut h = String::new();
            rd.read_line(&mut h).await?;
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
            }
        }
        requests.fetch_add(1, Ordering::SeqCst);
        let req = Req {
            path: path.clone(),
            headers,
            conn,
        };
        let handler = routes.lock().unwrap().get(&path).cloned();
        let reply = match handler {
            Some(h) => h(&req),
            None => Reply::text(404, "no such route"),
        };
        let keep = write_reply(rd.get_mut(), &reply).await?;
        if !keep {
            return Ok(());
        }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        206 => "Partial Content",
        301 => "Moved Permanently",
        302 => "Found",
        404 => "Not Found",
        429 => "Too Many Requests",
        503 => "Service Unavailable",
        _ => "Whatever",
    }
}

/// Writes the reply; returns whether the connection may carry another request.
async fn write_reply(w: &mut TcpStream, r: &Reply) -> std::io::Result<bool> {
    let body = &r.body[r.range.0..r.range.1];
    let mut head = format!("HTTP/1.1 {} {}\r\n", r.status, reason(r.status));
    for (k, v) in &r.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    match r.len {
        Len::Auto => head.push_str(&format!("Content-Length: {}\r\n", body.len())),
        Len::Value(n) => head.push_str(&format!("Content-Length: {n}\r\n")),
        Len::Omit => {}
    }
    let close = r.close || matches!(r.len, Len::Omit) || r.send_limit.is_some();
    head.push_str(if close {
        "Connection: close\r\n\r\n"
    } else {
        "Connection: keep-alive\r\n\r\n"
    });
    w.write_all(head.as_bytes()).await?;
    if let Some(d) = r.stall {
        tokio::time::sleep(d).await;
    }
    let limit = r.send_limit.unwrap_or(usize::MAX).min(body.len());
    let body = &body[..limit];
    if let Some(every) = r.trickle {
        for b in body {
            w.write_all(std::slice::from_ref(b)).await?;
            tokio::time::sleep(every).await;
        }
    } else if let Some(rate) = r.rate {
        // Paced in 16 KiB pieces.
        let piece = 16 * 1024;
        let per_piece = Duration::from_secs_f64(piece as f64 / rate as f64);
        for c in body.chunks(piece) {
            w.write_all(c).await?;
            tokio::time::sleep(per_piece).await;
        }
    } else {
        w.write_all(body).await?;
    }
    w.flush().await?;
    if close {
        let _ = w.shutdown().await;
    }
    Ok(!close)
}

/// Deterministic pseudo-random test data (xorshift), so no fixture files are committed.
pub fn test_data(len: usize, seed: u64) -> Arc<Vec<u8>> {
    let mut x = seed | 1;
    let mut v = Vec::with_capacity(len + 8);
    while v.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.extend_from_slice(&x.to_le_bytes());
    }
    v.truncate(len);
    Arc::new(v)
}

pub fn sha256(data: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(data))
}

pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    pub fn new(name: &str) -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let p = std::env::temp_dir().join(format!(
            "reel-test-{}-{}-{}",
            name,
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    pub fn join(&self, s: &str) -> std::path::PathBuf {
        self.0.join(s)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
