//! The ModemManager backend against an independent stand-in
//! (python-dbusmock's template, extended per ModemManager's XML) on a
//! private bus: status, location for field 59, bearer connect, signal loss
//! and re-registration, a modem that goes away, no ModemManager at all.

use smartpos_hal::modem::modemmanager::ModemManagerClient;
use smartpos_hal::modem::{CellLocation, Modem, ModemError};
use smartpos_tests::dbus::PrivateBus;
use smartpos_tests::mm_standin::ModemManagerStandIn;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn modemmanager_backend_follows_the_modem() {
    let bus = PrivateBus::start();
    let mut mm = ModemManagerStandIn::start(bus.address());
    let conn = zbus::connection::Builder::address(bus.address()).expect("address").build().await.expect("connect");
    let client = ModemManagerClient::new(conn);
    let modem = Modem::ModemManager(client.clone());

    // Registered at home, the template's LTE modem and signal.
    let s = modem.status().await;
    assert!(s.present && s.sim_present, "{s:?}");
    assert_eq!((s.state.as_str(), s.registration.as_str(), s.technology.as_str()), ("registered", "home", "lte"));
    assert_eq!((s.operator.as_str(), s.operator_code.as_str(), s.signal), ("China Mobile", "46000", 70));
    assert!(!s.bearer_connected);

    // The serving cell, for field 59 (the client enables the 3GPP source).
    mm.send("location 460 00 2A3B 00C1D2E3");
    let cell = modem.status().await.location.expect("cell location");
    assert_eq!(cell, CellLocation { mcc: 460, mnc: 0, lac: 0x2A3B, ci: 0xC1D2E3 });
    assert_eq!(cell.to_field59().encode(), "cell:460,00,2A3B,C1D2E3");

    // Host unreachable, registered, not connected: the bearer is brought up with the APN.
    assert_eq!(modem.ensure_connected("cmnet").await, Ok(true));
    let bearer: serde_json::Value = serde_json::from_str(&mm.send("bearer")).expect("json");
    assert_eq!((bearer["connected"].as_bool(), bearer["apn"].as_str()), (Some(true), Some("cmnet")));
    let s = modem.status().await;
    assert!(s.bearer_connected && s.state == "connected", "{s:?}");
    assert_eq!(modem.ensure_connected("cmnet").await, Ok(false), "already connected: nothing to do");

    // A signal arrives when anything changes (subscribed before the change is made).
    let mut changes = client.changes().await.expect("subscribe");
    // Signal loss: no registration, bearer down, no connect attempted.
    mm.send("signal 0");
    mm.send("register searching");
    assert!(tokio::time::timeout(Duration::from_secs(10), changes.next()).await.is_ok(), "no change was seen");
    drop(changes); // an undrained subscription would stall the connection once its queue is full
    let s = modem.status().await;
    assert_eq!((s.signal, s.registration.as_str(), s.state.as_str(), s.bearer_connected), (0, "searching", "searching", false));
    assert_eq!(modem.ensure_connected("cmnet").await, Err(ModemError::NotRegistered("searching".into())));
    mm.send("register denied");
    assert_eq!(modem.status().await.registration, "denied");

    // Re-registration (roaming this time) and the bearer comes back.
    mm.send("register roaming");
    mm.send("signal 55");
    mm.send("operator 46001 China Unicom");
    let s = modem.status().await;
    assert_eq!((s.registration.as_str(), s.signal, s.operator.as_str()), ("roaming", 55, "China Unicom"));
    assert_eq!(modem.ensure_connected("cmnet").await, Ok(true));
    assert!(modem.status().await.bearer_connected);

    // The modem goes away: a status, not an error.
    mm.send("remove");
    let s = modem.status().await;
    assert!(!s.present && s.state == "absent", "{s:?}");
    assert!(matches!(modem.ensure_connected("cmnet").await, Ok(false)));

    // No ModemManager on the bus.
    drop(mm);
    let s = modem.status().await;
    assert_eq!(s.state, "no-modemmanager");
}
