//! Daemon figures for docs/BENCHMARKS.md: time from process start to
//! `READY=1`, RSS idle after sign-in, and `Sale` latency over D-Bus with the
//! simulated card and keypad against the simulator on loopback. Prints one
//! JSON line.
//!
//! ```text
//! pos-bench-dbus --posd target/release/posd [--sales 1000] [--starts 20]
//! ```

use smartpos_tests::acquirer::LocalSim;
use smartpos_tests::dbus::PrivateBus;
use std::collections::HashMap;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use zbus::zvariant::{OwnedValue, Value};

use smartpos_tests::bench::{call, percentile, ready_for_sales};

fn config(dir: &Path, sim: &LocalSim) -> PathBuf {
    let text = std::fs::read_to_string(smartpos_tests::oracle::repo_root().join("tests/fixtures/posd-test.toml")).expect("test config");
    let text = text.replace("127.0.0.1:1", &sim.h.addr.to_string()).replace("/tmp/posd-test", &dir.join("state").display().to_string());
    let path = dir.join("posd.toml");
    std::fs::write(&path, text).expect("config");
    path
}

fn spawn(posd: &Path, cfg: &Path, bus: &PrivateBus, notify: &Path) -> Child {
    Command::new(posd)
        .args(["--config", &cfg.display().to_string(), "--bus", bus.address(), "--log", &std::env::var("POSD_LOG").unwrap_or_else(|_| "warn".into())])
        .env("NOTIFY_SOCKET", notify)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::env::var_os("POSD_LOG_FILE").and_then(|f| std::fs::File::create(f).ok()).map_or_else(Stdio::null, Stdio::from))
        .spawn()
        .expect("posd")
}

fn stop(mut child: Child) {
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let _ = child.wait();
}

fn rss_kib(pid: u32) -> u64 {
    smartpos_tests::posd::rss_kib(&pid.to_string()).unwrap_or(0)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut posd = PathBuf::from("target/release/posd");
    let mut sales = 1000usize;
    let mut starts = 20usize;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--posd" => posd = PathBuf::from(args.next().expect("--posd PATH")),
            "--sales" => sales = args.next().and_then(|v| v.parse().ok()).expect("--sales N"),
            "--starts" => starts = args.next().and_then(|v| v.parse().ok()).expect("--starts N"),
            other => panic!("unknown argument {other}"),
        }
    }
    let sim = LocalSim::start();
    let dir = tempfile::tempdir().expect("dir");
    let cfg = config(dir.path(), &sim);
    let notify_path = dir.path().join("notify");
    let notify = UnixDatagram::bind(&notify_path).expect("notify socket");
    notify.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");

    // Start to READY, fresh process each time (the store already exists after the first).
    let mut ready_ms = Vec::new();
    for _ in 0..starts {
        let bus = PrivateBus::start();
        let t0 = Instant::now();
        let child = spawn(&posd, &cfg, &bus, &notify_path);
        let mut buf = [0u8; 1024];
        loop {
            let n = notify.recv(&mut buf).expect("READY within 30 s");
            if String::from_utf8_lossy(&buf[..n]).lines().any(|l| l == "READY=1") {
                break;
            }
        }
        ready_ms.push(t0.elapsed().as_secs_f64() * 1000.0);
        stop(child);
    }
    ready_ms.sort_by(f64::total_cmp);

    eprintln!("bench: start to READY done");
    // One posd for RSS and latency.
    let bus = PrivateBus::start();
    let child = spawn(&posd, &cfg, &bus, &notify_path);
    let pid = child.id();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let (idle_kib, lat, peak_kib) = rt.block_on(async {
        let conn = zbus::connection::Builder::address(bus.address()).expect("address").build().await.expect("bus");
        ready_for_sales(&conn).await;
        tokio::time::sleep(Duration::from_secs(2)).await;
        let idle = rss_kib(pid);
        // The cardholder: types the PIN whenever posd asks for it.
        let typist = {
            use futures_util::StreamExt;
            // Its own connection, as a separate keypad client would have.
            let conn = zbus::connection::Builder::address(bus.address()).expect("address").build().await.expect("bus");
            let rule =
                zbus::MatchRule::builder().msg_type(zbus::message::Type::Signal).interface("org.smartpos.Pos1.Payment").expect("rule").member("Progress").expect("rule").build();
            let mut stream = zbus::MessageStream::for_match_rule(rule, &conn, Some(256)).await.expect("subscribe");
            tokio::spawn(async move {
                while let Some(Ok(msg)) = stream.next().await {
                    if msg.body().deserialize::<(String, HashMap<String, OwnedValue>)>().is_ok_and(|(s, _)| s == "waiting-pin") {
                        let _ = call(&conn, "Simulator", "PressKeys", &("123456#",)).await;
                    }
                }
            })
        };
        call(&conn, "Simulator", "InsertCard", &("default",)).await.expect("card");
        eprintln!("bench: card inserted, {sales} sales");
        let mut lat = Vec::with_capacity(sales);
        let mut peak = idle;
        for i in 0..sales {
            let opts: HashMap<&str, Value<'_>> = HashMap::new();
            let t0 = Instant::now();
            let reply = call(&conn, "Payment", "Sale", &(100u64 + i as u64 % 50, opts)).await.expect("sale");
            if i == 0 {
                eprintln!("bench: first sale done");
            }
            lat.push(t0.elapsed().as_secs_f64() * 1000.0);
            let r: HashMap<String, OwnedValue> = reply.body().deserialize().expect("result");
            assert!(bool::try_from(r.get("approved").expect("approved").try_clone().expect("value")).unwrap_or(false), "sale {i} not approved");
            if i % 100 == 0 {
                peak = peak.max(rss_kib(pid));
            }
        }
        peak = peak.max(rss_kib(pid));
        eprintln!("bench: sales done");
        typist.abort();
        (idle, lat, peak)
    });
    eprintln!("bench: stopping posd");
    stop(child);
    let mut lat = lat;
    lat.sort_by(f64::total_cmp);
    let size = std::fs::metadata(&posd).map(|m| m.len()).unwrap_or(0);
    println!(
        "{}",
        serde_json::json!({
            "ready_ms_median": percentile(&ready_ms, 0.5), "ready_ms_max": ready_ms.last(), "starts": starts,
            "idle_rss_kib": idle_kib, "peak_rss_kib": peak_kib,
            "sale_ms_median": percentile(&lat, 0.5), "sale_ms_p99": percentile(&lat, 0.99), "sales": sales,
            "posd_bytes": size,
        })
    );
}
