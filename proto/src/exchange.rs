//! The exchanges of acquirer-protocol.md §3 as a table: MTI, processing
//! code, condition code, field 60 codes, and which fields each request and
//! response carries. Builders and the simulator both read this table, and
//! [`ExchangeSpec::check`] tells a peer's message that lacks or adds a field.

use crate::codec::{Message, Mti};

/// The exchanges of §3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Exchange {
    Activation,
    SignIn,
    SignOut,
    BalanceInquiry,
    Sale,
    Void,
    Refund,
    OfflineAdvice,
    Reversal,
    Settlement,
    BatchUploadDetail,
    BatchUploadEnd,
    /// §8: the CA public keys the host serves, one key, the end of the download.
    CaKeyList,
    CaKeyDownload,
    CaKeyDownloadEnd,
    /// §8: the AIDs with IC parameters, one AID's set, the end.
    ParamList,
    ParamDownload,
    ParamDownloadEnd,
    /// §11: the outcome so far of a payment-code sale the host answered `Q1`.
    StatusInquiry,
}

/// One row of the §3 table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExchangeSpec {
    pub exchange: Exchange,
    pub mti: Mti,
    /// Field 3, when the exchange carries one.
    pub processing_code: Option<&'static str>,
    /// Field 25, when the exchange carries one.
    pub condition_code: Option<&'static str>,
    /// 60.1, transaction type.
    pub type_code: &'static str,
    /// 60.3, network management code (`202`/`207` for upload end: the first is listed).
    pub network_code: &'static str,
    /// Request fields (64 present when the request is MACed).
    pub request: &'static [u8],
    /// Response fields (64 present when the response is MACed).
    pub response: &'static [u8],
}

#[allow(clippy::too_many_arguments, reason = "one argument per column of the §3 table: a row reads like the spec's")]
const fn row(
    exchange: Exchange,
    mti: u16,
    processing_code: Option<&'static str>,
    condition_code: Option<&'static str>,
    type_code: &'static str,
    network_code: &'static str,
    request: &'static [u8],
    response: &'static [u8],
) -> ExchangeSpec {
    ExchangeSpec { exchange, mti: Mti(mti), processing_code, condition_code, type_code, network_code, request, response }
}

/// Field 60 carries 60.4 and 60.5 on these MTIs (§2).
pub fn field60_has_ic_parts(mti: Mti) -> bool {
    matches!(mti.0, 200 | 220 | 400)
}

/// Fields the reversal drops from its original (§3).
pub const REVERSAL_DROPS: &[u8] = &[26, 35, 52, 53, 59];

use Exchange::*;

/// The first row (also [`Exchange::spec`]'s fallback, never taken: every variant has a row).
const ACTIVATION_ROW: ExchangeSpec = row(Activation, 800, None, None, "00", "350", &[11, 41, 42, 59, 60, 62], &[11, 12, 13, 39, 41, 42, 60, 62]);

/// The table of §3. The reversal row lists its response; its request is
/// derived from the original (see [`reversal_request_fields`]).
pub const TABLE: &[ExchangeSpec] = &[
    ACTIVATION_ROW,
    row(SignIn, 800, None, None, "00", "004", &[11, 41, 42, 59, 60, 63], &[11, 12, 13, 32, 37, 39, 41, 42, 60, 62]),
    row(SignOut, 820, None, None, "00", "002", &[11, 41, 42, 60], &[11, 39, 41, 42, 60]),
    row(
        BalanceInquiry,
        200,
        Some("310000"),
        Some("00"),
        "01",
        "000",
        &[2, 3, 11, 14, 22, 23, 25, 26, 35, 41, 42, 49, 52, 53, 55, 59, 60, 64],
        &[3, 11, 12, 13, 37, 39, 41, 42, 44, 54, 55, 60, 64],
    ),
    row(
        Sale,
        200,
        Some("000000"),
        Some("00"),
        "22",
        "000",
        &[2, 3, 4, 11, 14, 22, 23, 25, 26, 35, 41, 42, 49, 52, 53, 55, 59, 60, 64],
        &[2, 3, 4, 11, 12, 13, 15, 32, 37, 38, 39, 41, 42, 44, 49, 55, 60, 64],
    ),
    row(
        Void,
        200,
        Some("200000"),
        Some("00"),
        "23",
        "000",
        &[2, 3, 4, 11, 14, 22, 23, 25, 35, 37, 38, 41, 42, 49, 53, 60, 61, 64],
        &[3, 4, 11, 12, 13, 37, 38, 39, 41, 42, 60, 64],
    ),
    row(Refund, 220, Some("200000"), Some("00"), "25", "000", &[2, 3, 4, 11, 14, 22, 23, 25, 35, 37, 41, 42, 49, 53, 60, 61, 64], &[3, 4, 11, 12, 13, 37, 39, 41, 42, 60, 64]),
    row(OfflineAdvice, 220, Some("000000"), Some("00"), "36", "000", &[2, 3, 4, 11, 12, 13, 14, 22, 23, 25, 41, 42, 49, 55, 60, 64], &[3, 4, 11, 37, 39, 41, 42, 60, 64]),
    row(Reversal, 400, None, None, "", "000", &[], &[3, 4, 11, 39, 41, 42, 60, 64]),
    row(Settlement, 500, None, None, "00", "201", &[11, 41, 42, 48, 49, 60, 63], &[11, 12, 13, 15, 37, 39, 41, 42, 48, 60]),
    row(BatchUploadDetail, 320, Some("000000"), None, "00", "205", &[2, 3, 4, 11, 22, 23, 41, 42, 55, 60], &[3, 11, 39, 41, 42, 60]),
    row(BatchUploadEnd, 320, None, None, "00", "202", &[11, 41, 42, 48, 60], &[11, 39, 41, 42, 60]),
    // §8: every request and reply MACed (a CA key is what ODA trusts).
    row(CaKeyList, 820, None, None, "00", "372", &[11, 41, 42, 60, 64], &[11, 39, 41, 42, 60, 62, 64]),
    row(CaKeyDownload, 800, None, None, "00", "370", &[11, 41, 42, 60, 62, 64], &[11, 39, 41, 42, 60, 62, 64]),
    row(CaKeyDownloadEnd, 800, None, None, "00", "371", &[11, 41, 42, 60, 64], &[11, 39, 41, 42, 60, 64]),
    row(ParamList, 820, None, None, "00", "382", &[11, 41, 42, 60, 64], &[11, 39, 41, 42, 60, 62, 64]),
    row(ParamDownload, 800, None, None, "00", "380", &[11, 41, 42, 60, 62, 64], &[11, 39, 41, 42, 60, 62, 64]),
    row(ParamDownloadEnd, 800, None, None, "00", "381", &[11, 41, 42, 60, 64], &[11, 39, 41, 42, 60, 64]),
    // §11: 61 names the sale; the reply's 39 is its outcome so far (`Q1`:
    // still waiting). The reply's fields are not in §11: those a sale's
    // final answer needs (15, 37, 38), as in the sale's reply.
    row(StatusInquiry, 200, Some("300000"), Some("00"), "22", "000", &[2, 3, 4, 11, 22, 25, 41, 42, 49, 60, 61, 64], &[3, 4, 11, 12, 13, 15, 37, 38, 39, 41, 42, 60, 61, 64]),
];

