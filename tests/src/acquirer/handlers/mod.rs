//! Request dispatch of the simulated host: decode, identify the exchange,
//! check the field set and the MAC, apply the response-code faults, run the
//! exchange's handler and seal the reply (acquirer-protocol.md §1, §3, §5).

mod adjustments;
mod binding;
pub mod codes;
pub mod downloads;
mod financial;
mod reversal;
mod settlement;

use super::faults::{Faults, take};
use super::state::HostState;
use smartpos_proto::codec::{Frame, Message};
use smartpos_proto::exchange::{Exchange, check_fields, reversal_request_fields};

/// A reply before sealing.
#[derive(Debug)]
pub struct Reply {
    /// `None` for the answer to a message type the host does not know.
    pub exchange: Option<Exchange>,
    pub message: Message,
    /// MAC the reply (when the host holds a MAK for the terminal).
    pub mac: bool,
}

impl Reply {
    /// A reply to `exchange`, MACed when §3 lists field 64 in its response.
    pub fn new(exchange: Exchange, message: Message) -> Self {
        Self { exchange: Some(exchange), message, mac: exchange.spec().response.contains(&64) }
    }
}

/// Fields 12 and 13: the host's clock.
pub(super) fn stamp(state: &HostState, m: &mut Message) {
    let now = state.now();
    m.set(12, now.hhmmss());
    m.set(13, now.mmdd());
}

/// What one request produced.
#[derive(Debug, Default, serde::Serialize)]
pub struct ExchangeLog {
    pub exchange: Option<Exchange>,
    pub mti: String,
    pub tid: String,
    pub stan: String,
    pub amount: String,
    pub response_code: String,
    pub error: Option<String>,
}

/// The outcome of one request: the reply bytes (`None`: close without reply).
#[derive(Debug)]
pub struct Handled {
    pub reply: Option<Vec<u8>>,
    /// Whether the reply carries a MAC.
    pub macd: bool,
    pub log: ExchangeLog,
}

/// A response for `req`: MTI + 10, the request's values of the response
/// fields echoed, and field 39.
pub fn response(exchange: Exchange, req: &Message, code: &str) -> Message {
    let mut m = Message::new(req.mti.response());
    for &f in exchange.spec().response {
        if f != 39
            && f != 64
            && let Some(v) = req.get(f)
        {
            m.set(f, v);
        }
    }
    m.set(39, code);
    m
}

/// A reply carrying only a response code (MACed when the exchange is).
pub fn code_only(exchange: Exchange, req: &Message, code: &str) -> Reply {
    Reply::new(exchange, response(exchange, req, code))
}

fn request_fields(exchange: Exchange, req: &Message) -> (Vec<u8>, &'static [u8]) {
    match exchange {
        Exchange::Reversal => {
            let original = if req.get_str(3) == Some("200000") { Exchange::Void } else { Exchange::Sale };
            // A code void's reversal has no field 2 (§11).
            (reversal_request_fields(original), if codes::is_code(req) { &[55, 23, 14, 2] } else { &[55, 23, 14] })
        }
        Exchange::Void | Exchange::Refund | Exchange::BatchUploadDetail if codes::is_code(req) => {
            let left_out = if exchange == Exchange::BatchUploadDetail { codes::NOT_IN_A_CODE_UPLOAD } else { codes::NOT_IN_A_CODE_ADJUSTMENT };
            (exchange.spec().request.iter().copied().filter(|f| !left_out.contains(f)).collect(), &[])
        }
        Exchange::Sale if codes::is_code(req) => (exchange.spec().request.iter().copied().filter(|f| !codes::NOT_IN_A_CODE_SALE.contains(f)).collect(), &[]),
        Exchange::Sale | Exchange::BalanceInquiry => (exchange.spec().request.to_vec(), &[26, 52]),
        _ => (exchange.spec().request.to_vec(), &[]),
    }
}

