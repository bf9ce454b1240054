//! A USB HID scanner in keyboard mode types its code as key presses: the
//! US layout turns them back into the characters the scanner meant (the
//! scanner's own setting is US in every factory default we know; a scanner
//! set to another layout shows up as a line that is not a code). Digits
//! come from the top row or the keypad, Enter (either) ends the line,
//! Shift selects upper case and the shifted symbols. Keys with no character
//! become a byte the line framer refuses as "not text", so a mis-set
//! scanner gets a clear error rather than a shortened code.

use evdev::KeyCode;

/// The byte a key with no character stands for (not printable: the line is refused).
pub const NO_CHARACTER: u8 = 0x00;

#[derive(Debug, Default)]
pub struct UsKeymap {
    left_shift: bool,
    right_shift: bool,
}

impl UsKeymap {
    /// One key event (`value` 1 press, 0 release, 2 auto-repeat): the
    /// character it types, if any. Auto-repeat types again, as on a console.
    pub fn key(&mut self, code: KeyCode, value: i32) -> Option<u8> {
        match code {
            KeyCode::KEY_LEFTSHIFT => self.left_shift = value != 0,
            KeyCode::KEY_RIGHTSHIFT => self.right_shift = value != 0,
            _ if value == 0 => {}
            _ => return Some(self.character(code)),
        }
        None
    }

    fn character(&self, code: KeyCode) -> u8 {
        let shift = self.left_shift || self.right_shift;
        let digits =
            [KeyCode::KEY_0, KeyCode::KEY_1, KeyCode::KEY_2, KeyCode::KEY_3, KeyCode::KEY_4, KeyCode::KEY_5, KeyCode::KEY_6, KeyCode::KEY_7, KeyCode::KEY_8, KeyCode::KEY_9];
        let shifted_digits = *b")!@#$%^&*(";
        let keypad = [
            KeyCode::KEY_KP0,
            KeyCode::KEY_KP1,
            KeyCode::KEY_KP2,
            KeyCode::KEY_KP3,
            KeyCode::KEY_KP4,
            KeyCode::KEY_KP5,
            KeyCode::KEY_KP6,
            KeyCode::KEY_KP7,
            KeyCode::KEY_KP8,
            KeyCode::KEY_KP9,
        ];
        if let Some(d) = digits.iter().position(|k| *k == code) {
            return if shift { shifted_digits.get(d).copied().unwrap_or(NO_CHARACTER) } else { b'0' + d as u8 };
        }
        if let Some(d) = keypad.iter().position(|k| *k == code) {
            return b'0' + d as u8;
        }
        let letters = "QWERTYUIOPASDFGHJKLZXCVBNM";
        let letter_keys = [
            KeyCode::KEY_Q,
            KeyCode::KEY_W,
            KeyCode::KEY_E,
            KeyCode::KEY_R,
            KeyCode::KEY_T,
            KeyCode::KEY_Y,
            KeyCode::KEY_U,
            KeyCode::KEY_I,
            KeyCode::KEY_O,
            KeyCode::KEY_P,
            KeyCode::KEY_A,
            KeyCode::KEY_S,
            KeyCode::KEY_D,
            KeyCode::KEY_F,
            KeyCode::KEY_G,
            KeyCode::KEY_H,
            KeyCode::KEY_J,
            KeyCode::KEY_K,
            KeyCode::KEY_L,
            KeyCode::KEY_Z,
            KeyCode::KEY_X,
            KeyCode::KEY_C,
            KeyCode::KEY_V,
            KeyCode::KEY_B,
            KeyCode::KEY_N,
            KeyCode::KEY_M,
        ];
        if let Some(i) = letter_keys.iter().position(|k| *k == code) {
            let upper = letters.as_bytes().get(i).copied().unwrap_or(NO_CHARACTER);
            return if shift { upper } else { upper.to_ascii_lowercase() };
        }
        let (plain, shifted) = match code {
            KeyCode::KEY_ENTER | KeyCode::KEY_KPENTER => (b'\r', b'\r'),
            KeyCode::KEY_SPACE => (b' ', b' '),
            KeyCode::KEY_MINUS | KeyCode::KEY_KPMINUS => (b'-', b'_'),
            KeyCode::KEY_EQUAL => (b'=', b'+'),
            KeyCode::KEY_SLASH | KeyCode::KEY_KPSLASH => (b'/', b'?'),
            KeyCode::KEY_DOT | KeyCode::KEY_KPDOT => (b'.', b'>'),
            KeyCode::KEY_COMMA => (b',', b'<'),
            KeyCode::KEY_SEMICOLON => (b';', b':'),
            KeyCode::KEY_APOSTROPHE => (b'\'', b'"'),
            KeyCode::KEY_LEFTBRACE => (b'[', b'{'),
            KeyCode::KEY_RIGHTBRACE => (b']', b'}'),
            KeyCode::KEY_BACKSLASH => (b'\\', b'|'),
            KeyCode::KEY_GRAVE => (b'`', b'~'),
            KeyCode::KEY_KPASTERISK => (b'*', b'*'),
            KeyCode::KEY_KPPLUS => (b'+', b'+'),
            _ => (NO_CHARACTER, NO_CHARACTER),
        };
        if shift { shifted } else { plain }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(events: &[(KeyCode, i32)]) -> Vec<u8> {
        let mut m = UsKeymap::default();
        events.iter().filter_map(|(k, v)| m.key(*k, *v)).collect()
    }

    fn press(k: KeyCode) -> [(KeyCode, i32); 2] {
        [(k, 1), (k, 0)]
    }

    #[test]
    fn a_scanned_code_types_back_as_its_digits_and_enter() {
        let mut events = Vec::new();
        for k in [KeyCode::KEY_6, KeyCode::KEY_2, KeyCode::KEY_KP5, KeyCode::KEY_9, KeyCode::KEY_0, KeyCode::KEY_ENTER] {
            events.extend(press(k));
        }
        assert_eq!(typed(&events), b"62590\r");
    }

    #[test]
    fn shift_letters_symbols_and_keys_without_a_character() {
        let mut events = vec![(KeyCode::KEY_LEFTSHIFT, 1)];
        events.extend(press(KeyCode::KEY_H));
        events.extend(press(KeyCode::KEY_1));
        events.push((KeyCode::KEY_LEFTSHIFT, 0));
        events.extend(press(KeyCode::KEY_H));
        events.extend(press(KeyCode::KEY_SLASH));
        events.extend(press(KeyCode::KEY_F1));
        events.push((KeyCode::KEY_3, 1));
        events.push((KeyCode::KEY_3, 2));
        events.push((KeyCode::KEY_3, 0));
        assert_eq!(typed(&events), [b'H', b'!', b'h', b'/', NO_CHARACTER, b'3', b'3']);
    }
}
