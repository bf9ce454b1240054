//! TLS to the acquirer (rustls, ring provider): each host may be plain TCP
//! or TLS with the acquirer's CA certificate pinned in the configuration —
//! only that CA is trusted, never the system's store, so a terminal cannot
//! be pointed at a host someone else certified.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;

/// A client configuration trusting only the CA certificate(s) in `ca_pem`.
pub fn client_config(ca_pem: &Path) -> Result<Arc<ClientConfig>, String> {
    let mut roots = RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(ca_pem).map_err(|e| format!("CA certificate {}: {e}", ca_pem.display()))?;
    for cert in certs {
        let cert = cert.map_err(|e| format!("CA certificate {}: {e}", ca_pem.display()))?;
        roots.add(cert).map_err(|e| format!("CA certificate {}: {e}", ca_pem.display()))?;
    }
    if roots.is_empty() {
        return Err(format!("CA certificate {}: no certificate in the file", ca_pem.display()));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config =
        ClientConfig::builder_with_provider(provider).with_safe_default_protocol_versions().map_err(|e| e.to_string())?.with_root_certificates(roots).with_no_client_auth();
    Ok(Arc::new(config))
}

/// A connection to the host: plain, or TLS over TCP.
#[derive(Debug)]
pub enum Conn {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
}

impl Conn {
    /// Completes the TLS handshake now, so a failure means nothing was sent.
    pub fn tls(config: Arc<ClientConfig>, server_name: &str, mut tcp: TcpStream) -> Result<Self, String> {
        let name = ServerName::try_from(server_name.to_string()).map_err(|e| format!("server name {server_name:?}: {e}"))?;
        let mut conn = ClientConnection::new(config, name).map_err(|e| e.to_string())?;
        while conn.is_handshaking() {
            conn.complete_io(&mut tcp).map_err(|e| format!("TLS handshake: {e}"))?;
        }
        Ok(Conn::Tls(Box::new(StreamOwned::new(conn, tcp))))
    }

    pub fn tcp(&self) -> &TcpStream {
        match self {
            Conn::Plain(s) => s,
            Conn::Tls(s) => s.get_ref(),
        }
    }
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Conn::Plain(s) => s.read(buf),
            Conn::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Conn::Plain(s) => s.write(buf),
            Conn::Tls(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Conn::Plain(s) => s.flush(),
            Conn::Tls(s) => s.flush(),
        }
    }
}
