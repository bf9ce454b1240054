//! `Diagnose`: the answers to "my terminal can't sign in" and "terminal not
//! bound", one row per check, each with a remedy a person can follow. It
//! never fails as a call and never waits for a running payment: it reads
//! the latest snapshot, the store through its own connection, the modem,
//! and probes each configured host with a TCP connect.

use super::dict::deposit_status_word;
use super::shared::Shared;
use smartpos_hal::modem::ModemStatus;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    Warn,
    Fail,
}

impl Status {
    pub fn word(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Fail => "fail",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub category: &'static str,
    pub check: String,
    pub status: Status,
    pub detail: String,
    pub remedy: String,
}

fn row(category: &'static str, check: &str, status: Status, detail: impl Into<String>, remedy: &str) -> Row {
    Row { category, check: check.into(), status, detail: detail.into(), remedy: if status == Status::Ok { String::new() } else { remedy.into() } }
}

/// Fen as yuan: `12345` → `123.45`.
pub fn money(fen: u64) -> String {
    format!("{}.{:02}", fen / 100, fen % 100)
}

pub async fn run(s: &Shared) -> Vec<Row> {
    let mut rows = Vec::new();
    let modem = s.modem.status().await;
    rows.extend(modem_rows(&modem));
    rows.extend(host_rows(s).await);
    rows.extend(device_rows(s));
    rows.extend(host_state_rows(s));
    rows.extend(binding_rows(s));
    rows.extend(parameter_rows(s));
    rows.push(operator_row(s));
    rows
}

fn modem_rows(m: &ModemStatus) -> Vec<Row> {
    const NET: &str = "network";
    if m.backend == "none" {
        return vec![row(NET, "modem", Status::Ok, "no modem configured (wired or Wi-Fi network)", "")];
    }
    if !m.present {
        let detail = if m.state == "no-modemmanager" { "ModemManager is not running" } else { "no modem found" };
        return vec![row(
            NET,
            "modem",
            Status::Fail,
            detail,
            "Check that the LTE modem is plugged in and ModemManager runs (systemctl status ModemManager), then restart the terminal.",
        )];
    }
    let mut rows = vec![row(NET, "modem", Status::Ok, format!("{} ({})", m.state, m.technology), "")];
    rows.push(if m.sim_present {
        row(NET, "sim", Status::Ok, "SIM present", "")
    } else {
        row(NET, "sim", Status::Fail, "no SIM card", "Insert the SIM card the operator gave you, then restart the terminal.")
    });
    rows.push(match m.registration.as_str() {
        _ if m.registered() => row(NET, "registration", Status::Ok, format!("{} on {} ({})", m.registration, m.operator, m.operator_code), ""),
        "searching" => row(NET, "registration", Status::Warn, "searching for a network", "Wait a minute; if it stays so, move the terminal where phones have coverage."),
        "denied" => row(NET, "registration", Status::Fail, "the network refused the SIM", "Call the mobile operator: the SIM may be inactive, out of credit or barred."),
        other => row(NET, "registration", Status::Fail, format!("not registered ({other})"), "Check the SIM and the antenna, then restart the terminal."),
    });
    rows.push(match m.signal {
        30.. => row(NET, "signal", Status::Ok, format!("{}%", m.signal), ""),
        10..=29 => row(NET, "signal", Status::Warn, format!("weak: {}%", m.signal), "Move the terminal nearer a window or fit an external antenna."),
        _ => row(NET, "signal", Status::Fail, format!("no usable signal: {}%", m.signal), "Move the terminal or fit an external antenna; payments go offline until then."),
    });
    rows.push(if m.bearer_connected {
        row(NET, "data connection", Status::Ok, "connected", "")
    } else {
        row(NET, "data connection", Status::Warn, "down", "posd brings it up when the host is needed; if it stays down, check hardware.apn in posd.toml with the operator.")
    });
    rows
}

async fn host_rows(s: &Shared) -> Vec<Row> {
    const NET: &str = "network";
    if s.cfg.hosts.is_empty() {
        return vec![row(NET, "host", Status::Fail, "no acquirer host configured", "Add a [[host]] address from the acquirer to /etc/posd/posd.toml and restart posd.")];
    }
    let timeout = Duration::from_millis(s.cfg.timeouts.connect_ms);
    let mut rows = Vec::new();
    for (i, host) in s.cfg.hosts.iter().enumerate() {
        let check = format!("host {} ({})", host.address, if i == 0 { "primary" } else { "backup" });
        if !s.host_reachable.load(Ordering::SeqCst) {
            rows.push(row(NET, &check, Status::Fail, "the network path is cut (simulator)", "Restore it with posctl sim host up."));
            continue;
        }
        let addrs: Vec<_> = match tokio::time::timeout(timeout, tokio::net::lookup_host(host.address.as_str())).await {
            Ok(Ok(a)) => a.collect(),
            Ok(Err(e)) => {
                rows.push(row(NET, &check, Status::Fail, format!("cannot resolve the name: {e}"), "Check the network's DNS, or the host name in posd.toml."));
                continue;
            }
            Err(_) => {
                rows.push(row(NET, &check, Status::Fail, "name lookup timed out", "Check the network connection and its DNS."));
                continue;
            }
        };
        let started = Instant::now();
        let mut last = String::from("no address");
        let mut reached = None;
        for addr in addrs {
            match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(addr)).await {
                Ok(Ok(stream)) => {
                    reached = Some((started.elapsed(), stream));
                    break;
                }
                Ok(Err(e)) => last = e.to_string(),
                Err(_) => last = format!("no answer within {} ms", timeout.as_millis()),
            }
        }
        let Some((rtt, stream)) = reached else {
            rows.push(row(NET, &check, Status::Fail, last, "If other sites work, the acquirer's host is down or blocks this terminal: call the acquirer's help line."));
            continue;
        };
        let tcp = format!("TCP connect in {:.1} ms", rtt.as_secs_f64() * 1000.0);
        if !host.tls {
            rows.push(row(NET, &check, Status::Ok, tcp, ""));
            continue;
        }
        rows.push(match tls_handshake(host, stream, timeout).await {
            Ok(ms) => row(NET, &check, Status::Ok, format!("{tcp}, TLS handshake in {ms:.1} ms"), ""),
            Err(e) => row(
                NET,
                &check,
                Status::Fail,
                format!("{tcp}, but TLS failed: {e}"),
                "Check host.ca_cert is the acquirer's CA certificate and the terminal's clock is right; else call the acquirer.",
            ),
        });
    }
    rows
}

