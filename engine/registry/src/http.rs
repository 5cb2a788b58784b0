//! A minimal HTTP/1.1 client over `std::net`, enough for a schema registry's JSON API on the local
//! network: one request per connection, JSON in and out, `Content-Length` or chunked replies.
//! (No TLS: the URLs accepted are `http://` only.)

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// The most a reply may hold, headers and body: a registry's answers are schemas and small JSON
/// documents, and a broken or hostile server must not make the engine allocate what it announces.
pub const MAX_REPLY: u64 = 16 << 20;

/// What went wrong talking to the registry, before any HTTP status.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("bad registry URL `{0}` (want http://host:port[/path])")]
    Url(String),
    #[error("cannot reach the schema registry at {addr}: {source}")]
    Connect { addr: String, source: std::io::Error },
    #[error("the schema registry at {addr} did not answer properly: {detail}")]
    Protocol { addr: String, detail: String },
}

/// A reply: status code and body text.
pub struct Reply {
    pub status: u16,
    pub body: String,
}

/// Split `http://host:port/path` into (`host:port`, `/path`).
pub fn split_url(url: &str) -> Result<(String, String), HttpError> {
    let rest = url.strip_prefix("http://").ok_or_else(|| HttpError::Url(url.into()))?;
    let (hostport, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    if hostport.is_empty() {
        return Err(HttpError::Url(url.into()));
    }
    let hostport = if hostport.contains(':') { hostport.to_string() } else { format!("{hostport}:80") };
    Ok((hostport, path.trim_end_matches('/').to_string()))
}

/// Send one request; `body` is JSON when given.
pub fn request(method: &str, url: &str, body: Option<&str>, timeout: Duration) -> Result<Reply, HttpError> {
    let (addr, path) = split_url(url)?;
    let connect = |e| HttpError::Connect { addr: addr.clone(), source: e };
    let sock = addr.to_socket_addrs().map_err(connect)?.next().ok_or_else(|| HttpError::Url(url.into()))?;
    let mut s = TcpStream::connect_timeout(&sock, timeout).map_err(connect)?;
    let proto = |detail: String| HttpError::Protocol { addr: addr.clone(), detail };
    s.set_read_timeout(Some(timeout)).map_err(|e| proto(e.to_string()))?;
    s.set_write_timeout(Some(timeout)).map_err(|e| proto(e.to_string()))?;
    let path = if path.is_empty() { "/".to_string() } else { path };
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: application/vnd.schemaregistry.v1+json, application/json\r\nConnection: close\r\n"
    );
    if let Some(b) = body {
        req.push_str(&format!(
            "Content-Type: application/vnd.schemaregistry.v1+json\r\nContent-Length: {}\r\n",
            b.len()
        ));
    }
    req.push_str("\r\n");
    if let Some(b) = body {
        req.push_str(b);
    }
    s.write_all(req.as_bytes()).map_err(|e| proto(format!("sending the request: {e}")))?;
    let mut r = BufReader::new(s.take(MAX_REPLY));
    let too_big = |n: usize| proto(format!("a reply of {n} bytes is more than the {MAX_REPLY} this client reads"));
    let mut line = String::new();
    r.read_line(&mut line).map_err(|e| proto(format!("reading the reply: {e}")))?;
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| proto(format!("not an HTTP reply: {:?}", line.trim_end())))?;
    let (mut length, mut chunked) = (None, false);
    loop {
        line.clear();
        let n = r.read_line(&mut line).map_err(|e| proto(format!("reading headers: {e}")))?;
        if n == 0 || !line.ends_with('\n') {
            return Err(proto("the reply ended inside its headers (or its headers passed the size limit)".into()));
        }
        let h = line.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
            if k == "content-length" {
                length = v.parse::<usize>().ok();
            } else if k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked") {
                chunked = true;
            }
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            line.clear();
            r.read_line(&mut line).map_err(|e| proto(format!("reading a chunk: {e}")))?;
            let n = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                .map_err(|_| proto(format!("bad chunk size {:?}", line.trim())))?;
            if n == 0 {
                break;
            }
            let start = body.len();
            if start.saturating_add(n) as u64 > MAX_REPLY {
                return Err(too_big(start.saturating_add(n)));
            }
            body.resize(start + n, 0);
            r.read_exact(&mut body[start..]).map_err(|e| proto(format!("reading a chunk: {e}")))?;
            line.clear();
            r.read_line(&mut line).map_err(|e| proto(format!("reading a chunk: {e}")))?;
        }
    } else if let Some(n) = length {
        if n as u64 > MAX_REPLY {
            return Err(too_big(n));
        }
        body.resize(n, 0);
        r.read_exact(&mut body).map_err(|e| proto(format!("reading the body: {e}")))?;
    } else {
        r.read_to_end(&mut body).map_err(|e| proto(format!("reading the body: {e}")))?;
        if r.get_ref().limit() == 0 {
            return Err(too_big(body.len()));
        }
    }
    Ok(Reply { status, body: String::from_utf8_lossy(&body).into_owned() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_address_and_path() {
        assert_eq!(
            split_url("http://127.0.0.1:18081/apis/ccompat/v7/").unwrap(),
            ("127.0.0.1:18081".into(), "/apis/ccompat/v7".into())
        );
        assert_eq!(split_url("http://localhost").unwrap(), ("localhost:80".into(), "".into()));
        assert!(split_url("https://x:1").is_err());
    }

    /// Serve one connection with `reply`, then close it.
    fn serve(reply: Vec<u8>) -> String {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        std::thread::spawn(move || {
            if let Ok((mut c, _)) = l.accept() {
                let mut req = [0u8; 4096];
                let _ = c.read(&mut req);
                let _ = c.write_all(&reply);
            }
        });
        format!("http://{addr}/subjects")
    }

    #[test]
    fn an_announced_body_past_the_limit_is_refused_before_it_is_allocated() {
        for reply in [
            b"HTTP/1.1 200 OK\r\nContent-Length: 999999999999999\r\n\r\n[]".to_vec(),
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffff\r\n".to_vec(),
        ] {
            let e = request("GET", &serve(reply), None, Duration::from_secs(5)).err().unwrap();
            assert!(matches!(e, HttpError::Protocol { .. }) && e.to_string().contains("more than"), "{e}");
        }
    }

    #[test]
    fn a_reply_that_never_ends_stops_at_the_limit() {
        let mut reply = b"HTTP/1.1 200 OK\r\nX-Junk: ".to_vec();
        reply.resize(MAX_REPLY as usize + 1024, b'a');
        let e = request("GET", &serve(reply), None, Duration::from_secs(10)).err().unwrap();
        assert!(matches!(e, HttpError::Protocol { .. }), "{e}");
    }

    #[test]
    fn a_closed_port_is_a_connect_error_naming_the_address() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        drop(l);
        let e = request("GET", &format!("http://{addr}/subjects"), None, Duration::from_secs(2)).err().unwrap();
        assert!(matches!(e, HttpError::Connect { .. }), "{e}");
        assert!(e.to_string().contains(&addr.to_string()), "{e}");
    }
}
