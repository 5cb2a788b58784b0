//! The live metrics endpoint (`--metrics-addr`): `GET /metrics` in the Prometheus text format while
//! a run goes, rendered from the run's [`Metrics`] registry (which the sink and the simulation
//! update).
//!
//! Why this small: a scrape is one short request every few seconds, so one thread with a
//! `std::net::TcpListener`, answering one connection at a time, is enough; no HTTP framework, no
//! async runtime. The listener is bound before anything runs, so a port in use is an error at the
//! start (exit 2), and the thread stops when the run ends (the server is dropped).
//!
//! Only loopback addresses are accepted unless the caller allows others
//! (`--metrics-allow-remote`): the endpoint has no authentication.

use distroduce_sim::{JobEnd, Progress};
use distroduce_sink::metrics::Metrics;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// The content type of the Prometheus text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Why the endpoint could not start.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error("--metrics-addr {0}: not a loopback address; the endpoint has no authentication (pass --metrics-allow-remote to serve it there anyway)")]
    NotLoopback(SocketAddr),
    #[error("--metrics-addr {addr}: cannot listen: {source}{}", if .source.kind() == std::io::ErrorKind::AddrInUse { " (another process, or another run, is using this port)" } else { "" })]
    Bind { addr: SocketAddr, source: std::io::Error },
}

/// A running `/metrics` endpoint; stops when dropped.
#[derive(Debug)]
pub struct MetricsServer {
    addr: SocketAddr,
    current: Arc<Mutex<Option<Arc<Metrics>>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// How often the accept loop looks at the stop flag.
const POLL: Duration = Duration::from_millis(50);
/// A client that does not finish its request in this time is dropped.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);

impl MetricsServer {
    /// Bind `addr` and serve in a thread. Until [`MetricsServer::publish`] is called, `/metrics`
    /// answers with an empty body.
    pub fn start(addr: SocketAddr, allow_remote: bool) -> Result<Self, MetricsError> {
        if !allow_remote && !addr.ip().is_loopback() {
            return Err(MetricsError::NotLoopback(addr));
        }
        let bind = |source| MetricsError::Bind { addr, source };
        let listener = TcpListener::bind(addr).map_err(bind)?;
        listener.set_nonblocking(true).map_err(bind)?;
        let addr = listener.local_addr().map_err(bind)?;
        let current: Arc<Mutex<Option<Arc<Metrics>>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (current, stop) = (current.clone(), stop.clone());
            std::thread::Builder::new()
                .name("metrics-http".into())
                .spawn(move || serve(&listener, &current, &stop))
                .map_err(bind)?
        };
        tracing::info!("live metrics at http://{addr}/metrics");
        Ok(Self { addr, current, stop, thread: Some(thread) })
    }

    /// The address actually bound (the port chosen by the system if `addr` had port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serve this registry from now on (each run, or bench cell, has its own).
    pub fn publish(&self, metrics: Arc<Metrics>) {
        *self.current.lock().unwrap_or_else(|p| p.into_inner()) = Some(metrics);
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(listener: &TcpListener, current: &Mutex<Option<Arc<Metrics>>>, stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        match listener.accept() {
            Ok((stream, _)) => {
                if let Err(e) = answer(stream, current) {
                    tracing::debug!("metrics endpoint: {e}");
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => std::thread::sleep(POLL),
            Err(e) => {
                tracing::debug!("metrics endpoint: accept: {e}");
                std::thread::sleep(POLL);
            }
        }
    }
}

/// One request, one response, then the connection closes (`Connection: close`).
fn answer(stream: TcpStream, current: &Mutex<Option<Arc<Metrics>>>) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(REQUEST_TIMEOUT))?;
    stream.set_write_timeout(Some(REQUEST_TIMEOUT))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.by_ref().take(8192).read_line(&mut request_line)?;
    // Read the headers up to the blank line (bounded), so the client sees a clean close.
    let mut line = String::new();
    for _ in 0..100 {
        line.clear();
        if reader.by_ref().take(8192).read_line(&mut line)? == 0 || line == "\r\n" || line == "\n" {
            break;
        }
    }
    let mut parts = request_line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    let (status, content_type, body) = match (method, path) {
        ("GET" | "HEAD", "/metrics") => {
            let m = current.lock().unwrap_or_else(|p| p.into_inner()).clone();
            ("200 OK", CONTENT_TYPE, m.map(|m| m.render()).unwrap_or_default())
        }
        ("GET" | "HEAD", _) => ("404 Not Found", "text/plain; charset=utf-8", "only /metrics is served here\n".into()),
        _ => ("405 Method Not Allowed", "text/plain; charset=utf-8", "GET /metrics\n".into()),
    };
    let mut w = &stream;
    write!(
        w,
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    if method != "HEAD" {
        w.write_all(body.as_bytes())?;
    }
    w.flush()
}

/// Counts timesteps, substeps and jobs into the registry, and passes everything on to the progress
/// bar (if any).
pub(crate) struct MetricsProgress {
    pub metrics: Arc<Metrics>,
    pub inner: Option<Arc<dyn Progress>>,
}

impl Progress for MetricsProgress {
    fn start(&self, total_timesteps: u64) {
        self.metrics.set_timesteps_planned(total_timesteps);
        if let Some(p) = &self.inner {
            p.start(total_timesteps);
        }
    }
    fn advance(&self, n: u64) {
        self.metrics.add_timesteps(n);
        if let Some(p) = &self.inner {
            p.advance(n);
        }
    }
    fn substeps(&self, n: u64) {
        self.metrics.add_substeps(n);
        if let Some(p) = &self.inner {
            p.substeps(n);
        }
    }
    fn job_started(&self) {
        self.metrics.job_started();
        if let Some(p) = &self.inner {
            p.job_started();
        }
    }
    fn job_ended(&self, end: JobEnd) {
        self.metrics.job_ended(match end {
            JobEnd::Done => Some(true),
            JobEnd::Failed => Some(false),
            JobEnd::Interrupted => None,
        });
        if let Some(p) = &self.inner {
            p.job_ended(end);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(addr: SocketAddr, request: &str) -> String {
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(request.as_bytes()).unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    }

    #[test]
    fn serves_the_published_registry_and_refuses_what_it_should() {
        let server = MetricsServer::start("127.0.0.1:0".parse().unwrap(), false).unwrap();
        let addr = server.local_addr();
        let m = Arc::new(Metrics::new(["t".to_string()]));
        m.add_substeps(5);
        server.publish(m);
        let r = get(addr, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(r.starts_with("HTTP/1.1 200 OK\r\n"), "{r}");
        assert!(r.contains("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"), "{r}");
        assert!(r.contains("\ndistroduce_substeps_total 5\n"), "{r}");
        assert!(get(addr, "GET / HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 404"));
        assert!(get(addr, "POST /metrics HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 405"));

        // The port is taken while the server runs, and free once it is dropped.
        let e = MetricsServer::start(addr, false).unwrap_err();
        assert!(matches!(&e, MetricsError::Bind { source, .. } if source.kind() == std::io::ErrorKind::AddrInUse));
        assert!(e.to_string().contains("another process"), "{e}");
        drop(server);
        assert!(TcpStream::connect(addr).is_err(), "the endpoint stops with the server");
    }

    #[test]
    fn non_loopback_needs_permission() {
        let e = MetricsServer::start("0.0.0.0:0".parse().unwrap(), false).unwrap_err();
        assert!(matches!(e, MetricsError::NotLoopback(_)), "{e}");
    }
}
