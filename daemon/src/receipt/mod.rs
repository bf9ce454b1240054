//! Receipts (dbus-api.md "Receipts"): one function, [`Receipt::of`], turns
//! a journal row into the slip a UnionPay terminal prints — merchant copy
//! or cardholder copy — as a list of [`Line`]s; the renderers only lay them
//! out: [`text`] for `Payment.Receipt` and `posctl receipt`, [`escpos`] for
//! the printer. The slip never
//! holds more than the journal's masked card number or code, which is all
//! the journal has in clear.
//!
//! Layout rules (a CUP slip): bilingual labels, the merchant's name as the
//! bank registered it (Chinese), amounts in yuan with a minus for voids and
//! refunds, chip data (AID, label, TC or ARQC, TVR) for cards, `OFFLINE`
//! for an offline approval, a signature line on the merchant copy when the
//! card chose signature, the RRN as a QR code on the cardholder copy.

pub mod escpos;
pub mod text;

use crate::store::Identity;
use crate::store::journal::{Entry, EntryState, Kind};

/// Which copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Copy {
    Merchant,
    Customer,
}

impl Copy {
    /// `merchant` or `customer` (`Payment.Receipt`'s `copy`).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "merchant" => Some(Copy::Merchant),
            "customer" => Some(Copy::Customer),
            _ => None,
        }
    }
}

/// One line of the slip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// Centred and emphasised (the slip's head).
    Title(String),
    /// Centred.
    Centre(String),
    /// A label and its value (value right-aligned, or on the next line when long).
    Pair(&'static str, String),
    /// The amount, emphasised.
    Amount(String),
    /// Free text, left-aligned.
    Text(String),
    /// A dashed rule.
    Rule,
    /// Space to sign, then a rule.
    Signature,
    /// A QR code of this text (the customer copy's RRN).
    Qr(String),
}

/// The slip of one journal row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub lines: Vec<Line>,
}

/// Why a row has no slip.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoReceipt {
    #[error("transaction {0:06} was not approved: a declined, reversed or unanswered transaction has no receipt")]
    NotApproved(u32),
    #[error("a balance inquiry has no receipt")]
    Balance,
}

fn kind_name(k: Kind) -> &'static str {
    match k {
        Kind::Sale => "消费 SALE",
        Kind::Void => "消费撤销 VOID",
        Kind::Refund => "退货 REFUND",
        Kind::Balance => "余额查询 BALANCE",
    }
}

fn interface_name(interface: &str) -> &'static str {
    match interface {
        "contactless" => "挥卡 CONTACTLESS",
        "code" => "扫码 PAYMENT CODE",
        _ => "插卡 CHIP",
    }
}

/// Minor units as yuan (`12.34`).
pub fn yuan(minor: u64) -> String {
    format!("{}.{:02}", minor / 100, minor % 100)
}

/// `2026-12-05T02:40:12+08:00` as `2026/12/05 02:40:12`.
fn local_time(rfc3339: &str) -> String {
    match (rfc3339.get(..10), rfc3339.get(11..19)) {
        (Some(d), Some(t)) => format!("{} {t}", d.replace('-', "/")),
        _ => rfc3339.to_string(),
    }
}

