//! The sd_notify protocol: datagrams to `$NOTIFY_SOCKET` (`READY=1`,
//! `STATUS=…`, `WATCHDOG=1`, `STOPPING=1`). A path starting with `@` is an
//! abstract socket, which std cannot address without unsafe code, so only
//! file sockets are supported; systemd uses a file socket for services.

use std::os::unix::net::UnixDatagram;
use std::time::Duration;

#[derive(Debug)]
pub struct Notifier {
    socket: Option<(UnixDatagram, String)>,
}

impl Notifier {
    /// From the environment; a no-op when not started by systemd.
    pub fn from_env() -> Self {
        let socket = std::env::var("NOTIFY_SOCKET").ok().filter(|p| !p.is_empty()).and_then(|path| {
            if path.starts_with('@') {
                tracing::warn!("NOTIFY_SOCKET is an abstract socket, which posd does not support: no readiness notification");
                return None;
            }
            // Non-blocking: a notify socket whose reader stalls (its queue
            // holds ~10 datagrams) must never stall the daemon.
            UnixDatagram::unbound().ok().filter(|s| s.set_nonblocking(true).is_ok()).map(|s| (s, path))
        });
        Self { socket }
    }

    pub fn send(&self, state: &str) {
        if let Some((sock, path)) = &self.socket
            && let Err(e) = sock.send_to(state.as_bytes(), path)
        {
            if e.kind() == std::io::ErrorKind::WouldBlock {
                tracing::debug!("sd_notify {state:?}: the manager's queue is full; dropped");
            } else {
                tracing::warn!("sd_notify {state:?}: {e}");
            }
        }
    }

    pub fn ready(&self, status: &str) {
        self.send(&format!("READY=1\nSTATUS={status}"));
    }

    pub fn status(&self, status: &str) {
        self.send(&format!("STATUS={status}"));
    }

    /// Half the watchdog interval systemd asked for, if it asked.
    pub fn watchdog_interval() -> Option<Duration> {
        let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.parse().ok()?;
        if let Some(pid) = std::env::var("WATCHDOG_PID").ok().and_then(|p| p.parse::<u32>().ok())
            && pid != std::process::id()
        {
            return None;
        }
        (usec > 0).then(|| Duration::from_micros(usec / 2))
    }
}
