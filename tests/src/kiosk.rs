//! The cashier app under test: `pos-kiosk` against a [`PosdRig`]'s posd on
//! its private bus, and a real headless Chromium (Debian `chromium` and
//! `chromium-driver`) driven by Selenium from Python
//! (`tests/browser/kiosk.py`), which asserts what the screen shows. The
//! caller asserts the simulator's ledger. Everything started here is
//! killed when it drops (the browser's whole process group).

use crate::posd::{PosdRig, workspace_bin};
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The operator PIN the tests' kiosk is configured with.
pub const OPERATOR_PIN: &str = "2580";

#[derive(Debug)]
pub struct Kiosk {
    child: Child,
    pub url: String,
    pub dir: tempfile::TempDir,
}

impl Kiosk {
    /// `pos-kiosk` on a free loopback port, talking to `rig`'s posd, with
    /// [`OPERATOR_PIN`].
    pub fn start(rig: &PosdRig) -> Self {
        Self::start_with(rig, &format!("operator_pin = \"{OPERATOR_PIN}\"\nlanguage = \"zh\"\n"))
    }

    /// [`Kiosk::start`] with this `kiosk.toml` (its `listen` is set here).
    pub fn start_with(rig: &PosdRig, config_text: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = dir.path().join("kiosk.toml");
        std::fs::write(&config, format!("listen = \"127.0.0.1:0\"\n{config_text}")).expect("config");
        let log = std::fs::File::create(dir.path().join("kiosk.log")).expect("log");
        let mut child = Command::new(workspace_bin("pos-kiosk"))
            .args(["--config", &config.display().to_string(), "--bus", rig.bus.address()])
            .env("KIOSK_LOG", "debug")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("pos-kiosk");
        // It prints its URL once it listens.
        let mut line = String::new();
        let stdout = child.stdout.take().expect("stdout");
        let _ = BufReader::new(stdout).read_line(&mut line);
        let url = line.trim().strip_prefix("pos-kiosk: ").unwrap_or("").to_string();
        let kiosk = Self { child, url, dir };
        assert!(kiosk.url.starts_with("http://127.0.0.1:"), "pos-kiosk did not start: {:?}\n{}", line, kiosk.log());
        kiosk
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("kiosk.log")).unwrap_or_default()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Runs `scenario` of `tests/browser/kiosk.py` in a fresh Chromium
    /// (viewport `size`, `"480x800"`), screenshots into `shots`. Panics with
    /// what the browser script printed when it fails.
    pub fn browse(&self, rig: &PosdRig, scenario: &str, size: &str, shots: &Path) {
        let script = crate::oracle::repo_root().join("tests/browser/kiosk.py");
        let child = Command::new(std::env::var("PYTHON").unwrap_or_else(|_| "python3".into()))
            .arg(&script)
            .args(["--url", &self.url, "--bus", rig.bus.address(), "--posctl", &workspace_bin("posctl").display().to_string()])
            .args(["--scenario", scenario, "--size", size, "--shots", &shots.display().to_string(), "--pin", OPERATOR_PIN])
            // Chromium must not find any bus but the ones it is given: none.
            .env("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent/system_bus_socket")
            .env("DBUS_SESSION_BUS_ADDRESS", "disabled:")
            .env("HOME", self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .expect("python3 (scripts/setup installs selenium, chromium and chromium-driver)");
        let group = child.id();
        let out = BrowserGroup(group);
        let output = child.wait_with_output().expect("browser script");
        drop(out);
        let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        assert!(output.status.success(), "browser scenario {scenario} at {size} failed:\n{text}\n--- kiosk log ---\n{}\n--- posd log ---\n{}", self.log(), rig.log());
    }
}

/// Kills what the browser script left (chromedriver, Chromium) with its group.
struct BrowserGroup(u32);

impl Drop for BrowserGroup {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-KILL", "--", &format!("-{}", self.0)]).stderr(Stdio::null()).status();
    }
}

impl Drop for Kiosk {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Width and height of a PNG (its IHDR), `None` when it is not one.
pub fn png_size(path: &Path) -> Option<(u32, u32)> {
    let b = std::fs::read(path).ok()?;
    if b.get(..8)? != b"\x89PNG\r\n\x1a\n" || b.get(12..16)? != b"IHDR" {
        return None;
    }
    let be = |r: std::ops::Range<usize>| b.get(r).and_then(|s| <[u8; 4]>::try_from(s).ok()).map(u32::from_be_bytes);
    Some((be(16..20)?, be(20..24)?))
}

/// Where the screenshots go: `docs/kiosk/` with `UPDATE_SCREENSHOTS=1`
/// (then commit them), else a temporary folder the caller keeps.
pub fn shots_dir(tmp: &tempfile::TempDir) -> PathBuf {
    if std::env::var_os("UPDATE_SCREENSHOTS").is_some() {
        let d = crate::oracle::repo_root().join("docs/kiosk");
        std::fs::create_dir_all(&d).expect("docs/kiosk");
        d
    } else {
        tmp.path().to_path_buf()
    }
}
