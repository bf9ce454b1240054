//! Field 62 of activation (§3): request TLVs `DF01` serial, `DF02`
//! activation code, `DF03` public key; reply TLVs `DF04` encrypted TMK,
//! `DF05` TMK check value, `DF06` merchant name, `DF07` deposit amount,
//! `DF08` deposit status.

use super::FieldError;
use crate::tlv;

pub const SERIAL: tlv::Tag = 0xDF01;
pub const ACTIVATION_CODE: tlv::Tag = 0xDF02;
pub const PUBLIC_KEY: tlv::Tag = 0xDF03;
pub const TMK: tlv::Tag = 0xDF04;
pub const TMK_CHECK: tlv::Tag = 0xDF05;
pub const MERCHANT_NAME: tlv::Tag = 0xDF06;
pub const DEPOSIT_AMOUNT: tlv::Tag = 0xDF07;
pub const DEPOSIT_STATUS: tlv::Tag = 0xDF08;

/// The activation request's field 62.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivationRequest {
    pub serial: String,
    pub activation_code: String,
    pub public_key_der: Vec<u8>,
}

/// The activation reply's field 62.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivationReply {
    pub encrypted_tmk: Vec<u8>,
    pub tmk_check: Vec<u8>,
    pub merchant_name: String,
    pub deposit_amount: u64,
    /// `U` unpaid, `P` paid, `R` refunded, `W` waived.
    pub deposit_status: char,
}

fn get(items: &[tlv::Tlv], tag: tlv::Tag) -> Result<&[u8], FieldError> {
    items.iter().find(|t| t.tag == tag).map(|t| t.value.as_slice()).ok_or_else(|| FieldError::new(62, format!("tag {tag:X} missing")))
}

fn text(items: &[tlv::Tlv], tag: tlv::Tag) -> Result<String, FieldError> {
    String::from_utf8(get(items, tag)?.to_vec()).map_err(|_| FieldError::new(62, format!("tag {tag:X} is not UTF-8")))
}

impl ActivationRequest {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        tlv::write(SERIAL, self.serial.as_bytes(), &mut out);
        tlv::write(ACTIVATION_CODE, self.activation_code.as_bytes(), &mut out);
        tlv::write(PUBLIC_KEY, &self.public_key_der, &mut out);
        out
    }

    pub fn parse(v: &[u8]) -> Result<Self, FieldError> {
        let items = tlv::parse(v).map_err(|e| FieldError::new(62, e.to_string()))?;
        Ok(Self { serial: text(&items, SERIAL)?, activation_code: text(&items, ACTIVATION_CODE)?, public_key_der: get(&items, PUBLIC_KEY)?.to_vec() })
    }
}

impl ActivationReply {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        tlv::write(TMK, &self.encrypted_tmk, &mut out);
        tlv::write(TMK_CHECK, &self.tmk_check, &mut out);
        tlv::write(MERCHANT_NAME, self.merchant_name.as_bytes(), &mut out);
        tlv::write(DEPOSIT_AMOUNT, format!("{:012}", self.deposit_amount).as_bytes(), &mut out);
        let mut status = [0u8; 4];
        tlv::write(DEPOSIT_STATUS, self.deposit_status.encode_utf8(&mut status).as_bytes(), &mut out);
        out
    }

    pub fn parse(v: &[u8]) -> Result<Self, FieldError> {
        let items = tlv::parse(v).map_err(|e| FieldError::new(62, e.to_string()))?;
        let amount = text(&items, DEPOSIT_AMOUNT)?;
        let status = text(&items, DEPOSIT_STATUS)?;
        let deposit_status = match status.as_str() {
            "U" | "P" | "R" | "W" => status.chars().next().unwrap_or('U'),
            other => return Err(FieldError::new(62, format!("deposit status {other:?} unknown"))),
        };
        Ok(Self {
            encrypted_tmk: get(&items, TMK)?.to_vec(),
            tmk_check: get(&items, TMK_CHECK)?.to_vec(),
            merchant_name: text(&items, MERCHANT_NAME)?,
            deposit_amount: super::digits_u64(62, &amount)?,
            deposit_status,
        })
    }
}
