//! Activation (binding), sign-in and sign-out on the host side (§3).

use super::{Reply, code_only, response, stamp};
use crate::acquirer::state::{HostState, Terminal};
use smartpos_proto::codec::Message;
use smartpos_proto::crypto::{Key, activation::wrap_tmk};
use smartpos_proto::exchange::Exchange;
use smartpos_proto::fields::activation62::{ActivationReply, ActivationRequest};
use smartpos_proto::fields::reserved60::Field60;
use smartpos_proto::fields::sign_in62::{self, WorkingKeys};
use smartpos_proto::fields::terminal_info59::TerminalInfo;

/// 0800/350: binds the serial of `DF01` to the merchant of the activation
/// code and delivers a fresh TMK under the terminal's RSA key.
pub fn activation(state: &mut HostState, req: &Message) -> Reply {
    let ex = Exchange::Activation;
    let Ok(a) = ActivationRequest::parse(req.get(62).unwrap_or_default()) else { return code_only(ex, req, "30") };
    if state.data.acquirer.unregistered_serials.contains(&a.serial) {
        return code_only(ex, req, "97");
    }
    let Some(merchant) = state.data.merchants.iter().find(|m| m.activation_code == a.activation_code).cloned() else {
        return code_only(ex, req, "03");
    };
    let Ok(tmk) = Key::generate(16) else { return code_only(ex, req, "96") };
    let Ok(encrypted_tmk) = wrap_tmk(&a.public_key_der, &tmk) else { return code_only(ex, req, "30") };
    state.issued_keys.push(tmk.clone());
    let reply62 = ActivationReply {
        encrypted_tmk,
        tmk_check: tmk.check_value().to_vec(),
        merchant_name: merchant.name.clone(),
        deposit_amount: merchant.deposit_amount,
        deposit_status: merchant.deposit_status.chars().next().unwrap_or('U'),
    };
    // Activating again replaces the TMK and invalidates the working keys;
    // the batch carries on.
    let batch = state.terminals.get(&merchant.tid).map_or(1, |t| t.batch);
    state.terminals.insert(merchant.tid.clone(), Terminal { tid: merchant.tid.clone(), mid: merchant.mid.clone(), serial: a.serial, tmk, keys: None, batch });
    let mut m = response(ex, req, "00");
    stamp(state, &mut m);
    m.set(41, merchant.tid.as_str()).set(42, merchant.mid.as_str()).set(62, reply62.encode());
    Reply::new(ex, m)
}

/// 0800/004: fresh PIK, MAK and TDK under the TMK; the batch to adopt.
pub fn sign_in(state: &mut HostState, req: &Message) -> Reply {
    let ex = Exchange::SignIn;
    let tid = req.get_str(41).unwrap_or_default().to_string();
    let serial = TerminalInfo::parse(req.get_str(59).unwrap_or_default()).map(|t| t.serial).unwrap_or_default();
    if state.data.acquirer.unregistered_serials.contains(&serial) {
        return code_only(ex, req, "97");
    }
    let mac = state.mac;
    let Some(t) = state.terminals.get_mut(&tid) else { return code_only(ex, req, "97") };
    if t.serial != serial {
        return code_only(ex, req, "97");
    }
    if req.get_str(42) != Some(t.mid.as_str()) {
        return code_only(ex, req, "03");
    }
    let generated = (Key::generate(16), Key::generate(mac.mak_len()), Key::generate(16));
    let (Ok(pik), Ok(mak), Ok(tdk)) = generated else { return code_only(ex, req, "96") };
    let keys = WorkingKeys { pik, mak, tdk };
    let f62 = sign_in62::wrap(&t.tmk, &keys);
    state.issued_keys.extend([keys.pik.clone(), keys.mak.clone(), keys.tdk.clone()]);
    t.keys = Some(keys);
    let batch = t.batch;
    let mut m = response(ex, req, "00");
    stamp(state, &mut m);
    let rrn = state.next_rrn();
    let f60 = Field60::parse(req.get_str(60).unwrap_or_default()).map(|mut f| {
        f.batch = batch;
        f.encode()
    });
    m.set(32, state.data.acquirer.acquiring_institution.as_str()).set(37, rrn).set(62, f62);
    if let Ok(f60) = f60 {
        m.set(60, f60);
    }
    Reply::new(ex, m)
}

/// 0820/002: ends the session; the working keys are forgotten.
pub fn sign_out(state: &mut HostState, req: &Message) -> Reply {
    let ex = Exchange::SignOut;
    let tid = req.get_str(41).unwrap_or_default();
    let Some(t) = state.terminals.get_mut(tid) else { return code_only(ex, req, "97") };
    t.keys = None;
    code_only(ex, req, "00")
}
