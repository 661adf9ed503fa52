//! A minimal keep-alive HTTP/1.1 client over `std::net::TcpStream`, just enough to drive load at
//! the server: `GET` and `POST` requests, status line, headers, `Content-Length` or chunked bodies.
//!
//! It exists because xtask is std-only. Buffers are reused between requests so the client costs
//! the same, and little, for every target it measures.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

/// Where requests go: `http://host:port` reduced to a socket address and a `Host` header.
#[derive(Debug, Clone)]
pub struct Target {
    pub base_url: String,
    pub addr: SocketAddr,
    authority: String,
}

impl Target {
    /// Parses `http://host:port[/]` (the form the server prints).
    pub fn parse(base_url: &str) -> Result<Self, String> {
        let authority = base_url
            .trim()
            .strip_prefix("http://")
            .ok_or_else(|| format!("`{base_url}` is not an http:// URL"))?
            .trim_end_matches('/');
        if authority.is_empty() || authority.contains('/') {
            return Err(format!("`{base_url}` is not a base URL (http://host:port)"));
        }
        let addr = authority
            .to_socket_addrs()
            .map_err(|error| format!("cannot resolve `{authority}`: {error}"))?
            .next()
            .ok_or_else(|| format!("`{authority}` resolves to no address"))?;
        Ok(Self {
            base_url: base_url.trim().trim_end_matches('/').to_owned(),
            addr,
            authority: authority.to_owned(),
        })
    }

    /// The bytes of a keep-alive `GET path` request to this target.
    pub fn get_request(&self, path: &str) -> Vec<u8> {
        self.request("GET", path, &[], None)
    }