impl Exchange {
    /// This exchange's row.
    pub fn spec(self) -> &'static ExchangeSpec {
        // Every variant has a row; the fallback is never taken.
        TABLE.iter().find(|s| s.exchange == self).unwrap_or(&ACTIVATION_ROW)
    }

    /// Whether a lost reply must be answered by a reversal (§6).
    pub fn is_reversible(self) -> bool {
        matches!(self, Sale | Void)
    }

    /// Which exchange a request is: its MTI, field 3, 60.1 and 60.3 together
    /// must be one row of the table (§8's downloads share MTI and 60.1 with
    /// sign-in and activation, so no one of them alone decides). A reversal
    /// (0400) carries its original's codes: those of a known exchange (whether
    /// that one may be reversed is the host's next question: `12` if not).
    /// `None` for anything else: the host answers it `40` (§5).
    pub fn identify(msg: &Message) -> Option<Exchange> {
        let f60 = msg.get_str(60).unwrap_or("");
        let type_code = f60.get(0..2).unwrap_or("");
        let network = f60.get(8..11).unwrap_or("");
        let proc_code = msg.get_str(3);
        let codes_of = |s: &ExchangeSpec| {
            s.processing_code.is_none_or(|p| proc_code == Some(p)) && s.type_code == type_code && (s.network_code == network || (s.exchange == BatchUploadEnd && network == "207"))
        };
        if msg.mti == Reversal.spec().mti {
            return TABLE.iter().any(|s| s.exchange != Reversal && codes_of(s)).then_some(Reversal);
        }
        TABLE.iter().find(|s| s.exchange != Reversal && s.mti == msg.mti && codes_of(s)).map(|s| s.exchange)
    }
}

/// Fields of a reversal request for an original of `original` (§3).
pub fn reversal_request_fields(original: Exchange) -> Vec<u8> {
    let mut f: Vec<u8> = original.spec().request.iter().copied().filter(|n| !REVERSAL_DROPS.contains(n)).collect();
    f.push(39);
    f.sort_unstable();
    f
}

/// A message whose fields differ from what its row says.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{exchange:?} {side}: missing fields {missing:?}, unexpected fields {unexpected:?}")]
pub struct FieldSetMismatch {
    pub exchange: Exchange,
    pub side: &'static str,
    pub missing: Vec<u8>,
    pub unexpected: Vec<u8>,
}

/// Compares a message's fields with a list. `optional` fields may be absent
/// (e.g. 26/52 without a PIN, 38/44/55 in a decline).
pub fn check_fields(exchange: Exchange, side: &'static str, msg: &Message, expected: &[u8], optional: &[u8]) -> Result<(), FieldSetMismatch> {
    let present: Vec<u8> = msg.field_numbers().collect();
    let missing: Vec<u8> = expected.iter().copied().filter(|n| !present.contains(n) && !optional.contains(n)).collect();
    let unexpected: Vec<u8> = present.iter().copied().filter(|n| !expected.contains(n)).collect();
    if missing.is_empty() && unexpected.is_empty() { Ok(()) } else { Err(FieldSetMismatch { exchange, side, missing, unexpected }) }
}
