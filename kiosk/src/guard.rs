//! The operator PIN in front of void, refund, settle and unbind: compared
//! in constant time, and after five wrong tries in a row every try is
//! refused for a minute (a customer at the counter cannot guess it). With
//! no PIN configured every guarded call is refused, saying where to set it.

use std::sync::Mutex;
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

const TRIES: u32 = 5;
const LOCKOUT: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    NotSet,
    Wrong { left: u32 },
    Locked { seconds: u64 },
}

pub struct Guard {
    pin: Option<Zeroizing<String>>,
    state: Mutex<(u32, Option<Instant>)>,
}

impl std::fmt::Debug for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Guard(..)")
    }
}

fn same(a: &[u8], b: &[u8]) -> bool {
    // Length is no secret (4–8 digits); the bytes are compared without an early exit.
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Guard {
    pub fn new(pin: Option<Zeroizing<String>>) -> Self {
        Self { pin, state: Mutex::new((0, None)) }
    }

    pub fn check(&self, offered: &str) -> Result<(), Refusal> {
        self.check_at(offered, Instant::now())
    }

    fn check_at(&self, offered: &str, now: Instant) -> Result<(), Refusal> {
        let Some(pin) = self.pin.as_ref() else { return Err(Refusal::NotSet) };
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(until) = st.1 {
            if now < until {
                return Err(Refusal::Locked { seconds: until.duration_since(now).as_secs().max(1) });
            }
            *st = (0, None);
        }
        if same(offered.as_bytes(), pin.as_bytes()) {
            *st = (0, None);
            return Ok(());
        }
        st.0 += 1;
        if st.0 >= TRIES {
            st.1 = Some(now + LOCKOUT);
            return Err(Refusal::Locked { seconds: LOCKOUT.as_secs() });
        }
        Err(Refusal::Wrong { left: TRIES - st.0 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_wrong_lock_for_a_minute_then_the_right_pin_works() {
        let g = Guard::new(Some(Zeroizing::new("2580".into())));
        let t0 = Instant::now();
        assert_eq!(g.check_at("2580", t0), Ok(()));
        for left in [4, 3, 2, 1] {
            assert_eq!(g.check_at("0000", t0), Err(Refusal::Wrong { left }));
        }
        assert_eq!(g.check_at("0000", t0), Err(Refusal::Locked { seconds: 60 }));
        assert!(matches!(g.check_at("2580", t0 + Duration::from_secs(30)), Err(Refusal::Locked { .. })), "even the right PIN while locked");
        assert_eq!(g.check_at("2580", t0 + Duration::from_secs(61)), Ok(()));
        assert_eq!(g.check_at("258", t0 + Duration::from_secs(61)), Err(Refusal::Wrong { left: 4 }));
        assert_eq!(g.check_at("25800", t0 + Duration::from_secs(61)), Err(Refusal::Wrong { left: 3 }));
    }

    #[test]
    fn without_a_configured_pin_nothing_passes() {
        let g = Guard::new(None);
        for offered in ["", "0000", "2580"] {
            assert_eq!(g.check(offered), Err(Refusal::NotSet));
        }
    }
}
