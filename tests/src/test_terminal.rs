//! A minimal terminal for testing the simulator from outside: it builds
//! every request of acquirer-protocol.md §3 by hand, reads a virtual card
//! through its APDUs, and checks MACs, without any of `posd`'s code. The
//! real engine is tested against the simulator separately.

use smartpos_proto::clock::CivilTime;
use smartpos_proto::codec::{Codec, DecodedFrame, Message, Mti};
use smartpos_proto::crypto::activation::TerminalKeyPair;
use smartpos_proto::crypto::{Key, MacAlgorithm, pin_block, track2};
use smartpos_proto::exchange::Exchange;
use smartpos_proto::fields::activation62::{ActivationReply, ActivationRequest};
use smartpos_proto::fields::original61::Original;
use smartpos_proto::fields::reserved60::Field60;
use smartpos_proto::fields::settlement48::Settlement48;
use smartpos_proto::fields::sign_in62::{self, WorkingKeys};
use smartpos_proto::fields::terminal_info59::{Location, TerminalInfo};
use smartpos_proto::tlv;
use smartpos_vcard::card::VirtualCard;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::OnceLock;
use std::time::Duration;

/// One RSA key pair for all test terminals: generating one per test is slow.
fn shared_keypair() -> &'static TerminalKeyPair {
    static PAIR: OnceLock<TerminalKeyPair> = OnceLock::new();
    PAIR.get_or_init(|| TerminalKeyPair::generate().expect("RSA key generation"))
}

/// What the card gave for one transaction.
#[derive(Debug, Clone)]
pub struct CardRead {
    pub pan: String,
    pub track2: String,
    pub expiry: String,
    pub psn: String,
    pub cid: u8,
    pub arqc: [u8; 8],
    /// Field 55 of the request.
    pub icc: Vec<u8>,
    pub tvr: [u8; 5],
    pub un: [u8; 4],
}

#[derive(Debug)]
pub struct TestTerminal {
    pub codec: Codec,
    pub addr: SocketAddr,
    stream: Option<TcpStream>,
    pub serial: String,
    pub tid: String,
    pub mid: String,
    pub tmk: Option<Key>,
    pub keys: Option<WorkingKeys>,
    pub stan: u32,
    pub batch: u32,
}

impl TestTerminal {
    pub fn new(addr: SocketAddr, serial: &str) -> Self {
        Self { codec: Codec::default(), addr, stream: None, serial: serial.into(), tid: "00000000".into(), mid: "000000000000000".into(), tmk: None, keys: None, stan: 0, batch: 1 }
    }

    pub fn next_stan(&mut self) -> String {
        self.stan = self.stan % 999_999 + 1;
        format!("{:06}", self.stan)
    }

    fn f59(&self) -> String {
        TerminalInfo::new(&self.serial, "0.1.0", &Location::Cell { mcc: 460, mnc: 0, lac: 0x1A2B, cid: 0xC3D4E }).encode()
    }

    fn f60(&self, ex: Exchange) -> String {
        let s = ex.spec();
        let ic = smartpos_proto::exchange::field60_has_ic_parts(s.mti).then_some((5, 0));
        Field60::new(s.type_code, self.batch, s.network_code, ic).encode()
    }

    /// Sends bytes and reads one reply frame (raw).
    pub fn send_raw(&mut self, bytes: &[u8]) -> std::io::Result<Vec<u8>> {
        // A kept connection the host closed meanwhile (a network cut closes
        // them) reads as EOF at once: connect afresh instead of writing into it.
        let closed = |s: &TcpStream| {
            let mut probe = [0u8; 1];
            s.set_nonblocking(true).is_err() || matches!(s.peek(&mut probe), Ok(0)) || s.set_nonblocking(false).is_err()
        };
        if self.stream.as_ref().is_some_and(closed) {
            self.stream = None;
        }
        if self.stream.is_none() {
            let s = TcpStream::connect_timeout(&self.addr, Duration::from_secs(2))?;
            s.set_read_timeout(Some(Duration::from_secs(5)))?;
            s.set_nodelay(true)?;
            self.stream = Some(s);
        }
        let s = self.stream.as_mut().ok_or(std::io::ErrorKind::NotConnected)?;
        let result = (|| {
            s.write_all(bytes)?;
            let mut prefix = [0u8; 2];
            s.read_exact(&mut prefix)?;
            let mut frame = prefix.to_vec();
            frame.resize(2 + usize::from(u16::from_be_bytes(prefix)), 0);
            s.read_exact(&mut frame[2..])?;
            Ok(frame)
        })();
        if result.is_err() {
            self.stream = None;
        }
        result
    }

