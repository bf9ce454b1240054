//! Application selection and reading (EMV Book 1 §12, Book 3 §10.1–10.2):
//! the PSE directory when the card has one, else the terminal's AID list;
//! the final SELECT, GET PROCESSING OPTIONS and READ RECORD per AFL. What
//! comes out is a [`CardApp`]: the card's data objects by tag.

use super::KernelError;
use super::apdu::{Response, command};
use smartpos_hal::CardReader;
use smartpos_proto::tlv::{self, Tag};
use std::collections::BTreeMap;

/// `1PAY.SYS.DDF01`.
const PSE: &[u8] = b"1PAY.SYS.DDF01";

/// The selected application and everything read from it.
#[derive(Clone, Default)]
pub struct CardApp {
    pub aid: Vec<u8>,
    pub label: String,
    pub aip: [u8; 2],
    /// Primitive data objects from the FCI, GPO and the records.
    pub data: BTreeMap<Tag, Vec<u8>>,
    /// The static data to be authenticated (EMV Book 3 §10.3): the records
    /// the AFL names for ODA, in AFL order, then what `9F4A` lists.
    pub static_data: Vec<u8>,
    /// Why the static data cannot be assembled (ODA then fails), if it cannot.
    pub static_data_error: Option<String>,
}

impl std::fmt::Debug for CardApp {
    /// Tags only: the values hold the PAN and track 2.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CardApp").field("aid", &hex::encode_upper(&self.aid)).field("tags", &self.data.keys().map(|t| format!("{t:X}")).collect::<Vec<_>>()).finish()
    }
}

impl CardApp {
    pub fn get(&self, tag: Tag) -> Option<&[u8]> {
        self.data.get(&tag).map(Vec::as_slice)
    }
}

#[derive(Debug, Clone)]
struct Candidate {
    aid: Vec<u8>,
    label: String,
    priority: u8,
}

/// Collects the primitive objects of `data` (recursing into templates).
pub fn flatten(data: &[u8], out: &mut BTreeMap<Tag, Vec<u8>>) -> Result<(), KernelError> {
    fn walk(data: &[u8], depth: usize, out: &mut BTreeMap<Tag, Vec<u8>>) -> Result<(), KernelError> {
        if depth > tlv::MAX_DEPTH {
            return Err(KernelError::Card("card data nested too deep".into()));
        }
        for item in tlv::parse(data).map_err(|e| KernelError::Card(format!("card data is not BER-TLV: {e}")))? {
            if item.is_constructed() {
                walk(&item.value, depth + 1, out)?;
            } else {
                out.entry(item.tag).or_insert(item.value);
            }
        }
        Ok(())
    }
    walk(data, 0, out)
}

fn select(reader: &mut dyn CardReader, name: &[u8]) -> Result<Response, KernelError> {
    command(reader, [0x00, 0xA4, 0x04, 0x00], Some(name), Some(0x00))
}

/// A card AID is acceptable when one of the terminal's AIDs is its prefix
/// (partial selection, as the ASI of UnionPay and the schemes allow).
fn accepted(aid: &[u8], terminal_aids: &[Vec<u8>]) -> bool {
    terminal_aids.iter().any(|t| aid.starts_with(t))
}

fn from_pse(reader: &mut dyn CardReader, terminal_aids: &[Vec<u8>]) -> Result<Option<Vec<Candidate>>, KernelError> {
    let r = select(reader, PSE)?;
    if !r.ok() {
        return Ok(None);
    }
    let Some(sfi) = tlv::find(&r.data, 0x88).and_then(|v| v.first().copied()) else {
        return Ok(None);
    };
    let mut out = Vec::new();
    for record in 1..=16u8 {
        let r = command(reader, [0x00, 0xB2, record, (sfi << 3) | 4], None, Some(0x00))?;
        if !r.ok() {
            break;
        }
        let Ok(items) = tlv::parse(r.data.get(..).unwrap_or_default()) else {
            break;
        };
        for t70 in items.iter().filter(|t| t.tag == 0x70) {
            for entry in tlv::parse(&t70.value).unwrap_or_default().into_iter().filter(|t| t.tag == 0x61) {
                let Some(aid) = tlv::find(&entry.value, 0x4F) else {
                    continue;
                };
                if accepted(&aid, terminal_aids) {
                    let label = tlv::find(&entry.value, 0x50).map(|l| String::from_utf8_lossy(&l).into_owned()).unwrap_or_default();
                    let priority = tlv::find(&entry.value, 0x87).and_then(|p| p.first().copied()).unwrap_or(0) & 0x0F;
                    out.push(Candidate { aid, label, priority });
                }
            }
        }
    }
    Ok(Some(out))
}

fn from_aid_list(reader: &mut dyn CardReader, terminal_aids: &[Vec<u8>]) -> Result<Vec<Candidate>, KernelError> {
    let mut out = Vec::new();
    for aid in terminal_aids {
        let r = select(reader, aid)?;
        if r.ok() {
            let card_aid = tlv::find(&r.data, 0x84).unwrap_or_else(|| aid.clone());
            let label = tlv::find(&r.data, 0x50).map(|l| String::from_utf8_lossy(&l).into_owned()).unwrap_or_default();
            let priority = tlv::find(&r.data, 0x87).and_then(|p| p.first().copied()).unwrap_or(0) & 0x0F;
            out.push(Candidate { aid: card_aid, label, priority });
        }
    }
    Ok(out)
}

