//! # smartpos-tests
//!
//! Everything that tests smartpos from outside and is never linked into
//! `posd`: the acquirer simulator (`pos-acquirer-sim`), the Python oracle
//! runner, and the integration tests under `tests/`.
//!
//! | concept | module |
//! |---|---|
//! | the acquirer simulator | [`acquirer`] |
//! | what the D-Bus benchmarks share | [`bench`] |
//! | a private dbus-daemon per test | [`dbus`] |
//! | ModemManager stand-in (python-dbusmock, extended per MM's XML) | [`mm_standin`] |
//! | independent oracles (pyiso8583, pyemv, psec, cryptography) | [`oracle`] |
//! | a private pcscd with the vpcd driver, virtual cards plugged into it | [`pcscd`] |
//! | a minimal hand-built terminal that tests the simulator | [`test_terminal`] |
//! | the real engine on a real SQLite file, simulated reader and keypad, the simulator | [`rig`] |
//! | posd as a process on a private bus, driven with busctl | [`posd`] |
//! | the cashier app (`pos-kiosk`) in a real headless Chromium driven by Selenium | [`kiosk`] |
//! | a test ESC/POS printer (TCP, pty), its stream decoded, the receipt items check | [`printer`] |
//! | the forms a PAN or code leaks in (ASCII, BCD, hex), for the secret scans | [`secrets`] |
//! | the engine in a killable process (`pos-engine-driver`) and the books check after a crash | [`driver`] |

#![forbid(unsafe_code)]

pub mod acquirer;
pub mod bench;
pub mod dbus;
pub mod driver;
pub mod kiosk;
pub mod mm_standin;
pub mod oracle;
pub mod pcscd;
pub mod posd;
pub mod printer;
pub mod rig;
pub mod secrets;
pub mod test_terminal;
