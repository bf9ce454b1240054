//! The simulator's TCP front: length-prefixed frames, one request in flight
//! per connection, connections kept open; the faults that act on the
//! connection (refuse, drop, delay, lose, truncate, garbage, bad MAC) are
//! applied here, the ones that change the answer in the handlers.

use super::Shared;
use super::faults::{Faults, take};
use super::handlers;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// What to do with a reply after the host answered.
#[derive(Debug, Default)]
struct Delivery {
    drop_request: bool,
    lose: bool,
    truncate: bool,
    garbage: bool,
    bad_mac: bool,
    delay: Option<Duration>,
}

impl Delivery {
    fn from(f: &mut Faults) -> Self {
        Self {
            drop_request: take(&mut f.drop_request),
            lose: take(&mut f.lose_reply),
            truncate: take(&mut f.truncate_reply),
            garbage: take(&mut f.garbage),
            bad_mac: false,
            delay: take(&mut f.delay_count).then(|| Duration::from_millis(f.delay_ms)),
        }
    }

    fn names(&self) -> Vec<&'static str> {
        let mut v = vec![];
        for (on, name) in [
            (self.drop_request, "drop-request"),
            (self.lose, "lose-reply"),
            (self.truncate, "truncate-reply"),
            (self.garbage, "garbage"),
            (self.bad_mac, "bad-mac"),
            (self.delay.is_some(), "delay"),
        ] {
            if on {
                v.push(name);
            }
        }
        v
    }
}

/// Accepts connections until shutdown; while `refuse` is set the listener
/// is closed so that connects are refused, and bound again afterwards.
pub async fn accept_loop(addr: SocketAddr, first: TcpListener, shared: Arc<Shared>, tls: Option<tokio_rustls::TlsAcceptor>) {
    let mut listener = Some(first);
    let mut refuse = shared.refuse.subscribe();
    let mut shutdown = shared.shutdown.subscribe();
    loop {
        if *shutdown.borrow() {
            return;
        }
        if *refuse.borrow() {
            listener = None;
            shared.listening.send_replace(false);
        } else if listener.is_none() {
            match TcpListener::bind(addr).await {
                Ok(l) => {
                    listener = Some(l);
                    shared.listening.send_replace(true);
                }
                Err(e) => {
                    eprintln!("pos-acquirer-sim: cannot listen again on {addr}: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            }
        }
        tokio::select! {
            _ = refuse.changed() => {}
            _ = shutdown.changed() => {}
            accepted = async { listener.as_ref().expect("listening").accept().await }, if listener.is_some() => {
                if let Ok((stream, peer)) = accepted {
                    let _ = stream.set_nodelay(true);
                    match &tls {
                        None => {
                            tokio::spawn(connection(stream, peer, shared.clone()));
                        }
                        Some(acceptor) => {
                            let (acceptor, shared) = (acceptor.clone(), shared.clone());
                            tokio::spawn(async move {
                                // A failed handshake (wrong CA on the terminal's side, plain TCP) just closes.
                                if let Ok(Ok(tls)) = tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream)).await {
                                    connection(tls, peer, shared).await;
                                }
                            });
                        }
                    }
                }
            }
        }
    }
}

async fn connection<S>(mut stream: S, peer: SocketAddr, shared: Arc<Shared>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let mut shutdown = shared.shutdown.subscribe();
    let mut refuse = shared.refuse.subscribe();
    // Counted while open: a network cut is in effect once none is left.
    struct Open(Arc<Shared>);
    impl Drop for Open {
        fn drop(&mut self) {
            self.0.connections.send_modify(|n| *n = n.saturating_sub(1));
        }
    }
    shared.connections.send_modify(|n| *n += 1);
    let _open = Open(shared.clone());
    loop {
        let mut prefix = [0u8; 2];
        // A cut network closes idle kept-alive connections too, so a
        // terminal sees "refused" on its next connect, not a lost request.
        tokio::select! {
            r = stream.read_exact(&mut prefix) => if r.is_err() { return },
            _ = shutdown.changed() => return,
            _ = refuse.wait_for(|r| *r) => return,
        }
        let max = shared.state.lock().map(|s| s.codec.framing.max_frame_len).unwrap_or(2048);
        let len = usize::from(u16::from_be_bytes(prefix));
        if len > max {
            return; // §1: a request it cannot frame is answered by closing
        }
        let mut frame = prefix.to_vec();
        frame.resize(2 + len, 0);
        match tokio::time::timeout(Duration::from_secs(30), stream.read_exact(&mut frame[2..])).await {
            Ok(Ok(_)) => {}
            _ => return,
        }
        if *shared.refuse.borrow() {
            return;
        }
        let started = Instant::now();
        let (handled, delivery) = {
            let mut faults = shared.faults.lock().unwrap_or_else(|p| p.into_inner());
            let targeted = faults.faults_for.is_none_or(|want| {
                let state = shared.state.lock().unwrap_or_else(|p| p.into_inner());
                state.codec.decode_frame(&frame).ok().and_then(|d| smartpos_proto::exchange::Exchange::identify(&d.frame.message)) == Some(want)
            });
            let mut delivery = if targeted { Delivery::from(&mut faults) } else { Delivery::default() };
            if delivery.drop_request {
                (None, delivery)
            } else {
                let mut state = shared.state.lock().unwrap_or_else(|p| p.into_inner());
                let handled = handlers::handle(&mut state, &frame, &mut faults);
                // Only a reply that has a MAC can have a bad one.
                delivery.bad_mac = targeted && handled.macd && take(&mut faults.bad_mac);
                (Some(handled), delivery)
            }
        };
        log_exchange(&shared, peer, handled.as_ref().map(|h| &h.log), &delivery, started);
        let Some(mut reply) = handled.and_then(|h| h.reply) else { return };
        if let Some(d) = delivery.delay {
            tokio::time::sleep(d).await;
        }
        if delivery.lose {
            return;
        }
        if delivery.garbage {
            reply = vec![0x00, 0x06, 0xDE, 0xAD, 0xBE, 0xEF, 0x00, 0x01];
        }
        if delivery.bad_mac
            && let Some(last) = reply.last_mut()
        {
            *last = if *last == b'0' { b'1' } else { b'0' };
        }
        if delivery.truncate {
            let half = reply.len() / 2;
            let _ = stream.write_all(&reply[..half]).await;
            let _ = stream.flush().await;
            return;
        }
        if stream.write_all(&reply).await.is_err() || stream.flush().await.is_err() {
            return;
        }
    }
}

fn log_exchange(shared: &Shared, peer: SocketAddr, log: Option<&handlers::ExchangeLog>, d: &Delivery, started: Instant) {
    if !shared.log_exchanges {
        return;
    }
    let line = serde_json::json!({
        "ts": smartpos_proto::clock::CivilTime::now(0).rfc3339(),
        "peer": peer.to_string(),
        "exchange": log.and_then(|l| l.exchange),
        "mti": log.map(|l| l.mti.as_str()),
        "tid": log.map(|l| l.tid.as_str()),
        "stan": log.map(|l| l.stan.as_str()),
        "amount": log.map(|l| l.amount.as_str()),
        "rc": log.map(|l| l.response_code.as_str()),
        "error": log.and_then(|l| l.error.as_deref()),
        "faults": d.names(),
        "micros": started.elapsed().as_micros() as u64,
    });
    eprintln!("{line}");
}
