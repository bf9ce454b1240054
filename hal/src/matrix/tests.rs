use super::fake::{FakeMatrix, Press};
use super::*;

const MS: Duration = Duration::from_millis(1);

fn press(key: &str, down_ms: u64, held_ms: u64) -> Press {
    let map = KeyMap::standard();
    let wanted = keymap_key(key);
    let (row, col) = (0..4).flat_map(|r| (0..4).map(move |c| (r, c))).find(|&(r, c)| map.key(r, c) == wanted).expect("key on the standard map");
    Press { row, col, down: MS * down_ms as u32, up: MS * (down_ms + held_ms) as u32, bounce: MS * 5 }
}

fn keymap_key(k: &str) -> MatrixKey {
    KeyMap::parse(&[k]).expect("key").key(0, 0)
}

fn keypad(presses: Vec<Press>) -> MatrixKeypad<FakeMatrix> {
    MatrixKeypad::new(FakeMatrix::new(4, 4, presses), KeyMap::standard(), Timing::default()).expect("keypad")
}

/// Everything the keypad reports within `total`.
fn drain(kp: &mut MatrixKeypad<FakeMatrix>, total: Duration) -> Vec<KeyPress> {
    let mut out = Vec::new();
    while kp.pins.now() < total {
        if let Some(k) = kp.next_key(Duration::from_millis(250)).expect("scan") {
            out.push(k);
        }
    }
    out
}

#[test]
fn the_model_bounces_with_several_edges_per_press() {
    let p = press("5", 100, 200);
    let edges =
        (0..(p.bounce.as_micros() as u64)).step_by(50).map(|us| FakeMatrix::new(4, 4, vec![p]).columns_low_at(p.down + Duration::from_micros(us), Rows::All)).collect::<Vec<_>>();
    let changes = edges.windows(2).filter(|w| w[0] != w[1]).count();
    assert!(changes >= 4, "the model must chatter: {changes} changes");
}

#[test]
fn a_bouncing_press_gives_one_key() {
    let mut kp = keypad(vec![press("5", 100, 120)]);
    assert_eq!(drain(&mut kp, MS * 1000), vec![KeyPress::Digit(5)]);
}

#[test]
fn a_typed_pin_comes_out_in_order_without_repeats() {
    let keys = ["1", "2", "3", "4", "#"];
    let presses = keys.iter().enumerate().map(|(i, k)| press(k, 100 + 200 * i as u64, 90)).collect();
    let mut kp = keypad(presses);
    let got = drain(&mut kp, MS * 1500);
    assert_eq!(got, vec![KeyPress::Digit(1), KeyPress::Digit(2), KeyPress::Digit(3), KeyPress::Digit(4), KeyPress::Enter]);
}

#[test]
fn a_glitch_shorter_than_the_debounce_is_ignored() {
    let mut glitch = press("7", 100, 8);
    glitch.bounce = MS * 2;
    let mut kp = keypad(vec![glitch]);
    assert_eq!(drain(&mut kp, MS * 600), vec![]);
}

#[test]
fn three_keys_on_a_rectangle_never_read_as_the_ghost_or_any_key() {
    // 1 (0,0), 2 (0,1), 4 (1,0) held together make 5 (1,1) read as pressed.
    let presses = vec![press("1", 100, 300), press("2", 100, 300), press("4", 100, 300)];
    let fake = FakeMatrix::new(4, 4, presses.clone());
    assert_ne!(fake.columns_low_at(MS * 200, Rows::One(1)) & 0b10, 0, "the model must show the ghost");
    let mut kp = keypad(presses);
    assert_eq!(drain(&mut kp, MS * 1000), vec![]);
    // And the keypad works again afterwards.
    let mut kp = keypad(vec![press("1", 100, 300), press("2", 100, 300), press("4", 100, 300), press("9", 700, 80)]);
    assert_eq!(drain(&mut kp, MS * 1200), vec![KeyPress::Digit(9)]);
}

#[test]
fn two_keys_at_once_are_ignored_a_key_pressed_while_another_is_held_too() {
    let mut kp = keypad(vec![press("3", 100, 200), press("6", 100, 200)]);
    assert_eq!(drain(&mut kp, MS * 800), vec![]);
    let mut kp = keypad(vec![press("3", 100, 400), press("6", 200, 100)]);
    assert_eq!(drain(&mut kp, MS * 900), vec![KeyPress::Digit(3)]);
}

#[test]
fn a_long_press_does_not_repeat_and_star_means_clear_short_cancel_long() {
    let mut kp = keypad(vec![press("8", 100, 3000)]);
    assert_eq!(drain(&mut kp, MS * 3500), vec![KeyPress::Digit(8)]);
    let mut kp = keypad(vec![press("*", 100, 150)]);
    assert_eq!(drain(&mut kp, MS * 600), vec![KeyPress::Clear]);
    let mut kp = keypad(vec![press("*", 100, 2500)]);
    assert_eq!(drain(&mut kp, MS * 3000), vec![KeyPress::Cancel]);
}

#[test]
fn next_key_times_out_on_time_and_a_later_press_is_kept() {
    let mut kp = keypad(vec![press("0", 2500, 100)]);
    assert_eq!(kp.next_key(MS * 2000).expect("scan"), None);
    let waited = kp.pins.now();
    assert!(waited >= MS * 2000 && waited < MS * 2100, "timed out at {waited:?}");
    assert_eq!(kp.next_key(MS * 2000).expect("scan"), Some(KeyPress::Digit(0)));
}

#[test]
fn idle_waiting_sleeps_on_edges_instead_of_scanning() {
    let mut kp = keypad(vec![]);
    assert_eq!(kp.next_key(MS * 5000).expect("scan"), None);
    assert_eq!(kp.pins.row_selects, 0, "no scan without an edge");
}

#[test]
fn a_key_map_that_does_not_fit_the_pins_or_is_malformed_is_refused() {
    assert!(MatrixKeypad::new(FakeMatrix::new(3, 4, vec![]), KeyMap::standard(), Timing::default()).is_err());
    assert!(KeyMap::parse(&["1 2 3", "4 5"]).is_err());
    let err = KeyMap::parse(&["1 2 X"]).expect_err("unknown key");
    assert!(err.to_string().contains("\"X\""), "{err}");
}

#[test]
fn function_keys_pass_through() {
    let mut kp = keypad(vec![press("F2", 100, 100)]);
    assert_eq!(drain(&mut kp, MS * 500), vec![KeyPress::Function(2)]);
}
