//! A reader slot a test or the D-Bus `Simulator` interface puts a virtual
//! card into and takes it out of, from any thread. The same slot serves the
//! contactless field: a tapped card ([`VirtualCard::contactless`]) leaves
//! it by itself once read (`pulled_now`).

use crate::Cancel;
use crate::reader::{CardReader, ReaderError, ReaderInfo};
use smartpos_vcard::card::VirtualCard;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The shared slot: insert and remove cards while the reader waits.
#[derive(Debug, Clone, Default)]
pub struct CardSlot(Arc<(Mutex<Option<VirtualCard>>, Condvar)>);

impl CardSlot {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Option<VirtualCard>> {
        self.0.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Inserts `card` (replacing any) and powers it up.
    pub fn insert(&self, mut card: VirtualCard) {
        card.reset();
        *self.lock() = Some(card);
        self.0.1.notify_all();
    }

    /// Takes the card out, returning it (its ATC persists for the next insert).
    pub fn remove(&self) -> Option<VirtualCard> {
        let card = self.lock().take();
        self.0.1.notify_all();
        card
    }

    pub fn is_present(&self) -> bool {
        self.lock().is_some()
    }

    /// Runs `f` on the card in the slot, if any.
    pub fn with_card<T>(&self, f: impl FnOnce(&mut VirtualCard) -> T) -> Option<T> {
        self.lock().as_mut().map(f)
    }
}

/// The simulated reader over a [`CardSlot`].
#[derive(Debug, Clone)]
pub struct SimReader {
    slot: CardSlot,
    name: &'static str,
}

impl SimReader {
    pub fn new(slot: CardSlot) -> Self {
        Self { slot, name: "Simulated EMV reader" }
    }

    /// The simulated contactless reader (its cards are tapped, not inserted).
    pub fn contactless(slot: CardSlot) -> Self {
        Self { slot, name: "Simulated contactless reader" }
    }
}

const POLL: Duration = Duration::from_millis(50);

impl CardReader for SimReader {
    fn wait_card(&mut self, timeout: Duration, cancel: &Cancel) -> Result<Vec<u8>, ReaderError> {
        let deadline = Instant::now() + timeout;
        let mut guard = self.slot.lock();
        loop {
            if let Some(card) = guard.as_mut() {
                return Ok(card.atr().to_vec());
            }
            if cancel.is_cancelled() {
                return Err(ReaderError::Cancelled);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(ReaderError::Timeout);
            }
            guard = self.slot.0.1.wait_timeout(guard, left.min(POLL)).map(|(g, _)| g).unwrap_or_else(|p| p.into_inner().0);
        }
    }

    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, ReaderError> {
        let (answer, pulled) = self.slot.with_card(|c| (c.transmit(apdu), c.pulled_now())).ok_or(ReaderError::CardRemoved)?;
        if pulled {
            self.slot.remove();
        }
        Ok(answer)
    }

    fn card_present(&mut self) -> Result<bool, ReaderError> {
        Ok(self.slot.is_present())
    }

    fn info(&self) -> ReaderInfo {
        ReaderInfo { backend: "simulator", name: self.name.into() }
    }
}