/// The TLS handshake with the pinned CA, as a payment would make it.
async fn tls_handshake(host: &crate::config::Host, stream: tokio::net::TcpStream, timeout: Duration) -> Result<f64, String> {
    let std_stream = stream.into_std().map_err(|e| e.to_string())?;
    std_stream.set_nonblocking(false).map_err(|e| e.to_string())?;
    let _ = std_stream.set_read_timeout(Some(timeout));
    let _ = std_stream.set_write_timeout(Some(timeout));
    let (ca, name) = (host.ca_cert.clone(), host.server_name());
    tokio::task::spawn_blocking(move || {
        let config = crate::engine::tls::client_config(std::path::Path::new(&ca))?;
        let started = Instant::now();
        crate::engine::tls::Conn::tls(config, &name, std_stream)?;
        Ok(started.elapsed().as_secs_f64() * 1000.0)
    })
    .await
    .map_err(|e| e.to_string())?
}

fn device_rows(s: &Shared) -> Vec<Row> {
    const DEV: &str = "device";
    let snap = s.snap();
    let h = &snap.hardware;
    let mut rows = Vec::new();
    rows.push(if h.reader_present {
        row(DEV, "card reader", Status::Ok, format!("{} {}", h.reader_backend, h.reader_name).trim().to_string(), "")
    } else {
        row(
            DEV,
            "card reader",
            Status::Fail,
            h.reader_problem.clone().unwrap_or_else(|| "no card reader".into()),
            "Plug the card reader in firmly and check pcscd runs (systemctl status pcscd), then try again.",
        )
    });
    rows.push(if h.card_present && !s.busy() {
        row(DEV, "card slot", Status::Warn, "a card is in the reader with no payment running", "Remove the card left in the reader.")
    } else {
        row(DEV, "card slot", Status::Ok, if h.card_present { "card in use" } else { "empty" }, "")
    });
    rows.push(if h.keypad_ok {
        row(DEV, "keypad", Status::Ok, format!("{} keypad answers", s.keypad_backend), "")
    } else {
        row(
            DEV,
            "keypad",
            Status::Fail,
            format!("the {} keypad does not answer", s.keypad_backend),
            "Check the keypad cable and that posd is in group gpio; see journalctl -u posd for the cause.",
        )
    });
    rows.push(storage_row(s));
    rows.push(match snap.clock_offset_secs {
        None => row(DEV, "clock", Status::Warn, "not compared with the host yet", "Sign in: the terminal compares its clock with the host's then."),
        Some(o) if o.abs() <= 60 => row(DEV, "clock", Status::Ok, format!("{o:+} s from the host's at the last sign-in"), ""),
        Some(o) if o.abs() <= 300 => {
            row(DEV, "clock", Status::Warn, format!("{o:+} s from the host's"), "Check the time service (timedatectl); receipts may show a slightly wrong time.")
        }
        Some(o) => row(DEV, "clock", Status::Fail, format!("{o:+} s from the host's"), "Set the clock right (timedatectl, NTP reachable?) and sign in again."),
    });
    rows
}

fn storage_row(s: &Shared) -> Row {
    let result = crate::store::probe_writable(&s.cfg.terminal.state_dir);
    match result {
        Ok(()) => row("device", "storage", Status::Ok, format!("{} writable", s.cfg.terminal.state_dir.display()), ""),
        Err(e) => row(
            "device",
            "storage",
            Status::Fail,
            format!("{} not writable: {e}", s.cfg.terminal.state_dir.display()),
            "The storage is full or read-only: payments are refused until it is fixed; call service.",
        ),
    }
}

