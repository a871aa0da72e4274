//! A scripted HTTP/1.1 server on 127.0.0.1:0 for testing the LLM drafters over real
//! sockets: each request gets the next scripted reply (a JSON body with any status and
//! headers, a server-sent-event stream with pauses, or silence), and every request is recorded
//! with its arrival time so tests can count attempts and measure waits.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// One step of a server-sent-event stream.
#[derive(Debug, Clone)]
pub enum SseStep {
    /// `event: <name>` / `data: <data>`.
    Event { name: String, data: String },
    /// Wait before the next step.
    Pause(Duration),
    /// Close the connection without finishing the stream.
    Drop,
}

/// What the server answers to one request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A complete response with a body.
    Body { status: u16, headers: Vec<(String, String)>, content_type: String, body: String },
    /// `200 OK`, `text/event-stream`, then the steps, then the connection is closed.
    Sse(Vec<SseStep>),
    /// Read the request and never answer (until the client gives up).
    Silence,
}

impl Reply {
    /// A JSON response.
    pub fn json(status: u16, body: serde_json::Value) -> Reply {
        Reply::Body { status, headers: vec![], content_type: "application/json".into(), body: body.to_string() }
    }

    /// A JSON response with extra headers (`retry-after`, ...).
    pub fn json_with(status: u16, headers: &[(&str, &str)], body: serde_json::Value) -> Reply {
        Reply::Body {
            status,
            headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            content_type: "application/json".into(),
            body: body.to_string(),
        }
    }

    /// A plain-text response.
    pub fn text(status: u16, body: &str) -> Reply {
        Reply::Body { status, headers: vec![], content_type: "text/plain".into(), body: body.into() }
    }
}

impl SseStep {
    /// An event whose data is JSON.
    pub fn event(name: &str, data: serde_json::Value) -> SseStep {
        SseStep::Event { name: name.into(), data: data.to_string() }
    }
}

/// A request the server received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub at: Instant,
}

impl Recorded {
    /// A header's value, by lower-case name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The body as JSON (`Value::Null` when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// The running server; it stops when dropped.
pub struct LoopbackServer {
    /// `http://127.0.0.1:<port>`.
    pub base_url: String,
    requests: Arc<Mutex<Vec<Recorded>>>,
    task: JoinHandle<()>,
}

impl LoopbackServer {
    /// Starts a server that answers requests with `replies` in order; requests beyond the
    /// script get a 500 saying so.
    pub async fn start(replies: Vec<Reply>) -> LoopbackServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
        let base_url = format!("http://{}", listener.local_addr().expect("local address"));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(Mutex::new(replies.into_iter().collect::<std::collections::VecDeque<_>>()));
        let recorded = requests.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else { return };
                let (recorded, script) = (recorded.clone(), script.clone());
                tokio::spawn(async move {
                    let _ = serve(socket, recorded, script).await;
                });
            }
        });
        LoopbackServer { base_url, requests, task }
    }

    /// The requests received so far, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().expect("request log").clone()
    }
}

impl Drop for LoopbackServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

type Script = Arc<Mutex<std::collections::VecDeque<Reply>>>;

/// Serves one connection: one request, one reply, then close.
async fn serve(mut socket: TcpStream, recorded: Arc<Mutex<Vec<Recorded>>>, script: Script) -> std::io::Result<()> {
    let Some(request) = read_request(&mut socket).await? else { return Ok(()) };
    recorded.lock().expect("request log").push(request);
    let reply = script.lock().expect("script").pop_front();
    match reply.unwrap_or_else(|| Reply::text(500, "the loopback script has no reply for this request")) {
        Reply::Body { status, headers, content_type, body } => {
            let mut head = format!(
                "HTTP/1.1 {status} {}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n",
                reason(status),
                body.len()
            );
            for (k, v) in headers {
                head.push_str(&format!("{k}: {v}\r\n"));
            }
            head.push_str("\r\n");
            socket.write_all(head.as_bytes()).await?;
            socket.write_all(body.as_bytes()).await?;
        }
        Reply::Sse(steps) => {
            socket
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\nconnection: close\r\n\r\n")
                .await?;
            for step in steps {
                match step {
                    SseStep::Event { name, data } => {
                        socket.write_all(format!("event: {name}\ndata: {data}\n\n").as_bytes()).await?;
                        socket.flush().await?;
                    }
                    SseStep::Pause(d) => tokio::time::sleep(d).await,
                    SseStep::Drop => return Ok(()),
                }
            }
        }
        Reply::Silence => {
            tokio::time::sleep(Duration::from_secs(120)).await;
        }
    }
    socket.shutdown().await
}

/// Reads a request line, headers and a `content-length` body.
async fn read_request(socket: &mut TcpStream) -> std::io::Result<Option<Recorded>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let header_end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i;
        }
        let n = socket.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let at = Instant::now();
    let head = String::from_utf8_lossy(&buf[..header_end]).to_string();
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or_default().split(' ');
    let method = first.next().unwrap_or_default().to_string();
    let path = first.next().unwrap_or_default().to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let length: usize =
        headers.iter().find(|(k, _)| k == "content-length").and_then(|(_, v)| v.parse().ok()).unwrap_or(0);
    let mut body = buf[header_end + 4..].to_vec();
    while body.len() < length {
        let n = socket.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Ok(Some(Recorded { method, path, headers, body: String::from_utf8_lossy(&body).to_string(), at }))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        529 => "Overloaded",
        _ => "Status",
    }
}