    /// Sends a request (MACed when `mac`) and decodes the reply; with a MAK,
    /// a MACed reply must verify.
    pub fn exchange(&mut self, msg: Message, mac: bool) -> Result<DecodedFrame, String> {
        let frame = self.codec.request(msg);
        let bytes = match (&self.keys, mac) {
            (Some(k), true) => self.codec.encode_frame_with_mac(&frame, |mab| MacAlgorithm::CupEcb.compute(&k.mak, mab).expect("MAC")),
            (None, true) => self.codec.encode_frame(&{
                let mut f = frame;
                f.message.set(64, *b"00000000");
                f
            }),
            _ => self.codec.encode_frame(&frame),
        }
        .map_err(|e| e.to_string())?;
        let reply = self.send_raw(&bytes).map_err(|e| format!("io: {e}"))?;
        let d = self.codec.decode_frame(&reply).map_err(|e| format!("decode: {e}"))?;
        if let (Some(mab), Some(k)) = (&d.mac_block, &self.keys)
            && !MacAlgorithm::CupEcb.verify(&k.mak, mab, d.frame.message.get(64).unwrap_or_default()).unwrap_or(false)
        {
            return Err("reply MAC does not verify".into());
        }
        Ok(d)
    }

    pub fn activate(&mut self, code: &str) -> Result<(String, Option<ActivationReply>), String> {
        let pair = shared_keypair();
        let f62 = ActivationRequest { serial: self.serial.clone(), activation_code: code.into(), public_key_der: pair.public_key_der().map_err(|e| e.to_string())? }.encode();
        let stan = self.next_stan();
        let m = Message::new(Mti(800)).with(11, stan).with(41, "00000000").with(42, "000000000000000").with(59, self.f59()).with(60, self.f60(Exchange::Activation)).with(62, f62);
        let r = self.exchange(m, false)?.frame.message;
        let rc = r.get_str(39).unwrap_or_default().to_string();
        if rc != "00" {
            return Ok((rc, None));
        }
        let reply = ActivationReply::parse(r.get(62).unwrap_or_default()).map_err(|e| e.to_string())?;
        self.tmk = Some(pair.unwrap_tmk(&reply.encrypted_tmk, &reply.tmk_check).map_err(|e| e.to_string())?);
        self.tid = r.get_str(41).unwrap_or_default().into();
        self.mid = r.get_str(42).unwrap_or_default().into();
        self.keys = None;
        Ok((rc, Some(reply)))
    }

    pub fn sign_in(&mut self) -> Result<Message, String> {
        let stan = self.next_stan();
        let m =
            Message::new(Mti(800)).with(11, stan).with(41, self.tid.as_str()).with(42, self.mid.as_str()).with(59, self.f59()).with(60, self.f60(Exchange::SignIn)).with(63, "001");
        let r = self.exchange(m, false)?.frame.message;
        if r.get_str(39) == Some("00") {
            let tmk = self.tmk.as_ref().ok_or("no TMK")?;
            self.keys = Some(sign_in62::unwrap(tmk, r.get(62).unwrap_or_default(), MacAlgorithm::CupEcb).map_err(|e| e.to_string())?);
            self.batch = Field60::parse(r.get_str(60).unwrap_or_default()).map_err(|e| e.to_string())?.batch;
        }
        Ok(r)
    }

    pub fn sign_out(&mut self) -> Result<Message, String> {
        let stan = self.next_stan();
        let m = Message::new(Mti(820)).with(11, stan).with(41, self.tid.as_str()).with(42, self.mid.as_str()).with(60, self.f60(Exchange::SignOut));
        Ok(self.exchange(m, false)?.frame.message)
    }

