//! The path to the acquirer host, as a trait the engine sends frames over,
//! and its TCP backend. The engine needs to know whether a request could
//! have left (reversal rules), so connecting is a separate step from
//! sending: an [`LinkError::Unreachable`] means nothing was written.

use super::tls::Conn;
use crate::config::{Host, Timeouts};
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// No connection could be made: nothing was sent.
    #[error("unreachable: {0}")]
    Unreachable(String),
    /// The host answered but could not be trusted (TLS: the CA certificate
    /// cannot be used, or the host's certificate does not verify): nothing
    /// was sent, and the network is not what to check.
    #[error("untrusted: {0}")]
    Untrusted(String),
    /// The request may have left, and no complete reply came back.
    #[error("no reply: {0}")]
    NoReply(String),
}

pub trait HostLink: Send {
    /// Makes sure a connection is up (reusing a live one).
    fn connect(&mut self) -> Result<(), LinkError>;
    /// Writes one frame and reads one frame back, waiting at most `timeout`
    /// for the reply; frames longer than `max_len` are refused.
    fn round_trip(&mut self, frame: &[u8], timeout: Duration, max_len: usize) -> Result<Vec<u8>, LinkError>;
    /// Drops the connection (after an error, or to force a fresh one).
    fn close(&mut self);
    /// Where the link goes, for diagnostics.
    fn describe(&self) -> String;
}

/// One configured host: where, and how (plain TCP, or TLS with its pinned CA).
#[derive(Debug)]
struct Target {
    address: String,
    /// `Some` for TLS: the client configuration (or why it cannot be built) and the name to check.
    tls: Option<(Result<std::sync::Arc<rustls::ClientConfig>, String>, String)>,
}

/// TCP (or TLS over TCP) to the configured hosts, primary first, keeping
/// the connection open between exchanges.
#[derive(Debug)]
pub struct TcpLink {
    hosts: Vec<Target>,
    connect_timeout: Duration,
    stream: Option<Conn>,
}

impl TcpLink {
    pub fn new(hosts: &[Host], timeouts: &Timeouts) -> Self {
        let hosts = hosts
            .iter()
            .map(|h| Target { address: h.address.clone(), tls: h.tls.then(|| (super::tls::client_config(std::path::Path::new(&h.ca_cert)), h.server_name())) })
            .collect();
        Self { hosts, connect_timeout: Duration::from_millis(timeouts.connect_ms), stream: None }
    }

    /// A kept connection the host has closed reads as EOF without blocking.
    fn still_open(c: &Conn) -> bool {
        let s = c.tcp();
        let mut probe = [0u8; 1];
        if s.set_nonblocking(true).is_err() {
            return false;
        }
        let open = matches!(s.peek(&mut probe), Err(ref e) if e.kind() == std::io::ErrorKind::WouldBlock);
        s.set_nonblocking(false).is_ok() && open
    }
}

impl HostLink for TcpLink {
    fn connect(&mut self) -> Result<(), LinkError> {
        if self.stream.as_ref().is_some_and(Self::still_open) {
            return Ok(());
        }
        self.stream = None;
        if self.hosts.is_empty() {
            return Err(LinkError::Unreachable("no acquirer host is configured ([[host]] in posd.toml)".into()));
        }
        let mut last = LinkError::Unreachable(String::new());
        for target in &self.hosts {
            let host = &target.address;
            let addrs = match host.to_socket_addrs() {
                Ok(a) => a.collect::<Vec<_>>(),
                Err(e) => {
                    last = LinkError::Unreachable(format!("{host}: {e}"));
                    continue;
                }
            };
            for addr in addrs {
                match TcpStream::connect_timeout(&addr, self.connect_timeout) {
                    Ok(s) => {
                        let _ = s.set_nodelay(true);
                        let conn = match &target.tls {
                            None => Ok(Conn::Plain(s)),
                            Some((Err(why), _)) => Err(why.clone()),
                            Some((Ok(config), name)) => {
                                let _ = s.set_read_timeout(Some(self.connect_timeout));
                                let _ = s.set_write_timeout(Some(self.connect_timeout));
                                Conn::tls(config.clone(), name, s)
                            }
                        };
                        match conn {
                            Ok(c) => {
                                self.stream = Some(c);
                                return Ok(());
                            }
                            Err(e) => last = LinkError::Untrusted(format!("{host}: {e}")),
                        }
                    }
                    Err(e) => last = LinkError::Unreachable(format!("{host}: {e}")),
                }
            }
        }
        Err(last)
    }

    fn round_trip(&mut self, frame: &[u8], timeout: Duration, max_len: usize) -> Result<Vec<u8>, LinkError> {
        let Some(s) = self.stream.as_mut() else {
            return Err(LinkError::Unreachable("not connected".into()));
        };
        let result = (|| {
            s.tcp().set_write_timeout(Some(timeout))?;
            s.write_all(frame)?;
            s.flush()?;
            s.tcp().set_read_timeout(Some(timeout))?;
            let mut prefix = [0u8; 2];
            s.read_exact(&mut prefix)?;
            let len = usize::from(u16::from_be_bytes(prefix));
            if len > max_len {
                return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, format!("reply length {len} above {max_len}")));
            }
            let mut out = prefix.to_vec();
            out.resize(2 + len, 0);
            s.read_exact(out.get_mut(2..).unwrap_or_default())?;
            Ok(out)
        })();
        result.map_err(|e: std::io::Error| {
            self.stream = None;
            LinkError::NoReply(match e.kind() {
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => "timed out waiting for the reply".into(),
                std::io::ErrorKind::UnexpectedEof => "the host closed the connection".into(),
                _ => e.to_string(),
            })
        })
    }

    fn close(&mut self) {
        self.stream = None;
    }

    fn describe(&self) -> String {
        self.hosts.iter().map(|t| if t.tls.is_some() { format!("tls://{}", t.address) } else { t.address.clone() }).collect::<Vec<_>>().join(", ")
    }
}
