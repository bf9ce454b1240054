//! After the host answered a code sale `Q1` (the customer must confirm on
//! the phone): a status inquiry every 2 s (§11; 61 = the sale's batch and
//! STAN) until the host gives the sale's final answer or the configured
//! limit (`timeouts.code_confirm_ms`) passes. A lost poll reply only means
//! polling on. The sale's reversal record stays on disk all the while — a
//! `Q1` is not a final answer — so a terminal that dies while polling
//! reverses the sale at its next start; the caller reverses it (`98`) when
//! no final answer came. Status inquiries are not reversible: they move no
//! money and are exempt from "a pending reversal is sent first".

use crate::engine::wire::Answer;
use crate::engine::{Engine, EngineResult, Stage};
use smartpos_proto::codec::Message;
use smartpos_proto::exchange::Exchange;
use smartpos_proto::fields::original61::Original;
use std::time::{Duration, Instant};

/// §11: the terminal asks every 2 s.
pub const POLL_EVERY: Duration = Duration::from_secs(2);

/// What the polling ended with.
#[derive(Debug)]
pub(crate) enum Confirmation {
    /// The host's final, authenticated answer to the sale (not `Q1`).
    Final(Box<Answer>),
    /// No final answer within the limit, or the cashier cancelled.
    GaveUp(&'static str),
}

impl Engine {
    /// Polls the host for the outcome of the sale `sale` (its request).
    pub(crate) fn await_customer(&mut self, sale: &Message, batch: u32, stan: u32) -> EngineResult<Confirmation> {
        self.stage(Stage::WaitingCustomer);
        let id = self.bound()?;
        let limit = Duration::from_millis(self.cfg.timeouts.code_confirm_ms);
        let deadline = Instant::now() + limit;
        tracing::info!(stan = %format!("{stan:06}"), limit_ms = limit.as_millis() as u64, "the customer confirms on the phone: polling the host");
        loop {
            if !self.pause(POLL_EVERY.min(deadline.saturating_duration_since(Instant::now()))) {
                return Ok(Confirmation::GaveUp("the payment was cancelled while the customer was confirming"));
            }
            if Instant::now() >= deadline {
                return Ok(Confirmation::GaveUp("the customer did not confirm on the phone in time"));
            }
            let poll_stan = self.advance_stan()?;
            let mut req = self.base_request(Exchange::StatusInquiry, poll_stan, &id, batch);
            for f in [2, 4, 22] {
                if let Some(v) = sale.get(f) {
                    req.set(f, v);
                }
            }
            req.set(61, Original { batch, stan, date: None }.encode());
            // The customer is what the terminal waits for: each poll's own
            // connecting / sending / waiting-host would only flicker.
            let sink = std::mem::replace(&mut self.progress, Box::new(|_| {}));
            let polled = self.exchange(Exchange::StatusInquiry, &req, None);
            self.progress = sink;
            match polled {
                Ok(a) if a.macd && a.code() != "Q1" => return Ok(Confirmation::Final(Box::new(a))),
                Ok(a) => tracing::debug!(response_code = a.code(), authenticated = a.macd, "still waiting for the customer"),
                Err(e) => tracing::info!("status inquiry not answered ({e:?}): polling on"),
            }
            self.stage(Stage::WaitingCustomer);
        }
    }

    /// Sleeps `d` unless the payment is cancelled meanwhile (`false`).
    fn pause(&self, d: Duration) -> bool {
        let until = Instant::now() + d;
        while Instant::now() < until {
            if self.cancel.is_cancelled() {
                return false;
            }
            std::thread::sleep((until - Instant::now()).min(Duration::from_millis(50)));
        }
        !self.cancel.is_cancelled()
    }
}