    /// The bytes of a keep-alive request with extra `headers` and, when given, a body with its
    /// content type (`Content-Length` framing).
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<(&str, &[u8])>,
    ) -> Vec<u8> {
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nUser-Agent: xtask-bench\r\nAccept: */*\r\n",
            self.authority
        );
        for (name, value) in headers {
            head += &format!("{name}: {value}\r\n");
        }
        if let Some((content_type, body)) = body {
            head += &format!(
                "Content-Type: {content_type}\r\nContent-Length: {}\r\n",
                body.len()
            );
        }
        head += "\r\n";
        let mut bytes = head.into_bytes();
        if let Some((_, body)) = body {
            bytes.extend_from_slice(body);
        }
        bytes
    }
}

/// One keep-alive connection; reuses its buffers for every response.
pub struct Connection {
    reader: BufReader<TcpStream>,
    head: String,
    body: Vec<u8>,
    closed: bool,
}

impl Connection {
    pub fn open(target: &Target, timeout: Duration) -> io::Result<Self> {
        let stream = TcpStream::connect_timeout(&target.addr, timeout)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        Ok(Self {
            reader: BufReader::with_capacity(16 * 1024, stream),
            head: String::with_capacity(1024),
            body: Vec::with_capacity(4096),
            closed: false,
        })
    }

    /// Sends a prepared request (see [`Target::get_request`]) and reads the whole response.
    /// Returns the status; [`Self::body`] and [`Self::header`] describe the response until the
    /// next call. After an error, or when [`Self::is_closed`], open a new connection.
    pub fn send(&mut self, request: &[u8]) -> io::Result<u16> {
        self.reader.get_mut().write_all(request)?;
        self.read_response()
    }

    /// The server ended keep-alive with the last response (`Connection: close` or no framing).
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The value of the first header called `name` (case-insensitive) of the last response.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers(name).first().copied()
    }

    /// The values of every header called `name` (case-insensitive) of the last response, in
    /// order (`Set-Cookie` comes once per cookie).
    pub fn headers(&self, name: &str) -> Vec<&str> {
        self.head
            .split("\r\n")
            .skip(1)
            .filter_map(|line| {
                let (key, value) = line.split_once(':')?;
                key.trim()
                    .eq_ignore_ascii_case(name)
                    .then_some(value.trim())
            })
            .collect()
    }

    fn read_response(&mut self) -> io::Result<u16> {
        self.head.clear();
        self.body.clear();
        self.read_head()?;
        let status = parse_status(&self.head)?;
        let framing = Framing::of(status, &self.head)?;
        match framing {
            Framing::Empty => {}
            Framing::Length(length) => self.read_exact_body(length)?,
            Framing::Chunked => self.read_chunked_body()?,
            Framing::UntilClose => {
                self.reader.read_to_end(&mut self.body)?;
            }
        }
        self.closed = framing == Framing::UntilClose || wants_close(&self.head);
        Ok(status)
    }

    /// Reads the status line and headers, up to and including the empty line.
    fn read_head(&mut self) -> io::Result<()> {
        loop {
            let start = self.head.len();
            if self.reader.read_line(&mut self.head)? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            if self.head[start..] == *"\r\n" || self.head[start..] == *"\n" {
                return Ok(());
            }
            if self.head.len() > 64 * 1024 {
                return Err(invalid("response head larger than 64 KiB"));
            }
        }
    }

    fn read_exact_body(&mut self, length: usize) -> io::Result<()> {
        let start = self.body.len();
        self.body.resize(start + length, 0);
        self.reader.read_exact(&mut self.body[start..])
    }

    fn read_chunked_body(&mut self) -> io::Result<()> {
        let mut line = String::new();
        loop {
            line.clear();
            self.reader.read_line(&mut line)?;
            let size = line.split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(size, 16)
                .map_err(|_| invalid(&format!("bad chunk size line `{}`", line.trim())))?;
            if size == 0 {
                return self.skip_trailers(&mut line);
            }
            self.read_exact_body(size)?;
            line.clear();
            self.reader.read_line(&mut line)?;
        }
    }

    fn skip_trailers(&mut self, line: &mut String) -> io::Result<()> {
        loop {
            line.clear();
            if self.reader.read_line(line)? == 0 || line.trim().is_empty() {
                return Ok(());
            }
        }
    }
}

/// How the body of a response is delimited.
#[derive(Debug, PartialEq)]
enum Framing {
    Empty,
    Length(usize),
    Chunked,
    UntilClose,
}

impl Framing {
    fn of(status: u16, head: &str) -> io::Result<Self> {
        if status < 200 || status == 204 || status == 304 {
            return Ok(Self::Empty);
        }
        let mut framing = Self::UntilClose;
        for line in head.split("\r\n").skip(1) {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let (name, value) = (name.trim(), value.trim());
            if name.eq_ignore_ascii_case("transfer-encoding")
                && value.to_ascii_lowercase().contains("chunked")
            {
                return Ok(Self::Chunked);
            }
            if name.eq_ignore_ascii_case("content-length") {
                let length = value
                    .parse()
                    .map_err(|_| invalid(&format!("bad Content-Length `{value}`")))?;
                framing = Self::Length(length);
            }
        }
        Ok(framing)
    }
}

fn parse_status(head: &str) -> io::Result<u16> {
    let line = head.lines().next().unwrap_or("");
    let mut parts = line.split_whitespace();
    match (parts.next(), parts.next().map(str::parse::<u16>)) {
        (Some(version), Some(Ok(status))) if version.starts_with("HTTP/1.") => Ok(status),
        _ => Err(invalid(&format!("bad status line `{}`", line.trim()))),
    }
}

fn wants_close(head: &str) -> bool {
    head.split("\r\n").skip(1).any(|line| {
        line.split_once(':').is_some_and(|(name, value)| {
            name.trim().eq_ignore_ascii_case("connection")
                && value.trim().eq_ignore_ascii_case("close")
        })
    })
}

fn invalid(message: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// Serves `responses` in order on one connection, then closes it.
    fn serve_once(responses: &'static [&'static str]) -> Target {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        std::thread::spawn(move || {
            let (stream, _) = listener.accept().expect("accept");
            let mut reader = BufReader::new(stream);
            for response in responses {
                let mut line = String::new();
                while reader.read_line(&mut line).expect("read") > 0 && line != "\r\n" {
                    line.clear();
                }
                reader
                    .get_mut()
                    .write_all(response.as_bytes())
                    .expect("write");
            }
        });
        Target::parse(&url).expect("target")
    }

    #[test]
    fn reads_length_and_chunked_bodies_on_one_connection() {
        let target = serve_once(&[
            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Request-Id: abc\r\n\r\nOK",
            "HTTP/1.1 404 Not Found\r\ntransfer-encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
            "HTTP/1.1 204 No Content\r\n\r\n",
        ]);
        let mut connection = Connection::open(&target, Duration::from_secs(5)).expect("open");
        let request = target.get_request("/v1/health");
        assert_eq!(connection.send(&request).expect("first"), 200);
        assert_eq!(connection.body(), b"OK");
        assert_eq!(connection.header("x-request-id"), Some("abc"));
        assert_eq!(connection.send(&request).expect("second"), 404);
        assert_eq!(connection.body(), b"abcde");
        assert_eq!(connection.send(&request).expect("third"), 204);
        assert!(connection.body().is_empty());
    }

    #[test]
    fn posts_carry_headers_and_a_framed_body() {
        let target = Target::parse("http://127.0.0.1:8080").expect("valid");
        let request = target.request(
            "POST",
            "/rpc",
            &[("Origin", "http://127.0.0.1:8080")],
            Some(("application/json", b"{}")),
        );
        assert_eq!(
            String::from_utf8(request).expect("ascii"),
            "POST /rpc HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: xtask-bench\r\n\
             Accept: */*\r\nOrigin: http://127.0.0.1:8080\r\nContent-Type: application/json\r\n\
             Content-Length: 2\r\n\r\n{}"
        );
    }

    #[test]
    fn repeated_headers_are_all_readable() {
        let target = serve_once(&[
            "HTTP/1.1 200 OK\r\nSet-Cookie: a=1; Path=/\r\nset-cookie: b=2\r\nContent-Length: 0\r\n\r\n",
        ]);
        let mut connection = Connection::open(&target, Duration::from_secs(5)).expect("open");
        assert_eq!(
            connection.send(&target.get_request("/")).expect("sent"),
            200
        );
        let cookies = connection.headers("set-cookie");
        assert_eq!(cookies, ["a=1; Path=/", "b=2"]);
        assert_eq!(connection.header("Set-Cookie"), Some("a=1; Path=/"));
    }

    #[test]
    fn a_closing_server_is_reported_after_the_body() {
        let target =
            serve_once(&["HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nOK"]);
        let mut connection = Connection::open(&target, Duration::from_secs(5)).expect("open");
        assert_eq!(
            connection.send(&target.get_request("/")).expect("sent"),
            200
        );
        assert_eq!(connection.body(), b"OK");
        assert!(connection.is_closed());
    }

    #[test]
    fn targets_are_plain_http_base_urls() {
        let target = Target::parse("http://127.0.0.1:8080/").expect("valid");
        assert_eq!(target.base_url, "http://127.0.0.1:8080");
        assert_eq!(target.addr.port(), 8080);
        assert!(Target::parse("https://127.0.0.1:1").is_err());
        assert!(Target::parse("http://127.0.0.1:1/v1").is_err());
    }
}
