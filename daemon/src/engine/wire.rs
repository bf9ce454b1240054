//! Messages on the wire: the fields every request shares (11, 41, 42, 59,
//! 60 and the §3 codes), the MAC, one exchange over the [`HostLink`], and
//! the checks a reply must pass (§3): MTI + 10, echoed 3/11/41, amount, and
//! the MAC whenever the host holds a MAK. A reply that fails them is
//! treated like no reply. The host's requests (header processing code 3,
//! codes 22/77/99/A0, 03/97) are acted on here.

use super::failpoint;
use super::{Engine, EngineError, Stage};
use crate::store::{Identity, Store, StoreError};
use smartpos_proto::codec::{Message, Mti};
use smartpos_proto::exchange::{Exchange, field60_has_ic_parts};
use smartpos_proto::fields::reserved60::Field60;
use smartpos_proto::fields::terminal_info59::TerminalInfo;
use smartpos_proto::response_code::{self, Action};
use std::time::Duration;

/// Why an exchange produced no usable answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum WireError {
    /// Nothing left the terminal.
    Unreachable(String),
    /// Nothing left the terminal: the host's TLS could not be trusted.
    Untrusted(String),
    /// The request may have left; no valid reply (timeout, closed,
    /// malformed, mismatched): reversal reason `98`.
    NoReply(String),
    /// The reply's MAC did not verify: reversal reason `A0`, sign in again.
    BadMac,
    /// The request could not be built (a bug or bad stored data); nothing left.
    Local(String),
}

impl WireError {
    pub(crate) fn into_error(self) -> EngineError {
        match self {
            WireError::Unreachable(why) => EngineError::network(&why),
            WireError::Untrusted(why) => EngineError::untrusted_host(&why),
            WireError::NoReply(why) => EngineError::new(
                super::ErrorKind::Network,
                format!("The host did not answer: {why}."),
                "Check the network; the terminal reverses or resends what needs it automatically.",
            ),
            WireError::BadMac => EngineError::host_code("A0", "MAC error"),
            WireError::Local(why) => {
                EngineError::new(super::ErrorKind::Device, format!("The terminal could not build the message: {why}."), "Restart the terminal; if it persists, call service.")
            }
        }
    }
}

/// A checked reply.
#[derive(Debug, Clone)]
pub(crate) struct Answer {
    pub msg: Message,
    /// The reply carried a MAC that verified.
    pub macd: bool,
}

impl Answer {
    pub(crate) fn code(&self) -> &str {
        self.msg.get_str(39).unwrap_or("")
    }
}

impl Engine {
    /// Field 59 (§2): serial, version and location.
    pub(crate) fn f59(&self) -> String {
        TerminalInfo::new(&self.serial, env!("CARGO_PKG_VERSION"), &self.location).encode()
    }

    /// A request of `ex` with the fields every exchange of its row shares.
    pub(crate) fn base_request(&self, ex: Exchange, stan: u32, id: &Identity, batch: u32) -> Message {
        let spec = ex.spec();
        // 60.4: 5 reads chips, 6 also contactless (§10).
        let read = if self.dev.contactless.is_some() { 6 } else { 5 };
        let ic = field60_has_ic_parts(spec.mti).then_some((read, 0));
        let mut m = Message::new(spec.mti)
            .with(11, format!("{stan:06}"))
            .with(41, id.tid.clone().unwrap_or_else(|| "0".repeat(8)))
            .with(42, id.mid.clone().unwrap_or_else(|| "0".repeat(15)))
            .with(60, Field60::new(spec.type_code, batch, spec.network_code, ic).encode());
        if let Some(pc) = spec.processing_code {
            m.set(3, pc);
        }
        if let Some(cc) = spec.condition_code {
            m.set(25, cc);
        }
        if spec.request.contains(&59) {
            m.set(59, self.f59());
        }
        if spec.request.contains(&49) {
            m.set(49, self.cfg.terminal.currency.as_str());
        }
        m
    }

    /// Request bytes for storage (queue, reversal): the frame without MAC.
    pub(crate) fn freeze(&self, msg: &Message) -> Result<Vec<u8>, EngineError> {
        let mut m = msg.clone();
        m.remove(64);
        self.codec.encode_frame(&self.codec.request(m)).map_err(|e| WireError::Local(e.to_string()).into_error())
    }

    /// A stored request back as a message.
    pub(crate) fn thaw(&self, bytes: &[u8]) -> Result<Message, EngineError> {
        self.codec.decode_frame(bytes).map(|d| d.frame.message).map_err(|e| EngineError::from(StoreError::Corrupt(format!("stored request does not decode: {e}"))))
    }

    fn encode(&self, ex: Exchange, msg: &Message) -> Result<Vec<u8>, WireError> {
        let frame = self.codec.request(msg.clone());
        let local = |e: smartpos_proto::codec::EncodeError| WireError::Local(e.to_string());
        if ex.spec().request.contains(&64) || ex == Exchange::Reversal {
            let mak = &self.keys.as_ref().ok_or_else(|| WireError::Local("no MAK: not signed in".into()))?.mak;
            let mac = self.mac;
            let mut err = None;
            let bytes = self
                .codec
                .encode_frame_with_mac(&frame, |mab| {
                    mac.compute(mak, mab).unwrap_or_else(|e| {
                        err = Some(e.to_string());
                        [0; 8]
                    })
                })
                .map_err(local)?;
            match err {
                Some(e) => Err(WireError::Local(e)),
                None => Ok(bytes),
            }
        } else {
            self.codec.encode_frame(&frame).map_err(local)
        }
    }