fn host_state_rows(s: &Shared) -> Vec<Row> {
    const HOST: &str = "host";
    let snap = s.snap();
    let mut rows = Vec::new();
    rows.push(match snap.last_error.as_ref().filter(|e| e.category == "host") {
        Some(e) => row(HOST, "last answer", Status::Fail, format!("{} (code {}) at {}", e.message, if e.code.is_empty() { "none" } else { &e.code }, e.at), &e.remedy),
        None => row(HOST, "last answer", Status::Ok, "no host error", ""),
    });
    rows.push(match snap.state {
        "signed-in" => row(HOST, "working keys", Status::Ok, format!("loaded and checked (KCV) at sign-in {}", snap.signed_in_at), ""),
        "bound" => row(HOST, "working keys", Status::Warn, "not signed in: no working keys", "Sign in: posctl sign-in."),
        _ => row(HOST, "working keys", Status::Warn, "none before binding", "Bind the terminal first: posctl bind CODE."),
    });
    rows
}

fn binding_rows(s: &Shared) -> Vec<Row> {
    const BIND: &str = "binding";
    let snap = s.snap();
    if snap.state == "unbound" {
        return vec![row(BIND, "bound", Status::Fail, "the terminal is not bound", "Activate it: posctl bind CODE, with the activation code from your acquirer.")];
    }
    let mut rows = vec![row(BIND, "bound", Status::Ok, format!("TID {} MID {} ({})", snap.terminal_id, snap.merchant_id, snap.merchant_name), "")];
    rows.push(if snap.tmk_present {
        row(BIND, "master key", Status::Ok, "present", "")
    } else {
        row(BIND, "master key", Status::Fail, "missing", "Bind again: posctl unbind, then posctl bind CODE (ask the acquirer for a new code).")
    });
    let amount = money(snap.deposit_amount);
    rows.push(match deposit_status_word(&snap.deposit_status) {
        "paid" | "waived" => row(BIND, "deposit", Status::Ok, format!("{amount} {}", deposit_status_word(&snap.deposit_status)), ""),
        "unpaid" => {
            row(BIND, "deposit", Status::Warn, format!("{amount} unpaid"), "Pay the device deposit to the acquirer; the terminal may be switched off by the host until then.")
        }
        "refunded" => row(BIND, "deposit", Status::Warn, format!("{amount} refunded"), "The deposit was refunded: the acquirer may be taking the terminal back; call them."),
        other => row(BIND, "deposit", Status::Warn, format!("{amount} status {other:?}"), "Ask the acquirer about the deposit."),
    });
    rows
}

/// §8: the CA keys ODA needs, and how the last downloads went.
fn parameter_rows(s: &Shared) -> Vec<Row> {
    const PARAMS: &str = "parameters";
    let snap = s.snap();
    let p = &snap.parameters;
    if snap.state == "unbound" {
        return vec![row(PARAMS, "CA keys", Status::Warn, "none before binding", "Bind and sign in: the keys come with the first sign-in.")];
    }
    let mut rows = vec![if p.ca_keys > 0 {
        row(PARAMS, "CA keys", Status::Ok, format!("{} usable ({} expired), source {}", p.ca_keys, p.expired_keys, p.source), "")
    } else {
        row(
            PARAMS,
            "CA keys",
            Status::Warn,
            format!("no usable CA key ({} expired): cards are not authenticated offline", p.expired_keys),
            "Download them: posctl params --update (after posctl sign-in); if the host refuses, ask the acquirer to enable the CA key download.",
        )
    }];
    if !p.rejected.is_empty() {
        rows.push(row(
            PARAMS,
            "refused keys",
            Status::Warn,
            format!("refused at the last download: {}", p.rejected),
            "The host served keys that do not check; tell the acquirer (the other keys are in use).",
        ));
    }
    let failed = !p.last_outcome.is_empty() && p.last_outcome.split("; ").any(|part| !part.contains(": ok at "));
    rows.push(match (p.updated_at.is_empty(), failed) {
        (_, true) => row(
            PARAMS,
            "last download",
            Status::Warn,
            p.last_outcome.clone(),
            "The sets in force stay; the terminal tries again at the next sign-in (posctl params --update to try now).",
        ),
        (true, false) => row(
            PARAMS,
            "last download",
            Status::Warn,
            "never downloaded: the [emv] values of posd.toml are in force",
            "Sign in (posctl sign-in): the downloads follow the first sign-in.",
        ),
        (false, false) => row(PARAMS, "last download", Status::Ok, format!("complete at {}", p.updated_at), ""),
    });
    rows
}

fn operator_row(s: &Shared) -> Row {
    match s.snap().last_error.filter(|e| e.category == "operator") {
        Some(e) => row("operator", "last operator error", Status::Warn, format!("{} at {}", e.message, e.at), &e.remedy),
        None => row("operator", "last operator error", Status::Ok, "none", ""),
    }
}
