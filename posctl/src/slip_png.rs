//! `posctl receipt STAN --png FILE`: the slip as an image of the paper, for
//! a developer or a support person who would rather look than read. The
//! text slip (32 columns, 58 mm) is laid on the printer's grid — 384 dots
//! across at 203 dpi, 12 dots per column, a CJK character two columns, 24-dot
//! glyphs as the printer's standard font — in a CJK font with half-width
//! Latin (WenQuanYi Zen Hei Mono, Debian `fonts-wqy-zenhei`), and the
//! `[QR …]` line drawn as the QR code the printer prints.

use std::path::Path;

/// Dots across 58 mm paper's printable width.
const PAPER_DOTS: usize = 384;
const COLUMN: usize = 12;
const GLYPH: f32 = 24.0;
const LINE: usize = 30;
const MARGIN: usize = 16;
/// Dots per QR module (the printer's `GS ( k` size 6).
const MODULE: usize = 6;

/// Where the font is looked for (the first that exists), with its face in the collection.
const FONTS: &[(&str, u32)] = &[("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 1), ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 0)];

fn is_wide(c: char) -> bool {
    matches!(c as u32, 0x1100..=0x115F | 0x2E80..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF | 0xFE30..=0xFE4F | 0xFF00..=0xFF60 | 0xFFE0..=0xFFE6)
}

struct Canvas {
    w: usize,
    h: usize,
    px: Vec<u8>,
}

impl Canvas {
    fn ink(&mut self, x: usize, y: usize, coverage: u8) {
        if x < self.w
            && let Some(p) = self.px.get_mut(y * self.w + x)
        {
            *p = (*p).min(255 - coverage);
        }
    }

    fn block(&mut self, x: usize, y: usize, size: usize) {
        for dy in 0..size {
            for dx in 0..size {
                self.ink(x + dx, y + dy, 255);
            }
        }
    }
}

fn load_font(font: Option<&Path>) -> Result<fontdue::Font, String> {
    let candidates: Vec<(std::path::PathBuf, u32)> = match font {
        Some(p) => vec![(p.to_path_buf(), 0)],
        None => FONTS.iter().map(|(p, i)| (p.into(), *i)).collect(),
    };
    for (path, index) in &candidates {
        if let Ok(bytes) = std::fs::read(path) {
            let settings = fontdue::FontSettings { collection_index: *index, ..fontdue::FontSettings::default() };
            return fontdue::Font::from_bytes(bytes, settings).map_err(|e| format!("{}: {e}", path.display()));
        }
    }
    Err(format!(
        "no CJK font found (looked for {}); install fonts-wqy-zenhei or name one with --font",
        candidates.iter().map(|c| c.0.display().to_string()).collect::<Vec<_>>().join(", ")
    ))
}

/// Renders `slip` (the text of `Payment.Receipt`) into a PNG at `out`.
pub fn render(slip: &str, out: &Path, font: Option<&Path>) -> Result<(), String> {
    let font = load_font(font)?;
    let lines: Vec<&str> = slip.lines().collect();
    let qr_rows = |l: &str| l.trim().strip_prefix("[QR ").and_then(|r| r.strip_suffix(']')).and_then(|d| qrcode::QrCode::new(d.as_bytes()).ok());
    let height: usize = lines.iter().map(|l| qr_rows(l).map_or(LINE, |q| (q.width() + 8) * MODULE)).sum::<usize>() + 2 * MARGIN;
    let mut c = Canvas { w: PAPER_DOTS + 2 * MARGIN, h: height, px: vec![255; (PAPER_DOTS + 2 * MARGIN) * height] };
    let mut y = MARGIN;
    for line in lines {
        if let Some(q) = qr_rows(line) {
            let n = q.width();
            let x0 = MARGIN + (PAPER_DOTS - n * MODULE) / 2;
            for (i, dark) in q.to_colors().iter().enumerate() {
                if *dark == qrcode::Color::Dark {
                    c.block(x0 + (i % n) * MODULE, y + 4 * MODULE + (i / n) * MODULE, MODULE);
                }
            }
            y += (n + 8) * MODULE;
            continue;
        }
        let baseline = y + 22;
        let mut col = 0;
        for ch in line.chars() {
            let (metrics, bitmap) = font.rasterize(ch, GLYPH);
            let x0 = MARGIN + col * COLUMN;
            for gy in 0..metrics.height {
                for gx in 0..metrics.width {
                    let Some(&cov) = bitmap.get(gy * metrics.width + gx) else { continue };
                    let x = x0 as i64 + metrics.xmin as i64 + gx as i64;
                    let yy = baseline as i64 - metrics.height as i64 - metrics.ymin as i64 + gy as i64;
                    if x >= 0 && yy >= 0 {
                        c.ink(x as usize, yy as usize, cov);
                    }
                }
            }
            col += if is_wide(ch) { 2 } else { 1 };
        }
        y += LINE;
    }
    let file = std::fs::File::create(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let mut enc = png::Encoder::new(std::io::BufWriter::new(file), c.w as u32, c.h as u32);
    enc.set_color(png::ColorType::Grayscale);
    enc.set_depth(png::BitDepth::Eight);
    let mut w = enc.write_header().map_err(|e| e.to_string())?;
    w.write_image_data(&c.px).map_err(|e| e.to_string())
}
