//! APDU exchange with the card the way EMV Book 1 asks of a terminal over
//! T=0: `61 xx` means "fetch the response with GET RESPONSE", `6C xx` means
//! "send the command again with Le = xx". The reader passes status words
//! through; this module hides them from the rest of the kernel.

use super::KernelError;
use smartpos_hal::CardReader;

/// A response: data and the final status word.
#[derive(Debug)]
pub struct Response {
    pub data: Vec<u8>,
    pub sw: u16,
}

impl Response {
    pub fn ok(&self) -> bool {
        self.sw == 0x9000
    }
}

/// Most `61 xx` chains followed before the card is called broken.
const MAX_CHAIN: usize = 16;

/// Sends `cla ins p1 p2 [data] [le]` and returns the complete response.
pub fn command(reader: &mut dyn CardReader, header: [u8; 4], data: Option<&[u8]>, le: Option<u8>) -> Result<Response, KernelError> {
    let mut apdu = header.to_vec();
    if let Some(d) = data {
        let lc = u8::try_from(d.len()).map_err(|_| KernelError::Card("command data longer than 255 bytes".into()))?;
        apdu.push(lc);
        apdu.extend_from_slice(d);
    }
    if let Some(le) = le {
        apdu.push(le);
    }
    let mut resp = split(reader.transmit(&apdu)?)?;
    if resp.sw >> 8 == 0x6C {
        // Wrong Le: repeat with the length the card named.
        if le.is_some() {
            apdu.pop();
        }
        apdu.push(resp.sw as u8);
        resp = split(reader.transmit(&apdu)?)?;
    }
    let mut data_out = std::mem::take(&mut resp.data);
    let mut chained = 0;
    while resp.sw >> 8 == 0x61 {
        chained += 1;
        if chained > MAX_CHAIN {
            return Err(KernelError::Card("the card keeps answering 61xx".into()));
        }
        resp = split(reader.transmit(&[0x00, 0xC0, 0x00, 0x00, resp.sw as u8])?)?;
        data_out.extend_from_slice(&resp.data);
    }
    Ok(Response { data: data_out, sw: resp.sw })
}

fn split(mut raw: Vec<u8>) -> Result<Response, KernelError> {
    if raw.len() < 2 {
        return Err(KernelError::Card(format!("response of {} bytes has no status word", raw.len())));
    }
    let sw2 = raw.pop().unwrap_or(0);
    let sw1 = raw.pop().unwrap_or(0);
    Ok(Response { data: raw, sw: u16::from(sw1) << 8 | u16::from(sw2) })
}