/// Selects the application to use and reads it.
pub fn read_application(reader: &mut dyn CardReader, terminal_aids: &[Vec<u8>]) -> Result<CardApp, KernelError> {
    let mut candidates = match from_pse(reader, terminal_aids)? {
        Some(c) if !c.is_empty() => c,
        _ => from_aid_list(reader, terminal_aids)?,
    };
    // Priority 1 is highest; 0 (none given) goes last. Stable: card order breaks ties.
    candidates.sort_by_key(|c| if c.priority == 0 { 16 } else { c.priority });
    for c in candidates {
        let fci = select(reader, &c.aid)?;
        if !fci.ok() {
            continue;
        }
        let mut app = CardApp { aid: c.aid, label: c.label, ..Default::default() };
        flatten(&fci.data, &mut app.data)?;
        if app.label.is_empty() {
            app.label = app.get(0x50).map(|l| String::from_utf8_lossy(l).into_owned()).unwrap_or_default();
        }
        initiate(reader, &mut app)?;
        return Ok(app);
    }
    Err(KernelError::NoApplication)
}

/// GET PROCESSING OPTIONS and READ RECORD per AFL.
fn initiate(reader: &mut dyn CardReader, app: &mut CardApp) -> Result<(), KernelError> {
    // No PDOL on the cards of §7; with one, its data would be zeros we do not know better.
    let pdol_len: usize = match app.get(0x9F38) {
        Some(pdol) => tlv::parse_dol(pdol).map_err(|e| KernelError::Card(format!("PDOL: {e}")))?.iter().map(|(_, l)| l).sum(),
        None => 0,
    };
    let mut gpo_data = vec![0x83];
    tlv::write_len(pdol_len, &mut gpo_data);
    gpo_data.resize(gpo_data.len() + pdol_len, 0);
    let r = command(reader, [0x80, 0xA8, 0x00, 0x00], Some(&gpo_data), Some(0x00))?;
    if !r.ok() {
        return Err(KernelError::Status("GET PROCESSING OPTIONS", r.sw));
    }
    let (aip, afl) = if let Some(v) = tlv::find(&r.data, 0x80) {
        (v.get(..2).map(<[u8]>::to_vec).unwrap_or_default(), v.get(2..).map(<[u8]>::to_vec).unwrap_or_default())
    } else {
        (tlv::find(&r.data, 0x82).unwrap_or_default(), tlv::find(&r.data, 0x94).unwrap_or_default())
    };
    let [a, b] = aip.as_slice() else {
        return Err(KernelError::Card("GPO response without a 2-byte AIP".into()));
    };
    app.aip = [*a, *b];
    read_records(reader, app, &afl)
}

/// READ RECORD per AFL entry: each record's objects into `app`, the ones
/// the AFL names for ODA into its static data, then what `9F4A` lists.
pub(crate) fn read_records(reader: &mut dyn CardReader, app: &mut CardApp, afl: &[u8]) -> Result<(), KernelError> {
    if afl.is_empty() || !afl.len().is_multiple_of(4) {
        return Err(KernelError::Card(format!("AFL of {} bytes", afl.len())));
    }
    for entry in afl.chunks(4) {
        let [sfi, first, last, oda_count] = entry else {
            continue;
        };
        let sfi = sfi >> 3;
        if !(1..=30).contains(&sfi) || *first == 0 || last < first {
            return Err(KernelError::Card("AFL entry out of range".into()));
        }
        for rec in *first..=*last {
            let r = command(reader, [0x00, 0xB2, rec, (sfi << 3) | 4], None, Some(0x00))?;
            if !r.ok() {
                return Err(KernelError::Status("READ RECORD", r.sw));
            }
            if r.data.first() != Some(&0x70) {
                return Err(KernelError::Card(format!("record {rec} of SFI {sfi} is not a 70 template")));
            }
            flatten(&r.data, &mut app.data)?;
            if rec - first < *oda_count {
                sign_covers(app, sfi, &r.data);
            }
        }
    }
    // 9F4A: the static data ends with the objects it lists; EMV allows the AIP only.
    if let Some(list) = app.get(0x9F4A).map(<[u8]>::to_vec) {
        if list == [0x82] {
            let aip = app.aip;
            app.static_data.extend_from_slice(&aip);
        } else {
            app.static_data_error.get_or_insert_with(|| format!("9F4A lists {} (only the AIP, 82, may be)", hex::encode_upper(&list)));
        }
    }
    Ok(())
}

/// Adds a record the AFL names for ODA to the static data: for SFI 1–10 the
/// value of its `70` template, for others the whole record (Book 3 §10.3).
fn sign_covers(app: &mut CardApp, sfi: u8, record: &[u8]) {
    if sfi > 10 {
        app.static_data.extend_from_slice(record);
        return;
    }
    match tlv::parse(record).ok().and_then(|items| items.into_iter().next()).filter(|t| t.tag == 0x70) {
        Some(t70) => app.static_data.extend_from_slice(&t70.value),
        None => {
            app.static_data_error.get_or_insert_with(|| format!("an ODA record of SFI {sfi} is not one 70 template"));
        }
    }
}
