//! Loopback only, and only the terminal's own page: requests must name a
//! loopback host (a web page elsewhere that points a name at 127.0.0.1 —
//! DNS rebinding — is refused), a cross-site `Origin` is refused, and the
//! API takes JSON bodies only, which a plain form on another site cannot
//! send without the browser asking first.

use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

fn loopback_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(n, _)| n),
    };
    matches!(name, "127.0.0.1" | "localhost" | "::1")
}

pub async fn local_only(req: Request, next: Next) -> Response {
    let host = req.headers().get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
    if !loopback_host(host) {
        return (StatusCode::MISDIRECTED_REQUEST, "this app answers only to the terminal's own screen (http://127.0.0.1)").into_response();
    }
    if let Some(origin) = req.headers().get(header::ORIGIN).and_then(|o| o.to_str().ok())
        && origin != format!("http://{host}")
    {
        return (StatusCode::FORBIDDEN, "cross-site request refused").into_response();
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::loopback_host;

    #[test]
    fn only_loopback_names() {
        for ok in ["127.0.0.1:8080", "localhost:8080", "[::1]:8080", "localhost"] {
            assert!(loopback_host(ok), "{ok}");
        }
        for bad in ["evil.example:8080", "127.0.0.1.evil.example", "192.168.1.2:8080", "", "[::2]:80", "localhost.evil:80"] {
            assert!(!loopback_host(bad), "{bad}");
        }
    }
}
