//! Faults the simulator injects, switchable at run time over the control
//! socket. Each counted fault applies to that many exchanges and then turns
//! itself off; a count of `4294967295` means "until cleared".

use serde::{Deserialize, Serialize};
use smartpos_proto::exchange::Exchange;

/// Count meaning "until cleared".
pub const ALWAYS: u32 = u32::MAX;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Stop listening: connections are refused (ECONNREFUSED).
    pub refuse: bool,
    /// Close the connection after reading a request, before processing it.
    pub drop_request: u32,
    /// Process the request, then close without replying (reply lost).
    pub lose_reply: u32,
    /// Process the request, send half the reply, close (drop mid-reply).
    pub truncate_reply: u32,
    /// Process the request, then wait `delay_ms` before replying.
    pub delay_ms: u64,
    pub delay_count: u32,
    /// Process the request, then corrupt the reply's MAC.
    pub bad_mac: u32,
    /// Process the request, then answer bytes that do not parse.
    pub garbage: u32,
    /// Answer this response code without processing the request.
    pub response_code: Option<String>,
    pub response_code_count: u32,
    /// Only for this exchange (all exchanges when absent).
    pub response_code_for: Option<Exchange>,
    /// Ask the terminal to sign in again (header processing requirement 3).
    pub resign: u32,
    /// The delivery faults above (drop, lose, truncate, delay, bad MAC,
    /// garbage) apply only to requests of this exchange when set (e.g. a
    /// reply lost in the middle of a download).
    pub faults_for: Option<Exchange>,
    /// Ask for a CA key download (header processing requirement 4, §8).
    pub ask_ca_keys: u32,
    /// Ask for an IC parameter download (processing requirement 5).
    pub ask_params: u32,
    /// Answer settlements "not balanced" whatever the totals (forces a batch upload).
    pub unbalanced: u32,
    /// Payment codes (§11): the customer never confirms, so a sale answered
    /// `Q1` stays pending whatever the inquiries.
    pub never_confirm: bool,
}

/// Consumes one use of a counted fault.
pub fn take(count: &mut u32) -> bool {
    match *count {
        0 => false,
        ALWAYS => true,
        _ => {
            *count -= 1;
            true
        }
    }
}

impl Faults {
    /// Whether the response-code override applies to `exchange`, consuming it.
    pub fn take_response_code(&mut self, exchange: Exchange) -> Option<String> {
        let code = self.response_code.clone()?;
        if self.response_code_for.is_some_and(|e| e != exchange) {
            return None;
        }
        if !take(&mut self.response_code_count) {
            return None;
        }
        if self.response_code_count == 0 {
            self.response_code = None;
        }
        Some(code)
    }
}
