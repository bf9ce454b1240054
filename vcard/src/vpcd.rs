//! The vpcd wire protocol (vsmartcard's virtual reader driver for pcscd):
//! the card side. The reader listens on TCP; a card connects and is then
//! "in the reader" until it disconnects. Every message carries a 2-byte
//! big-endian length; a 1-byte message is a control (power off, power on,
//! reset, get ATR), anything longer is a command APDU answered with the
//! response APDU.

use crate::card::VirtualCard;
use std::io::{self, Read, Write};

/// vpcd's control bytes.
mod control {
    pub const POWER_OFF: u8 = 0;
    pub const POWER_ON: u8 = 1;
    pub const RESET: u8 = 2;
    pub const GET_ATR: u8 = 4;
}

/// Largest message the card accepts: a short APDU with 255 bytes of data
/// plus header, Lc and Le, with room to spare.
const MAX_MESSAGE: usize = 261;

/// Serves `card` over one vpcd connection until the reader closes it, or
/// until the card leaves by itself (a tapped card once read): then the
/// connection is closed, which is a card leaving vpcd's reader. Returns how
/// many APDUs were answered.
pub fn serve(stream: &mut (impl Read + Write), card: &mut VirtualCard) -> io::Result<u64> {
    let mut apdus = 0;
    loop {
        let mut len = [0u8; 2];
        match stream.read_exact(&mut len) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(apdus),
            Err(e) => return Err(e),
        }
        let len = usize::from(u16::from_be_bytes(len));
        if len == 0 || len > MAX_MESSAGE {
            return Err(io::Error::new(io::ErrorKind::InvalidData, format!("vpcd message of {len} bytes")));
        }
        let mut msg = vec![0u8; len];
        stream.read_exact(&mut msg)?;
        match msg.as_slice() {
            [control::POWER_OFF] | [control::POWER_ON] | [control::RESET] => card.reset(),
            [control::GET_ATR] => send(stream, card.atr())?,
            [other] => return Err(io::Error::new(io::ErrorKind::InvalidData, format!("unknown vpcd control {other}"))),
            apdu => {
                let response = card.transmit(apdu);
                send(stream, &response)?;
                apdus += 1;
                if card.pulled_now() {
                    return Ok(apdus);
                }
            }
        }
    }
}

fn send(stream: &mut impl Write, payload: &[u8]) -> io::Result<()> {
    let len = u16::try_from(payload.len()).map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "response too long"))?;
    let mut frame = Vec::with_capacity(payload.len() + 2);
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(payload);
    stream.write_all(&frame)?;
    stream.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata::TestData;
    use std::io::Cursor;

    struct Duplex {
        input: Cursor<Vec<u8>>,
        output: Vec<u8>,
    }
    impl Read for Duplex {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.input.read(buf)
        }
    }
    impl Write for Duplex {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.output.write(buf)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn framed(parts: &[&[u8]]) -> Vec<u8> {
        parts.iter().flat_map(|p| [&(p.len() as u16).to_be_bytes()[..], p].concat()).collect()
    }

    #[test]
    fn answers_atr_and_apdus_and_stops_at_eof() {
        let data = TestData::embedded();
        let mut card = VirtualCard::new(data.card("default").expect("card"), &data.issuer.imk_ac).expect("card");
        let select = b"\x00\xA4\x04\x00\x0E1PAY.SYS.DDF01\x00";
        let mut io = Duplex { input: Cursor::new(framed(&[&[control::POWER_ON], &[control::GET_ATR], select])), output: Vec::new() };
        assert_eq!(serve(&mut io, &mut card).expect("serve"), 1);
        let atr_len = usize::from(u16::from_be_bytes([io.output[0], io.output[1]]));
        assert_eq!(&io.output[2..2 + atr_len], card.atr());
        let rest = &io.output[2 + atr_len..];
        let len = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
        assert_eq!(rest.len(), 2 + len);
        assert_eq!(&rest[len..], &[0x90, 0x00]);
    }

    #[test]
    fn refuses_oversized_and_unknown_messages() {
        let data = TestData::embedded();
        let mut card = VirtualCard::new(data.card("default").expect("card"), &data.issuer.imk_ac).expect("card");
        let mut io = Duplex { input: Cursor::new(vec![0x10, 0x00]), output: Vec::new() };
        assert_eq!(serve(&mut io, &mut card).expect_err("too long").kind(), io::ErrorKind::InvalidData);
        let mut io = Duplex { input: Cursor::new(framed(&[&[9]])), output: Vec::new() };
        assert_eq!(serve(&mut io, &mut card).expect_err("unknown").kind(), io::ErrorKind::InvalidData);
    }
}