/// Handles one request frame.
pub fn handle(state: &mut HostState, bytes: &[u8], faults: &mut Faults) -> Handled {
    let mut log = ExchangeLog::default();
    let decoded = match state.codec.decode_frame(bytes) {
        Ok(d) => d,
        Err(e) => {
            log.error = Some(e.to_string());
            return Handled { reply: None, macd: false, log };
        }
    };
    let req = &decoded.frame.message;
    log.mti = req.mti.to_string();
    log.tid = req.get_str(41).unwrap_or_default().to_string();
    log.stan = req.get_str(11).unwrap_or_default().to_string();
    log.amount = req.get_str(4).unwrap_or_default().to_string();
    let reply = match Exchange::identify(req) {
        None => {
            let mut m = Message::new(req.mti.response());
            for f in [11, 41, 42] {
                if let Some(v) = req.get(f) {
                    m.set(f, v);
                }
            }
            m.set(39, "40");
            Reply { exchange: None, message: m, mac: false }
        }
        Some(exchange) => {
            log.exchange = Some(exchange);
            dispatch(state, exchange, req, decoded.mac_block.as_deref(), faults)
        }
    };
    log.response_code = reply.message.get_str(39).unwrap_or_default().to_string();
    let (bytes, macd) = seal(state, &decoded.frame, reply, faults);
    if bytes.is_none() {
        log.error = Some("reply did not encode".into());
    }
    Handled { reply: bytes, macd, log }
}

fn dispatch(state: &mut HostState, exchange: Exchange, req: &Message, mac_block: Option<&[u8]>, faults: &mut Faults) -> Reply {
    let (fields, optional) = request_fields(exchange, req);
    if check_fields(exchange, "request", req, &fields, optional).is_err() {
        return code_only(exchange, req, "30");
    }
    let tid = req.get_str(41).unwrap_or_default();
    if fields.contains(&64) {
        let Some(terminal) = state.terminals.get(tid) else { return no_mac(code_only(exchange, req, "97")) };
        let Some(keys) = &terminal.keys else { return no_mac(code_only(exchange, req, "22")) };
        let ok = mac_block.zip(req.get(64)).is_some_and(|(mab, mac)| state.mac.verify(&keys.mak, mab, mac).unwrap_or(false));
        if !ok {
            return code_only(exchange, req, "A0");
        }
    }
    if let Some(code) = faults.take_response_code(exchange) {
        return code_only(exchange, req, &code);
    }
    match exchange {
        Exchange::Activation => binding::activation(state, req),
        Exchange::SignIn => binding::sign_in(state, req),
        Exchange::SignOut => binding::sign_out(state, req),
        Exchange::BalanceInquiry => financial::balance(state, req),
        Exchange::Sale if codes::is_code(req) => codes::sale(state, req, faults.never_confirm),
        Exchange::Sale => financial::sale(state, req),
        Exchange::StatusInquiry => codes::status(state, req, faults.never_confirm),
        Exchange::Void => adjustments::void(state, req),
        Exchange::Refund => adjustments::refund(state, req),
        Exchange::OfflineAdvice => adjustments::offline_advice(state, req),
        Exchange::Reversal => reversal::reversal(state, req),
        Exchange::Settlement => settlement::settlement(state, req, take(&mut faults.unbalanced)),
        Exchange::BatchUploadDetail => settlement::upload_detail(state, req),
        Exchange::BatchUploadEnd => settlement::upload_end(state, req),
        Exchange::CaKeyList => downloads::ca_key_list(state, req),
        Exchange::CaKeyDownload => downloads::ca_key_download(state, req),
        Exchange::ParamList => downloads::param_list(state, req),
        Exchange::ParamDownload => downloads::param_download(state, req),
        Exchange::CaKeyDownloadEnd | Exchange::ParamDownloadEnd => code_only(exchange, req, "00"),
    }
}

fn no_mac(mut r: Reply) -> Reply {
    r.mac = false;
    r
}

fn seal(state: &HostState, request: &Frame, reply: Reply, faults: &mut Faults) -> (Option<Vec<u8>>, bool) {
    let mut message = reply.message;
    if let Some(exchange) = reply.exchange {
        let allowed = exchange.spec().response;
        for f in message.field_numbers().collect::<Vec<_>>() {
            if !allowed.contains(&f) {
                message.remove(f);
            }
        }
    }
    let mut header = request.header;
    if let Some(h) = header.as_mut() {
        h.processing = if take(&mut faults.resign) {
            3
        } else if take(&mut faults.ask_ca_keys) {
            4
        } else if take(&mut faults.ask_params) {
            5
        } else {
            0
        };
    }
    let frame = Frame { tpdu: request.tpdu.reply(), header, message };
    let tid = frame.message.get_str(41).unwrap_or_default();
    let mak = state.terminals.get(tid).and_then(|t| t.keys.as_ref()).map(|k| &k.mak);
    match (reply.mac, mak) {
        (true, Some(mak)) => (state.codec.encode_frame_with_mac(&frame, |mab| state.mac.compute(mak, mab).unwrap_or_default()).ok(), true),
        _ => (state.codec.encode_frame(&frame).ok(), false),
    }
}