    /// Makes sure the host can be reached; nothing is sent.
    pub(crate) fn connect(&mut self) -> Result<(), WireError> {
        self.stage(Stage::Connecting);
        match self.dev.link.connect() {
            Ok(()) => Ok(()),
            Err(e) => {
                self.online = Some(false);
                Err(match e {
                    super::LinkError::Untrusted(w) => WireError::Untrusted(w),
                    super::LinkError::Unreachable(w) | super::LinkError::NoReply(w) => WireError::Unreachable(w),
                })
            }
        }
    }

    /// Connects, then [`Engine::transmit`]s.
    pub(crate) fn exchange(&mut self, ex: Exchange, msg: &Message, fp: Option<&str>) -> Result<Answer, WireError> {
        self.connect()?;
        self.transmit(ex, msg, fp)
    }

    /// Sends `msg` on the connection made by [`Engine::connect`] and checks
    /// the reply. `fp` names the failpoints around the send (`<fp>.request.before`, …).
    pub(crate) fn transmit(&mut self, ex: Exchange, msg: &Message, fp: Option<&str>) -> Result<Answer, WireError> {
        let bytes = self.encode(ex, msg)?;
        let point = |what: &str| {
            if let Some(p) = fp {
                failpoint::at(p, what);
            }
        };
        point("request.before");
        self.stage(Stage::Sending);
        let timeout = Duration::from_millis(self.cfg.timeouts.response_ms);
        let max = self.codec.framing.max_frame_len;
        tracing::info!(exchange = ?ex, stan = msg.get_str(11).unwrap_or(""), "request");
        self.stage(Stage::WaitingHost);
        let raw = self.dev.link.round_trip(&bytes, timeout, max);
        point("request.after");
        let raw = match raw {
            Ok(r) => r,
            Err(e) => {
                self.dev.link.close();
                self.online = Some(matches!(e, super::LinkError::NoReply(_)));
                return Err(match e {
                    super::LinkError::Unreachable(w) => WireError::Unreachable(w),
                    super::LinkError::Untrusted(w) => WireError::Untrusted(w),
                    super::LinkError::NoReply(w) => WireError::NoReply(w),
                });
            }
        };
        self.online = Some(true);
        point("response.after");
        let answer = self.check_reply(ex, msg, &raw);
        if answer.is_err() {
            self.dev.link.close();
        }
        if let Ok(a) = &answer {
            tracing::info!(exchange = ?ex, stan = msg.get_str(11).unwrap_or(""), response_code = a.code(), mac = a.macd, "reply");
        }
        answer
    }

    fn check_reply(&mut self, ex: Exchange, req: &Message, raw: &[u8]) -> Result<Answer, WireError> {
        let d = self.codec.decode_frame(raw).map_err(|e| WireError::NoReply(format!("malformed reply: {e}")))?;
        let m = d.frame.message;
        let want: Mti = req.mti.response();
        if m.mti != want {
            return Err(WireError::NoReply(format!("reply MTI {} to a {} request", m.mti, req.mti)));
        }
        let mut echoed = vec![3u8, 11];
        if ex != Exchange::Activation {
            echoed.push(41);
        }
        for f in echoed {
            if let (Some(a), Some(b)) = (req.get(f), m.get(f))
                && a != b
            {
                return Err(WireError::NoReply(format!("reply field {f} differs from the request")));
            }
        }
        if let (Some(a), Some(b)) = (req.get(4), m.get(4))
            && a != b
        {
            return Err(WireError::NoReply("reply amount differs from the request".into()));
        }
        let mut macd = false;
        if ex.spec().response.contains(&64)
            && let (Some(mab), Some(mac)) = (&d.mac_block, m.get(64))
        {
            let keys = self.keys.as_ref().ok_or(WireError::BadMac)?;
            if !self.mac.verify(&keys.mak, mab, mac).unwrap_or(false) {
                self.resign = true;
                return Err(WireError::BadMac);
            }
            macd = true;
        }
        match d.frame.header.map(|h| h.processing) {
            Some(3) => {
                tracing::info!("the host asks the terminal to sign in again");
                self.resign = true;
            }
            Some(p @ (4 | 5)) => self.note_requested(p),
            _ => {}
        }
        let code = m.get_str(39).unwrap_or("").to_string();
        let answer = Answer { msg: m, macd };
        // A reply without a MAC is accepted only with a non-00 code and changes nothing (§3).
        if ex.spec().response.contains(&64) && !macd && code == "00" {
            return Err(WireError::NoReply("approval without a MAC".into()));
        }
        // An activation's 03 judges the activation code, not the current binding.
        if ex != Exchange::Activation {
            self.react(&code);
        }
        Ok(answer)
    }

    /// What §5 says the terminal does after `code`.
    fn react(&mut self, code: &str) {
        match response_code::lookup(code).action {
            Action::SignInAgain => self.resign = true,
            Action::MarkUnbound => {
                if let Err(e) = self.mark_unbound() {
                    tracing::error!("could not mark the terminal unbound: {e}");
                }
            }
            _ => {}
        }
    }

    /// Forgets the binding after a host `03`/`97` (queued work stays).
    pub(crate) fn mark_unbound(&mut self) -> Result<(), EngineError> {
        tracing::warn!("the host no longer knows this terminal: marking it unbound");
        let tx = self.store.transaction()?;
        let id = Identity { serial: self.serial.clone(), ..Default::default() };
        Store::put_identity(&tx, &id)?;
        Store::delete_keys(&tx, &["tmk", "pik", "mak", "tdk"])?;
        Store::clear_session(&tx)?;
        tx.commit().map_err(StoreError::from)?;
        self.keys = None;
        Ok(())
    }
}
