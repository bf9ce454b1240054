//! Plugs a virtual card of `test-cards.toml` into a real pcscd through the
//! vpcd driver: the card is "inserted" while this program is connected.
//!
//! ```text
//! pos-vcard [--card LABEL] [--port 35963] [--host 127.0.0.1] [--t0] [--no-pse] [--tap]
//! ```
//! Exits when the reader closes the connection (pcscd stopped) or on
//! SIGTERM/SIGKILL (the card is pulled). `--tap`: the card's contactless
//! interface (§10), for the contactless reader's vpcd slot (the port + 1 of
//! the contact one): it leaves the field, and the program exits, once read.

use smartpos_vcard::card::{Transport, VirtualCard};
use smartpos_vcard::testdata::TestData;
use smartpos_vcard::vpcd;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// pcscd's vpcd driver sends an APDU's 2-byte length and its body in two
/// writes without `TCP_NODELAY`: Nagle holds the body until the length is
/// acknowledged, and Linux delays that ACK by up to 40 ms. Each APDU then took
/// ~42 ms on loopback (a tap's six: 260 ms), which is the harness, not the
/// card. Quick-ACK mode is not sticky, so it is asked for before every read.
struct QuickAck(TcpStream);

impl Read for QuickAck {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let _ = socket2::SockRef::from(&self.0).set_tcp_quickack(true);
        let n = self.0.read(buf)?;
        let _ = socket2::SockRef::from(&self.0).set_tcp_quickack(true);
        Ok(n)
    }
}

impl Write for QuickAck {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

fn main() -> ExitCode {
    let mut label = "default".to_string();
    let mut host = "127.0.0.1".to_string();
    let mut port: u16 = 35963;
    let mut transport = Transport::Direct;
    let mut with_pse = true;
    let mut tap = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = |args: &mut dyn Iterator<Item = String>| args.next().unwrap_or_default();
        match arg.as_str() {
            "--card" => label = value(&mut args),
            "--host" => host = value(&mut args),
            "--port" => match value(&mut args).parse() {
                Ok(p) => port = p,
                Err(_) => return usage("--port needs a TCP port number"),
            },
            "--t0" => transport = Transport::T0,
            "--no-pse" => with_pse = false,
            "--tap" => tap = true,
            other => return usage(&format!("unknown argument {other:?}")),
        }
    }
    let data = TestData::embedded();
    let Some(profile) = data.card(&label) else { return usage(&format!("no card {label:?} in test-cards.toml")) };
    let made = if tap {
        VirtualCard::contactless(profile, &data.issuer.imk_ac).map(|c| c.ok_or("it has no contactless interface"))
    } else {
        VirtualCard::new(profile, &data.issuer.imk_ac).map(Ok)
    };
    let mut card = match made {
        Ok(Ok(c)) => c,
        Ok(Err(why)) => return usage(&format!("card {label}: {why}")),
        Err(e) => return fail(&format!("card {label}: {e}")),
    };
    card.transport = transport;
    card.with_pse = with_pse;
    // vpcd may not listen yet when pcscd is still starting: retry briefly.
    let deadline = Instant::now() + Duration::from_secs(10);
    let stream = loop {
        match TcpStream::connect((host.as_str(), port)) {
            Ok(s) => break s,
            Err(e) if Instant::now() >= deadline => return fail(&format!("cannot reach vpcd at {host}:{port}: {e}")),
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    };
    let _ = stream.set_nodelay(true);
    eprintln!("pos-vcard: card {label:?} {} at {host}:{port}", if tap { "tapped" } else { "inserted" });
    match vpcd::serve(&mut QuickAck(stream), &mut card) {
        Ok(n) => {
            eprintln!("pos-vcard: reader closed the connection after {n} APDUs");
            ExitCode::SUCCESS
        }
        Err(e) => fail(&format!("vpcd: {e}")),
    }
}

fn usage(msg: &str) -> ExitCode {
    eprintln!("pos-vcard: {msg}\nusage: pos-vcard [--card LABEL] [--port 35963] [--host 127.0.0.1] [--t0] [--no-pse] [--tap]");
    ExitCode::from(2)
}

fn fail(msg: &str) -> ExitCode {
    eprintln!("pos-vcard: {msg}");
    ExitCode::FAILURE
}
