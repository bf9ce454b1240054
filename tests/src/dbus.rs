//! A private `dbus-daemon` per test: its own socket in a temporary folder,
//! killed when dropped. Never the machine's system or session bus.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

#[derive(Debug)]
pub struct PrivateBus {
    child: Child,
    address: String,
    _dir: tempfile::TempDir,
}

impl PrivateBus {
    /// A bus with the session bus's open policy.
    pub fn start() -> Self {
        Self::with_policy(r#"<policy context="default"><allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/><allow own="*"/></policy>"#)
    }

    /// A bus whose configuration holds `policy` (`<policy>` elements).
    pub fn with_policy(policy: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let sock = dir.path().join("bus");
        let config = format!(
            r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>session</type><listen>unix:path={}</listen><auth>EXTERNAL</auth>{policy}</busconfig>"#,
            sock.display()
        );
        let conf = dir.path().join("bus.conf");
        std::fs::write(&conf, config).expect("bus config");
        let mut child = Command::new("dbus-daemon")
            .arg(format!("--config-file={}", conf.display()))
            .args(["--nofork", "--print-address"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            // It complains it cannot raise its fd limit when not root-started by systemd: noise.
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-daemon (run scripts/setup)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("bus address");
        let address = line.trim().to_string();
        assert!(address.starts_with("unix:"), "dbus-daemon printed {address:?}");
        Self { child, address, _dir: dir }
    }

    pub fn address(&self) -> &str {
        &self.address
    }
}

impl Drop for PrivateBus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
