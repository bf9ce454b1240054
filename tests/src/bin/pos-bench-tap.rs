//! Tap figures for docs/BENCHMARKS.md (§10). Prints one JSON line:
//!
//! - **tap to result over D-Bus**: posd (the build given) with the simulated
//!   contactless field; the card is tapped, then `Sale` with `interfaces =
//!   contactless` is timed as an app sees it — the read, fDDA or the online
//!   exchange with the simulator on loopback, the journal commit. Online taps
//!   (the contactless floor pinned to 0, below the CVM limit: no PIN) and
//!   offline taps (fDDA, within the downloaded floor of 500.00).
//! - **card read through vpcd**, reported apart: the kernel's `read_tap`
//!   through the PC/SC backend, a private pcscd and the vpcd virtual card
//!   (TCP on loopback): from the first APDU to the last record. No real
//!   reader here: a real card's radio link is slower; the terminal's own
//!   share is the D-Bus figure minus this.
//!
//! ```text
//! pos-bench-tap --posd target/ship/posd [--taps 300] [--vpcd-taps 20]
//! ```

use smartpos_tests::acquirer::LocalSim;
use smartpos_tests::dbus::PrivateBus;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use zbus::zvariant::{OwnedValue, Value};

use smartpos_tests::bench::{call, percentile, ready_for_sales};

fn config(dir: &Path, sim: &LocalSim, online: bool) -> PathBuf {
    let text = std::fs::read_to_string(smartpos_tests::oracle::repo_root().join("tests/fixtures/posd-test.toml")).expect("test config");
    let mut text = text.replace("127.0.0.1:1", &sim.h.addr.to_string()).replace("/tmp/posd-test", &dir.join("state").display().to_string());
    text = text.replace("[hardware]\n", "[hardware]\ncontactless = \"sim\"\n");
    if online {
        text = text.replace("[emv]\n", "[emv]\ncontactless_floor_limit = 0\npin = [\"contactless_floor_limit\"]\n");
    }
    let path = dir.join("posd.toml");
    std::fs::write(&path, text).expect("config");
    path
}

/// `taps` tapped sales over D-Bus; latencies in ms, sorted.
fn over_dbus(posd: &Path, taps: usize, online: bool) -> Vec<f64> {
    let sim = LocalSim::start();
    let dir = tempfile::tempdir().expect("dir");
    let cfg = config(dir.path(), &sim, online);
    let bus = PrivateBus::start();
    let mut child: Child = Command::new(posd)
        .args(["--config", &cfg.display().to_string(), "--bus", bus.address(), "--log", "warn"])
        .env_remove("NOTIFY_SOCKET")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("posd");
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let mut lat = rt.block_on(async {
        let conn = zbus::connection::Builder::address(bus.address()).expect("address").build().await.expect("bus");
        ready_for_sales(&conn).await;
        let mut lat = Vec::with_capacity(taps);
        for i in 0..taps {
            call(&conn, "Simulator", "TapCard", &(if i % 2 == 0 { "dda" } else { "cda" },)).await.expect("tap");
            let mut opts: HashMap<&str, Value<'_>> = HashMap::new();
            opts.insert("interfaces", Value::from(vec!["contactless"]));
            let amount = if online { 5_000 } else { 2_000 } + i as u64 % 50;
            let t0 = Instant::now();
            let reply = call(&conn, "Payment", "Sale", &(amount, opts)).await.expect("sale");
            lat.push(t0.elapsed().as_secs_f64() * 1000.0);
            let r: HashMap<String, OwnedValue> = reply.body().deserialize().expect("result");
            let offline = bool::try_from(r.get("offline").expect("offline").try_clone().expect("value")).unwrap_or(false);
            assert!(bool::try_from(r.get("approved").expect("approved").try_clone().expect("value")).unwrap_or(false), "tap {i} not approved");
            assert_eq!(offline, !online, "tap {i}");
            if !online && i % 20 == 19 {
                call(&conn, "Queue", "Flush", &()).await.expect("flush");
            }
        }
        lat
    });
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let _ = child.wait();
    lat.sort_by(f64::total_cmp);
    lat
}