impl Receipt {
    /// The slip of `e`, for the merchant `id`; `operator` is the configured
    /// operator number, `currency` its code, `reprint` marks a copy
    /// printed again.
    pub fn of(e: &Entry, id: &Identity, operator: &str, currency: &str, copy: Copy, reprint: bool) -> Result<Self, NoReceipt> {
        if e.kind == Kind::Balance {
            return Err(NoReceipt::Balance);
        }
        if e.state != EntryState::Approved {
            return Err(NoReceipt::NotApproved(e.stan));
        }
        let code = e.interface == "code";
        let mut l = vec![
            Line::Title("银联 POS 签购单".into()),
            Line::Centre("UNIONPAY POS SALES SLIP".into()),
            Line::Centre(match copy {
                Copy::Merchant => "商户存根 MERCHANT COPY".into(),
                Copy::Customer => "持卡人存根 CARDHOLDER COPY".into(),
            }),
            Line::Rule,
            Line::Text("商户名称 MERCHANT NAME".into()),
            Line::Text(id.merchant_name.clone().unwrap_or_default()),
            Line::Pair("商户编号 MERCHANT NO", id.mid.clone().unwrap_or_default()),
            Line::Pair("终端编号 TERMINAL NO", id.tid.clone().unwrap_or_default()),
            Line::Pair("操作员 OPERATOR", operator.to_string()),
            Line::Rule,
            Line::Pair(if code { "付款码 PAYMENT CODE" } else { "卡号 CARD NO" }, e.masked_pan.clone()),
            Line::Pair("方式 ENTRY", interface_name(&e.interface).into()),
            Line::Pair("交易类型 TRANS TYPE", kind_name(e.kind).into()),
            Line::Pair("批次号 BATCH NO", format!("{:06}", e.batch)),
            Line::Pair("凭证号 VOUCHER NO", format!("{:06}", e.stan)),
            Line::Pair("参考号 REF NO", e.rrn.clone()),
            Line::Pair("授权码 AUTH NO", e.auth_code.clone()),
            Line::Pair("日期时间 DATE/TIME", local_time(&e.created_at)),
        ];
        if !code && !e.aid.is_empty() {
            l.push(Line::Pair("AID", e.aid.clone()));
            l.push(Line::Pair("应用标签 APP LABEL", e.app_label.clone()));
            if !e.cryptogram.is_empty() {
                l.push(Line::Pair(if e.offline { "TC" } else { "ARQC" }, e.cryptogram.clone()));
            }
            if !e.tvr.is_empty() {
                l.push(Line::Pair("TVR", e.tvr.clone()));
            }
        }
        l.push(Line::Rule);
        let sign = if matches!(e.kind, Kind::Void | Kind::Refund) { "-" } else { "" };
        let currency = if currency == "156" { "RMB" } else { currency };
        l.push(Line::Amount(format!("金额 AMOUNT: {currency} {sign}{}", yuan(e.amount))));
        if e.offline {
            l.push(Line::Centre("离线交易 OFFLINE".into()));
        }
        if reprint {
            l.push(Line::Centre("重打印 REPRINT".into()));
        }
        l.push(Line::Rule);
        match copy {
            Copy::Merchant if e.cvm == "signature" => {
                l.push(Line::Text("持卡人签名 CARDHOLDER SIGNATURE".into()));
                l.push(Line::Signature);
                l.push(Line::Text("本人确认以上交易，同意将其记入本卡账户".into()));
                l.push(Line::Text("I ACKNOWLEDGE SATISFACTORY RECEIPT OF RELATIVE GOODS/SERVICES".into()));
            }
            Copy::Merchant => {}
            Copy::Customer => {
                if !e.rrn.is_empty() {
                    l.push(Line::Qr(e.rrn.clone()));
                }
                l.push(Line::Centre("请妥善保管 PLEASE KEEP THIS SLIP".into()));
            }
        }
        Ok(Self { lines: l })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(cvm: &str) -> Entry {
        Entry {
            id: 1,
            kind: Kind::Sale,
            batch: 1,
            stan: 12,
            amount: 1234,
            masked_pan: "622848*********0018".into(),
            aid: "A000000333010101".into(),
            app_label: "UnionPay Debit".into(),
            entry_mode: "052".into(),
            response_code: "00".into(),
            rrn: "261205000002".into(),
            auth_code: "023757".into(),
            state: EntryState::Approved,
            reference: String::new(),
            created_at: "2026-12-05T03:34:23+08:00".into(),
            offline: false,
            original_id: None,
            host_date: "1205".into(),
            interface: "contact".into(),
            oda: "none".into(),
            tvr: "8000048000".into(),
            cryptogram: "35AE2D32268DE6E4".into(),
            cvm: cvm.into(),
        }
    }

    /// No virtual card chooses signature (their CVM lists ask for the
    /// online PIN), so the rule is tested on the model.
    #[test]
    fn a_signature_line_on_the_merchant_copy_when_the_card_chose_signature() {
        let id = Identity { mid: Some("898110000000001".into()), tid: Some("10000001".into()), merchant_name: Some("测试便利店".into()), ..Identity::default() };
        let slip = |cvm: &str, copy| Receipt::of(&entry(cvm), &id, "001", "156", copy, false).unwrap().lines;
        assert!(slip("signature", Copy::Merchant).contains(&Line::Signature));
        assert!(!slip("signature", Copy::Customer).contains(&Line::Signature), "the cardholder keeps the unsigned copy");
        assert!(!slip("pin", Copy::Merchant).contains(&Line::Signature), "a PIN was entered");
        assert!(!slip("none", Copy::Merchant).contains(&Line::Signature));
        let declined = Entry { state: EntryState::Declined, ..entry("pin") };
        assert_eq!(Receipt::of(&declined, &id, "001", "156", Copy::Merchant, false), Err(NoReceipt::NotApproved(12)));
    }
}
