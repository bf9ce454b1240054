//! The forms a digit string (a PAN, a payment code) takes when it leaks into
//! bytes: ASCII, packed BCD padded with `0` or `F`, and the hex of its ASCII
//! — what the tests' secret scans look for in files, logs, the bus and the
//! printer's stream.

/// `(form's name, bytes)` for `digits`.
pub fn digit_forms(digits: &str) -> Vec<(&'static str, Vec<u8>)> {
    let bcd = |pad: char| {
        let mut d = digits.to_string();
        if d.len() % 2 == 1 {
            d.push(pad);
        }
        hex::decode(d).expect("digits")
    };
    vec![("ASCII", digits.as_bytes().to_vec()), ("BCD 0", bcd('0')), ("BCD F", bcd('F')), ("hex", hex::encode(digits).into_bytes())]
}

/// Whether `needle` occurs in `hay`.
pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}
