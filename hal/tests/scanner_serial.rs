//! The serial code scanner on a real tty: a pty pair made by `socat`, its
//! two ends behind symlinks the way udev names a USB scanner. The "scanner"
//! end is what posd opens; the test types codes into the other. Unplugging
//! is socat exiting (both ptys close), replugging is a new socat on the
//! same names.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "an integration test: a panic is the failure report")]

use smartpos_hal::Cancel;
use smartpos_hal::scanner::serial::SerialScanner;
use smartpos_hal::scanner::{CodeScanner, ScannerError};
use smartpos_proto::payment_code::PaymentCode;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// A pty pair; killed (the scanner unplugged) on drop.
struct Cable {
    socat: Child,
    typist: PathBuf,
}

impl Cable {
    fn plug(dir: &Path) -> Self {
        let (scanner, typist) = (dir.join("scanner"), dir.join("typist"));
        let socat = Command::new("socat")
            .arg(format!("pty,raw,echo=0,link={}", scanner.display()))
            .arg(format!("pty,raw,echo=0,link={}", typist.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("socat (scripts/setup installs it)");
        let deadline = Instant::now() + Duration::from_secs(10);
        while !(scanner.exists() && typist.exists()) {
            assert!(Instant::now() < deadline, "socat made no ptys");
            std::thread::sleep(Duration::from_millis(10));
        }
        Self { socat, typist }
    }

    /// Unplugs: socat exits, both ends close, its links are removed.
    fn unplug(mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.socat.id().to_string()]).status();
        let _ = self.socat.wait();
    }

    /// A customer holding a phone under the scanner: `bytes` sent every 50 ms
    /// until the returned flag is raised (a wait drops what came before it,
    /// so a single send could fall before the wait began).
    fn hold(&self, bytes: &'static [u8]) -> (Arc<AtomicBool>, std::thread::JoinHandle<()>) {
        let stop = Arc::new(AtomicBool::new(false));
        let (flag, path) = (stop.clone(), self.typist.clone());
        let t = std::thread::spawn(move || {
            let mut tty = std::fs::OpenOptions::new().write(true).open(&path).expect("typist end");
            while !flag.load(Ordering::SeqCst) {
                if tty.write_all(bytes).is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        });
        (stop, t)
    }
}

impl Drop for Cable {
    fn drop(&mut self) {
        let _ = self.socat.kill();
        let _ = self.socat.wait();
    }
}

fn read_held(scanner: &mut SerialScanner, cable: &Cable, bytes: &'static [u8]) -> Result<String, ScannerError> {
    let (stop, t) = cable.hold(bytes);
    let got = scanner.wait_line(Duration::from_secs(20), &Cancel::new()).map(|l| l.0.to_string());
    stop.store(true, Ordering::SeqCst);
    t.join().unwrap();
    got
}

#[test]
fn codes_arrive_junk_is_refused_and_an_unplugged_scanner_comes_back() {
    let dir = tempfile::tempdir().unwrap();
    let cable = Cable::plug(dir.path());
    let mut scanner = SerialScanner::new(dir.path().join("scanner"), 9600, 64);
    assert!(scanner.info().present);

    // A code, with CR (the scanner's default terminator) and with CR LF.
    let line = read_held(&mut scanner, &cable, b"6225880123456789\r").unwrap();
    assert_eq!(PaymentCode::parse(&line).unwrap().masked(), "6225********6789");
    assert_eq!(read_held(&mut scanner, &cable, b"2834567890123456789\r\n").unwrap(), "2834567890123456789");

    // Junk: a web link is a line but not a code; binary noise is not even a line.
    let link = read_held(&mut scanner, &cable, b"https://qr.example/pay?x=1\r").unwrap();
    let err = PaymentCode::parse(&link).unwrap_err();
    assert!(err.to_string().contains("not only digits"), "{err}");
    assert_eq!(read_held(&mut scanner, &cable, b"\x02\x1b\x7f\r").unwrap_err(), ScannerError::NotText);
    let long: &'static [u8] = Box::leak([vec![b'9'; 100], b"\r".to_vec()].concat().into_boxed_slice());
    assert_eq!(read_held(&mut scanner, &cable, long).unwrap_err(), ScannerError::LineTooLong(64));

    // A cancel ends the wait.
    let cancel = Cancel::new();
    cancel.cancel();
    assert_eq!(scanner.wait_line(Duration::from_secs(20), &cancel).unwrap_err(), ScannerError::Cancelled);

    // Unplugged in the middle of a wait: reported as such, then absent.
    let waiting = std::thread::spawn(move || {
        let r = scanner.wait_line(Duration::from_secs(20), &Cancel::new());
        (scanner, r)
    });
    cable.unplug();
    let (mut scanner, r) = waiting.join().unwrap();
    let err = r.unwrap_err();
    // The wait may have begun before or after the unplug: either way it says so.
    assert!(matches!(err, ScannerError::Unplugged(_) | ScannerError::NotPresent(..)), "{err:?}");
    assert!(!scanner.info().present, "no scanner while unplugged");
    let err = scanner.wait_line(Duration::from_secs(1), &Cancel::new()).unwrap_err();
    assert!(err.to_string().contains("is not connected"), "{err}");

    // Replugged on the same name: codes arrive again.
    let cable = Cable::plug(dir.path());
    assert!(scanner.info().present);
    assert_eq!(read_held(&mut scanner, &cable, b"6225880123456789\r").unwrap(), "6225880123456789");
}