/// In a child with the private pcscd's socket in its environment: `taps`
/// kernel reads through vpcd, ms, sorted, printed as JSON.
fn vpcd_child(dir: &Path, taps: usize) {
    use posd::engine::qpboc::{TapContext, read_tap};
    use smartpos_hal::CardReader;
    let pcscd = smartpos_tests::pcscd::PrivatePcscd::start_in(dir, smartpos_tests::pcscd::vpcd_ports(70));
    let vcard = std::env::current_exe().expect("exe").with_file_name("pos-vcard");
    let data = smartpos_vcard::testdata::TestData::embedded();
    let auth = posd::engine::emv::oda::Authenticator { ca_keys: smartpos_tests::acquirer::terminal_ca_keys(&data) };
    let mut params = posd::engine::emv::Params::new(&posd::config::Emv::default(), "156", "SP2026000123");
    params.contactless.floor = 50_000;
    let mut reader = smartpos_hal::pcsc_reader::PcscReader::new(smartpos_tests::pcscd::CONTACTLESS_READER_NAME);
    let mut ms = Vec::new();
    for _ in 0..taps {
        let mut tap = pcscd.tap(vcard.to_str().expect("path"), "dda");
        reader.wait_card(Duration::from_secs(15), &smartpos_hal::Cancel::new()).expect("tap seen");
        let ctx = TapContext { amount: 2_000, txn_type: posd::engine::emv::TxnType::Goods, today: "261203", host_reachable: true, offline_allowed: true };
        let t0 = Instant::now();
        read_tap(&mut reader, &params, &auth, &ctx).expect("read");
        ms.push(t0.elapsed().as_secs_f64() * 1000.0);
        tap.pull();
    }
    ms.sort_by(f64::total_cmp);
    println!("{}", serde_json::json!({"vpcd_read_ms": ms}));
}

fn through_vpcd(taps: usize) -> Vec<f64> {
    let dir = tempfile::tempdir().expect("dir");
    let out = Command::new(std::env::current_exe().expect("exe"))
        .args(["--vpcd-child", &dir.path().display().to_string(), "--vpcd-taps", &taps.to_string()])
        .env("PCSCLITE_CSOCK_NAME", dir.path().join("pcscd.comm"))
        .output()
        .expect("child");
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().last().unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("vpcd child: {e}: {text} {}", String::from_utf8_lossy(&out.stderr)));
    v["vpcd_read_ms"].as_array().expect("list").iter().filter_map(serde_json::Value::as_f64).collect()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut posd = PathBuf::from("target/ship/posd");
    let (mut taps, mut vpcd_taps, mut child_dir) = (300usize, 20usize, None);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--posd" => posd = PathBuf::from(args.next().expect("--posd PATH")),
            "--taps" => taps = args.next().and_then(|v| v.parse().ok()).expect("--taps N"),
            "--vpcd-taps" => vpcd_taps = args.next().and_then(|v| v.parse().ok()).expect("--vpcd-taps N"),
            "--vpcd-child" => child_dir = Some(PathBuf::from(args.next().expect("--vpcd-child DIR"))),
            other => panic!("unknown argument {other}"),
        }
    }
    if let Some(dir) = child_dir {
        return vpcd_child(&dir, vpcd_taps);
    }
    let online = over_dbus(&posd, taps, true);
    eprintln!("bench: online taps done");
    let offline = over_dbus(&posd, taps.min(100), false);
    eprintln!("bench: offline taps done");
    let vpcd = through_vpcd(vpcd_taps);
    println!(
        "{}",
        serde_json::json!({
            "online_taps": online.len(), "online_ms_median": percentile(&online, 0.5), "online_ms_p99": percentile(&online, 0.99),
            "offline_taps": offline.len(), "offline_ms_median": percentile(&offline, 0.5), "offline_ms_p99": percentile(&offline, 0.99),
            "vpcd_taps": vpcd.len(), "vpcd_read_ms_median": percentile(&vpcd, 0.5), "vpcd_read_ms_p99": percentile(&vpcd, 0.99),
        })
    );
}
