//! Reads payment codes from a USB HID scanner through posd's evdev backend
//! (`smartpos_hal::scanner::evdev_hid`), for the image boot test: inside the
//! QEMU guest a `usb-kbd` that the host types on through QEMU's monitor is a
//! real kernel input device, which this build machine (no uinput) lacks.
//!
//! ```text
//! pos-scan-probe --name QEMU_USB_Keyboard --expect CODE [--ready FILE] [--timeout-secs 120]
//! ```
//! Finds `/dev/input/by-id/*NAME*-event-kbd` (waiting for udev), opens and
//! grabs it, writes `SMARTPOS-SCAN ready` to FILE once it waits, and reads
//! lines until one is CODE (a line cut by the start of the wait is printed
//! and skipped; the host types the code again and again). Exit 0 when the
//! code came, 1 otherwise, with what it saw.

use smartpos_hal::Cancel;
use smartpos_hal::scanner::CodeScanner;
use smartpos_hal::scanner::evdev_hid::EvdevScanner;
use smartpos_proto::payment_code::PaymentCode;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

fn find(name: &str, deadline: Instant) -> Option<PathBuf> {
    loop {
        let found = std::fs::read_dir("/dev/input/by-id").ok().and_then(|dir| {
            dir.filter_map(Result::ok).map(|e| e.path()).find(|p| p.file_name().and_then(|f| f.to_str()).is_some_and(|f| f.contains(name) && f.ends_with("-event-kbd")))
        });
        if found.is_some() || Instant::now() >= deadline {
            return found;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn main() -> ExitCode {
    let (mut name, mut expect, mut ready, mut timeout) = (String::new(), String::new(), None, 120u64);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().unwrap_or_default();
        match a.as_str() {
            "--name" => name = value(),
            "--expect" => expect = value(),
            "--ready" => ready = Some(PathBuf::from(value())),
            "--timeout-secs" => timeout = value().parse().unwrap_or(120),
            other => {
                eprintln!("pos-scan-probe: unknown argument {other:?}");
                return ExitCode::from(2);
            }
        }
    }
    let deadline = Instant::now() + Duration::from_secs(timeout);
    let Some(path) = find(&name, deadline) else {
        println!("no /dev/input/by-id/*{name}*-event-kbd appeared");
        return ExitCode::FAILURE;
    };
    println!("device {}", path.display());
    let mut scanner = EvdevScanner::new(&path, 64);
    if !scanner.info().present {
        println!("cannot open {}", path.display());
        return ExitCode::FAILURE;
    }
    if let Err(e) = scanner.discard() {
        println!("cannot read {}: {e}", path.display());
        return ExitCode::FAILURE;
    }
    if let Some(f) = &ready {
        let _ = std::fs::OpenOptions::new().append(true).open(f).and_then(|mut f| f.write_all(b"SMARTPOS-SCAN ready\n"));
    }
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match scanner.wait_line(left, &Cancel::new()) {
            Ok(line) if *line.0 == expect => {
                let masked = PaymentCode::parse(&line.0).map(|c| c.masked()).unwrap_or_else(|e| e.to_string());
                println!("line {} ({masked}) through {}", &*line.0, path.display());
                return ExitCode::SUCCESS;
            }
            Ok(line) => println!("other line {:?}", &*line.0),
            Err(e) => {
                println!("error: {e}");
                if matches!(e, smartpos_hal::ScannerError::Timeout | smartpos_hal::ScannerError::NotPresent(..) | smartpos_hal::ScannerError::Io(_)) {
                    return ExitCode::FAILURE;
                }
            }
        }
    }
}