    /// Reads `card` for a transaction, asking the first GENERATE AC for `want`.
    pub fn read_card(card: &mut VirtualCard, amount: u64, txn_type: u8, want: u8) -> CardRead {
        let ok = |r: Vec<u8>| {
            assert_eq!(&r[r.len() - 2..], &[0x90, 0x00], "card refused: {r:02X?}");
            r[..r.len() - 2].to_vec()
        };
        card.reset();
        let aid = hex::decode(&card.profile().aid).expect("AID hex");
        let mut select = vec![0x00, 0xA4, 0x04, 0x00, aid.len() as u8];
        select.extend_from_slice(&aid);
        select.push(0);
        ok(card.transmit(&select));
        let gpo = ok(card.transmit(&[0x80, 0xA8, 0x00, 0x00, 0x02, 0x83, 0x00, 0x00]));
        let aip = gpo.get(2..4).map(<[u8]>::to_vec).unwrap_or_default();
        let rec = ok(card.transmit(&[0x00, 0xB2, 0x01, 0x0C, 0x00]));
        let tag = |t| tlv::find(&rec, t).unwrap_or_default();
        let track2 = hex::encode_upper(tag(0x57));
        let pan = track2.split('D').next().unwrap_or_default().to_string();
        let expiry = hex::encode_upper(tag(0x5F24)).get(..4).unwrap_or_default().to_string();
        let psn = hex::encode_upper(tag(0x5F34));
        let now = CivilTime::now(8 * 3600);
        let un: [u8; 4] = rand::random();
        let tvr = [0u8; 5];
        let date = hex::decode(now.yymmdd()).expect("date");
        let amount_bcd = hex::decode(format!("{amount:012}")).expect("amount");
        let mut cdol1 = amount_bcd.clone();
        cdol1.extend_from_slice(&[0; 6]);
        cdol1.extend_from_slice(&[0x01, 0x56]);
        cdol1.extend_from_slice(&tvr);
        cdol1.extend_from_slice(&[0x01, 0x56]);
        cdol1.extend_from_slice(&date);
        cdol1.push(txn_type);
        cdol1.extend_from_slice(&un);
        let mut gac = vec![0x80, 0xAE, want, 0x00, cdol1.len() as u8];
        gac.extend_from_slice(&cdol1);
        gac.push(0);
        let r = ok(card.transmit(&gac));
        let v = tlv::find(&r, 0x80).unwrap_or_default();
        let (cid, atc, ac, iad) = (v[0], &v[1..3], &v[3..11], &v[11..]);
        let mut icc = Vec::new();
        for (t, val) in [
            (0x9F26, ac.to_vec()),
            (0x9F27, vec![cid]),
            (0x9F10, iad.to_vec()),
            (0x9F37, un.to_vec()),
            (0x9F36, atc.to_vec()),
            (0x95, tvr.to_vec()),
            (0x9A, date.clone()),
            (0x9C, vec![txn_type]),
            (0x9F02, amount_bcd.clone()),
            (0x5F2A, vec![0x01, 0x56]),
            (0x82, aip.clone()),
            (0x9F1A, vec![0x01, 0x56]),
            (0x9F03, vec![0; 6]),
            (0x9F33, vec![0xE0, 0xE1, 0xC8]),
            (0x9F34, vec![0x42, 0x03, 0x00]),
            (0x9F35, vec![0x22]),
            (0x9F1E, b"26000123".to_vec()),
            (0x84, aid.clone()),
            (0x9F09, vec![0x00, 0x30]),
            (0x9F41, vec![0, 0, 0, 1]),
        ] {
            tlv::write(t, &val, &mut icc);
        }
        CardRead { pan, track2, expiry, psn, cid, arqc: ac.try_into().expect("8 bytes"), icc, tvr, un }
    }

    /// The second GENERATE AC with the host's answer; returns the CID.
    pub fn complete(card: &mut VirtualCard, read: &CardRead, arc: &str, f55_reply: Option<&[u8]>) -> u8 {
        let iad = f55_reply.and_then(|f| tlv::find(f, 0x91)).unwrap_or_else(|| vec![0; 10]);
        let mut cdol2 = arc.as_bytes().to_vec();
        cdol2.extend_from_slice(&iad);
        cdol2.extend_from_slice(&read.tvr);
        cdol2.extend_from_slice(&read.un);
        let mut gac = vec![0x80, 0xAE, 0x40, 0x00, cdol2.len() as u8];
        gac.extend_from_slice(&cdol2);
        gac.push(0);
        let r = card.transmit(&gac);
        tlv::find(&r[..r.len() - 2], 0x80).map(|v| v[0]).unwrap_or(0xFF)
    }

    /// A financial request of `ex` for a card read (fields of §3).
    pub fn card_request(&mut self, ex: Exchange, read: &CardRead, amount: u64, pin: Option<&str>) -> Message {
        let stan = self.next_stan();
        let keys = self.keys.as_ref().expect("signed in");
        let spec = ex.spec();
        let mut m = Message::new(spec.mti)
            .with(2, read.pan.as_str())
            .with(11, stan)
            .with(14, read.expiry.as_str())
            .with(22, if pin.is_some() { "051" } else { "052" })
            .with(23, format!("0{}", read.psn))
            .with(35, track2::encrypt(&keys.tdk, read.track2.as_bytes()).expect("track 2"))
            .with(41, self.tid.as_str())
            .with(42, self.mid.as_str())
            .with(49, "156")
            .with(53, "2610000000000000")
            .with(60, self.f60(ex));
        if let Some(pc) = spec.processing_code {
            m.set(3, pc);
        }
        if let Some(cc) = spec.condition_code {
            m.set(25, cc);
        }
        if spec.request.contains(&4) {
            m.set(4, format!("{amount:012}"));
        }
        if spec.request.contains(&55) {
            m.set(55, read.icc.clone());
        }
        if spec.request.contains(&59) {
            m.set(59, self.f59());
        }
        if let (Some(pin), true) = (pin, spec.request.contains(&52)) {
            m.set(26, "06");
            m.set(52, pin_block::encrypt_format0(&keys.pik, pin.as_bytes(), read.pan.as_bytes()).expect("PIN block"));
        }
        m
    }

