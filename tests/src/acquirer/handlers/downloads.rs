//! §8 on the host side: the CA public keys and IC parameters of
//! `test-cards.toml` (`[[ca_key]]`, `[[aid_params]]`). `same_key_as` reuses a
//! key under another index; `corrupt_checksum` flips the last byte of
//! `DF03`. The private exponent never leaves the host.

use super::{Reply, code_only, response};
use crate::acquirer::state::HostState;
use smartpos_proto::codec::Message;
use smartpos_proto::crypto::oda::{PublicKey, ca_key_checksum};
use smartpos_proto::exchange::Exchange;
use smartpos_proto::fields::download62::{self as d62, AidParams, CaKeyEntry, CaKeyRecord};
use smartpos_vcard::testdata::TestData;

fn with62(ex: Exchange, req: &Message, f62: Vec<u8>) -> Reply {
    let mut m = response(ex, req, "00");
    m.set(62, f62);
    Reply::new(ex, m)
}

fn rid_of(hex_rid: &str) -> [u8; 5] {
    hex::decode(hex_rid).ok().and_then(|v| v.try_into().ok()).unwrap_or_default()
}

/// Every CA key the host serves, as downloaded.
pub fn ca_keys(data: &TestData) -> Vec<CaKeyRecord> {
    data.ca_keys
        .iter()
        .filter_map(|k| {
            let base = match &k.same_key_as {
                Some(other) => data.ca_keys.iter().find(|b| b.index.eq_ignore_ascii_case(other))?,
                None => k,
            };
            let key = PublicKey { modulus: hex::decode(base.modulus.as_deref()?).ok()?, exponent: hex::decode(base.exponent.as_deref()?).ok()? };
            let entry = CaKeyEntry { rid: rid_of(&k.rid), index: u8::from_str_radix(&k.index, 16).ok()?, expiry: k.expiry.clone() };
            let mut checksum = ca_key_checksum(&entry.rid, entry.index, &key).to_vec();
            if k.corrupt_checksum
                && let Some(last) = checksum.last_mut()
            {
                *last ^= 0xFF;
            }
            Some(CaKeyRecord { entry, key, checksum })
        })
        .collect()
}

/// Every IC parameter set the host serves.
pub fn aid_params(data: &TestData) -> Vec<AidParams> {
    let five = |s: &str| hex::decode(s).ok().and_then(|v| <[u8; 5]>::try_from(v).ok()).unwrap_or_default();
    data.aid_params
        .iter()
        .map(|p| AidParams {
            aid: hex::decode(&p.aid).unwrap_or_default(),
            asi: u8::from_str_radix(&p.asi, 16).unwrap_or(0),
            app_version: hex::decode(&p.app_version).unwrap_or_default(),
            tac_default: five(&p.tac_default),
            tac_online: five(&p.tac_online),
            tac_denial: five(&p.tac_denial),
            floor_limit: u32::try_from(p.floor_limit).unwrap_or(u32::MAX),
            random_threshold: u32::try_from(p.random_threshold).unwrap_or(u32::MAX),
            random_max_target: p.random_max_target,
            random_target: p.random_target,
            default_ddol: hex::decode(&p.ddol).unwrap_or_default(),
            contactless_floor_limit: p.contactless_floor_limit,
            contactless_txn_limit: p.contactless_txn_limit,
            contactless_cvm_limit: p.contactless_cvm_limit,
        })
        .collect()
}

/// 0820/372: the keys the host serves.
pub fn ca_key_list(state: &mut HostState, req: &Message) -> Reply {
    let entries: Vec<CaKeyEntry> = ca_keys(&state.data).into_iter().map(|k| k.entry).collect();
    with62(Exchange::CaKeyList, req, d62::encode_ca_key_list(&entries))
}

/// 0800/370: one key by RID and index (`25`: no such key).
pub fn ca_key_download(state: &mut HostState, req: &Message) -> Reply {
    let ex = Exchange::CaKeyDownload;
    let Ok((rid, index)) = d62::parse_key_request(req.get(62).unwrap_or_default()) else { return code_only(ex, req, "30") };
    match ca_keys(&state.data).into_iter().find(|k| k.entry.rid == rid && k.entry.index == index) {
        Some(k) => with62(ex, req, k.encode()),
        None => code_only(ex, req, "25"),
    }
}

/// 0820/382: the AIDs with parameters.
pub fn param_list(state: &mut HostState, req: &Message) -> Reply {
    let aids: Vec<Vec<u8>> = aid_params(&state.data).into_iter().map(|p| p.aid).collect();
    with62(Exchange::ParamList, req, d62::encode_aid_list(&aids))
}

/// 0800/380: one AID's parameters.
pub fn param_download(state: &mut HostState, req: &Message) -> Reply {
    let ex = Exchange::ParamDownload;
    let Ok(aids) = d62::parse_aid_list(req.get(62).unwrap_or_default()) else { return code_only(ex, req, "30") };
    match aid_params(&state.data).into_iter().find(|p| aids.first() == Some(&p.aid)) {
        Some(p) => with62(ex, req, p.encode()),
        None => code_only(ex, req, "25"),
    }
}
