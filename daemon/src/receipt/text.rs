//! A [`Receipt`] as plain text at a paper width in columns (32 for 58 mm
//! paper, 48 for 80 mm), the way the printer lays it out: a CJK character
//! takes two columns, as in the printer's Chinese mode. The QR code shows as
//! its content in brackets; the signature as blank space and a rule.

use super::{Line, Receipt};

/// Columns of 58 mm paper at the printer's standard font (12×24 dots).
pub const WIDTH_58MM: usize = 32;
/// Columns of 80 mm paper.
pub const WIDTH_80MM: usize = 48;

/// Columns `c` takes on the paper: 2 for CJK and full-width forms, else 1.
pub fn char_width(c: char) -> usize {
    match c as u32 {
        0x1100..=0x115F | 0x2E80..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF | 0xFE30..=0xFE4F | 0xFF00..=0xFF60 | 0xFFE0..=0xFFE6 => 2,
        _ => 1,
    }
}

pub fn width(s: &str) -> usize {
    s.chars().map(char_width).sum()
}

/// `s` cut into pieces of at most `cols` columns.
pub fn wrap(s: &str, cols: usize) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut used = 0;
    for c in s.chars() {
        let w = char_width(c);
        if used + w > cols && used > 0 {
            out.push(String::new());
            used = 0;
        }
        if let Some(last) = out.last_mut() {
            last.push(c);
        }
        used += w;
    }
    out
}

fn centre(s: &str, cols: usize) -> Vec<String> {
    wrap(s, cols).into_iter().map(|piece| format!("{}{piece}", " ".repeat(cols.saturating_sub(width(&piece)) / 2))).collect()
}

/// The label left, the value right on one line when both fit, else the
/// value right-aligned on the next.
pub fn pair(label: &str, value: &str, cols: usize) -> Vec<String> {
    if value.is_empty() {
        return wrap(label, cols);
    }
    let (lw, vw) = (width(label), width(value));
    if lw + 1 + vw <= cols {
        return vec![format!("{label}{}{value}", " ".repeat(cols - lw - vw))];
    }
    let mut out = wrap(label, cols);
    out.extend(wrap(value, cols).into_iter().map(|v| format!("{}{v}", " ".repeat(cols.saturating_sub(width(&v))))));
    out
}

/// The slip as lines of at most `cols` columns.
pub fn lines(r: &Receipt, cols: usize) -> Vec<String> {
    let mut out = Vec::new();
    for line in &r.lines {
        match line {
            Line::Title(t) | Line::Centre(t) => out.extend(centre(t, cols)),
            Line::Pair(label, value) => out.extend(pair(label, value, cols)),
            Line::Amount(t) | Line::Text(t) => out.extend(wrap(t, cols)),
            Line::Rule => out.push("-".repeat(cols)),
            Line::Signature => {
                out.extend([String::new(), String::new()]);
                out.push("_".repeat(cols));
            }
            Line::Qr(content) => out.extend(centre(&format!("[QR {content}]"), cols)),
        }
    }
    out
}

/// The slip as one string (`Payment.Receipt`).
pub fn render(r: &Receipt, cols: usize) -> String {
    let mut s = lines(r, cols).join("\n");
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cjk_takes_two_columns_and_nothing_passes_the_width() {
        assert_eq!((width("商户 AB"), width("，")), (7, 2));
        assert_eq!(pair("卡号 CARD NO", "622848******8315", 32), vec!["卡号 CARD NO    622848******8315".to_string()]);
        let long = pair("应用标签 APP LABEL", "UnionPay Debit Platinum Gold", 32);
        assert_eq!(long.len(), 2, "{long:?}");
        for piece in wrap("本人确认以上交易，同意将其记入本卡账户", 32).iter().chain(&long) {
            assert!(width(piece) <= 32, "{piece:?}");
        }
        assert_eq!(wrap("本人确认以上交易，同意将其记入本卡账户", 32).len(), 2, "19 wide characters need two lines of 32 columns");
    }
}