    /// A payment-code sale (§11): 2 = the code, 22 = `032`, no card fields.
    pub fn code_sale_request(&mut self, code: &str, amount: u64) -> Message {
        let ex = Exchange::Sale;
        let stan = self.next_stan();
        let mut m = Message::new(ex.spec().mti)
            .with(2, code)
            .with(3, "000000")
            .with(4, format!("{amount:012}"))
            .with(11, stan)
            .with(22, "032")
            .with(25, "00")
            .with(41, self.tid.as_str())
            .with(42, self.mid.as_str())
            .with(49, "156")
            .with(60, self.f60(ex));
        m.set(59, self.f59());
        m
    }

    /// The status inquiry of §11 for the code sale sent as `sale_stan`.
    pub fn code_status_request(&mut self, code: &str, amount: u64, sale_stan: u32) -> Message {
        let ex = Exchange::StatusInquiry;
        let stan = self.next_stan();
        Message::new(ex.spec().mti)
            .with(2, code)
            .with(3, "300000")
            .with(4, format!("{amount:012}"))
            .with(11, stan)
            .with(22, "032")
            .with(25, "00")
            .with(41, self.tid.as_str())
            .with(42, self.mid.as_str())
            .with(49, "156")
            .with(60, self.f60(ex))
            .with(61, smartpos_proto::fields::original61::Original { batch: self.batch, stan: sale_stan, date: None }.encode())
    }

    /// Builds a card request and sends it MACed.
    pub fn send_card(&mut self, ex: Exchange, read: &CardRead, amount: u64, pin: Option<&str>) -> Result<DecodedFrame, String> {
        let m = self.card_request(ex, read, amount, pin);
        self.exchange(m, true)
    }

    /// Voids the sale answered by `sale_reply`, sent as STAN `sale_stan` of this batch.
    pub fn void(&mut self, sale_reply: &Message, read: &CardRead, sale_stan: u32, amount: u64) -> Result<Message, String> {
        let mut m = self.card_request(Exchange::Void, read, amount, None);
        m.set(37, sale_reply.get_str(37).ok_or("the sale reply has no RRN")?);
        m.set(38, sale_reply.get_str(38).ok_or("the sale reply has no auth code")?);
        m.set(61, Original { batch: self.batch, stan: sale_stan, date: None }.encode());
        Ok(self.exchange(m, true)?.frame.message)
    }

    /// The offline sale advice for a card that approved with a TC (`8A` = `Y1`);
    /// `repeat_stan` sends it again under the original STAN.
    pub fn offline_advice(&mut self, read: &CardRead, amount: u64, repeat_stan: Option<u32>) -> Result<Message, String> {
        let stan = match repeat_stan {
            Some(s) => format!("{s:06}"),
            None => self.next_stan(),
        };
        let mut icc = read.icc.clone();
        tlv::write(0x8A, b"Y1", &mut icc);
        let now = CivilTime::now(8 * 3600);
        let m = Message::new(Exchange::OfflineAdvice.spec().mti)
            .with(2, read.pan.as_str())
            .with(3, "000000")
            .with(4, format!("{amount:012}"))
            .with(11, stan)
            .with(12, now.hhmmss())
            .with(13, now.mmdd())
            .with(14, read.expiry.as_str())
            .with(22, "052")
            .with(23, format!("0{}", read.psn))
            .with(25, "00")
            .with(41, self.tid.as_str())
            .with(42, self.mid.as_str())
            .with(49, "156")
            .with(55, icc)
            .with(60, self.f60(Exchange::OfflineAdvice));
        Ok(self.exchange(m, true)?.frame.message)
    }

    /// Settlement with the terminal's totals.
    pub fn settle(&mut self, totals: &Settlement48) -> Result<Message, String> {
        let stan = self.next_stan();
        let m = Message::new(Mti(500))
            .with(11, stan)
            .with(41, self.tid.as_str())
            .with(42, self.mid.as_str())
            .with(48, totals.encode())
            .with(49, "156")
            .with(60, self.f60(Exchange::Settlement))
            .with(63, "001");
        Ok(self.exchange(m, false)?.frame.message)
    }

    /// Batch upload end: `code` 202 after an upload, 207 without; `count` = debit + credit count.
    pub fn upload_end(&mut self, code: &str, count: u32) -> Result<Message, String> {
        let stan = self.next_stan();
        let m = Message::new(Mti(320))
            .with(11, stan)
            .with(41, self.tid.as_str())
            .with(42, self.mid.as_str())
            .with(48, format!("{count:04}"))
            .with(60, Field60::new("00", self.batch, code, None).encode());
        Ok(self.exchange(m, false)?.frame.message)
    }
}
