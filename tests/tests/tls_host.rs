//! TLS to the acquirer: the simulator serves TLS with a certificate this
//! test makes (rcgen), posd pins the CA in its configuration. The right CA
//! works (after an unreachable primary, in order), a foreign CA fails
//! before anything is sent, and Diagnose says which.

use serde_json::json;
use smartpos_tests::acquirer::{LocalSim, SimConfig};
use smartpos_tests::posd::{PosdRig, type_pin_when_asked};
use std::sync::Arc;

struct Pki {
    ca_pem: String,
    server: Arc<rustls::ServerConfig>,
}

fn pki(name: &str) -> Pki {
    let ca_key = rcgen::KeyPair::generate().expect("key");
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(rcgen::DnType::CommonName, format!("{name} CA"));
    let ca = ca_params.self_signed(&ca_key).expect("CA");
    let key = rcgen::KeyPair::generate().expect("key");
    let params = rcgen::CertificateParams::new(vec!["acquirer.test".to_string()]).expect("params");
    let cert = params.signed_by(&key, &ca, &ca_key).expect("server certificate");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(vec![cert.der().clone()], rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()))
        .expect("server config");
    Pki { ca_pem: ca.pem(), server: Arc::new(server) }
}

fn tls_sim(p: &Pki) -> LocalSim {
    LocalSim::start_with(SimConfig { tls: Some(p.server.clone()), ..SimConfig::local() })
}

/// posd whose hosts are: an unreachable plain primary, then the TLS simulator trusting `ca_pem`.
fn posd(sim: LocalSim, ca_pem: &str) -> (PosdRig, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("dir");
    let ca = dir.path().join("acquirer-ca.pem");
    std::fs::write(&ca, ca_pem).expect("ca");
    let addr = sim.h.addr.to_string();
    let rig = PosdRig::start_with_sim(
        sim,
        |cfg| {
            let primary = toml::toml! { address = "127.0.0.1:9" };
            let backup = toml::toml! { address = (addr) tls = true ca_cert = (ca.display().to_string()) server_name = "acquirer.test" };
            cfg.insert("host".into(), toml::Value::Array(vec![toml::Value::Table(primary), toml::Value::Table(backup)]));
        },
        &[],
    );
    (rig, dir)
}

#[test]
fn tls_with_the_pinned_ca_works_and_a_foreign_ca_fails_before_sending() {
    let acquirer = pki("Acquirer");
    let (rig, _ca) = posd(tls_sim(&acquirer), &acquirer.ca_pem);
    rig.call("Terminal", "Bind", &["s", "483920"]).expect("bind over TLS (after the unreachable primary)");
    rig.call("Simulator", "InsertCard", &["s", "default"]).expect("insert");
    let typist = type_pin_when_asked(rig.bus.address(), "123456#");
    let r = rig.call("Payment", "Sale", &["ta{sv}", "4200", "0"]).expect("sale over TLS");
    let _ = typist.join();
    assert_eq!(r["approved"], json!(true), "{r}");
    assert_eq!(rig.sim.h.ledger().charged("default"), 4200);
    let rows = rig.call("Terminal", "Diagnose", &[]).expect("diagnose");
    let tls_row = rows.as_array().and_then(|r| r.iter().find(|x| x[1].as_str().is_some_and(|c| c.contains("backup")))).cloned().expect("backup row");
    assert_eq!(tls_row[2], json!("ok"), "{tls_row}");
    assert!(tls_row[3].as_str().is_some_and(|d| d.contains("TLS handshake")), "{tls_row}");

    // A terminal that pins another CA: the handshake fails, nothing reaches the host.
    let other = pki("Someone else");
    let (foreign, _other_ca) = posd(tls_sim(&acquirer), &other.ca_pem);
    let (name, message) = {
        let out = std::process::Command::new("gdbus")
            .args([
                "call",
                "--address",
                foreign.bus.address(),
                "--dest",
                "org.smartpos.Pos1",
                "--object-path",
                "/org/smartpos/Pos1",
                "--method",
                "org.smartpos.Pos1.Terminal.Bind",
                "483920",
            ])
            .output()
            .expect("gdbus");
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        (err.contains("org.smartpos.Pos1.Error.Host"), err)
    };
    // Not the network's fault: the remedy names the setting, not the modem.
    assert!(name, "a foreign CA is a Host error: {message}");
    assert!(message.contains("TLS") || message.contains("certificate"), "{message}");
    assert!(message.contains("host.ca_cert") && !message.contains("modem"), "{message}");
    assert_eq!(foreign.sim.h.ledger().charged("default"), 0);
    let rows = foreign.call("Terminal", "Diagnose", &[]).expect("diagnose");
    let tls_row = rows.as_array().and_then(|r| r.iter().find(|x| x[1].as_str().is_some_and(|c| c.contains("backup")))).cloned().expect("backup row");
    assert_eq!(tls_row[2], json!("fail"), "{tls_row}");
    assert!(tls_row[4].as_str().is_some_and(|d| d.contains("ca_cert")), "{tls_row}");
}
