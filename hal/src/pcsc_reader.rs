//! The PC/SC card reader: pcsc-lite through the `pcsc` crate, as on a
//! terminal with a CCID reader (or, in tests, the vpcd virtual reader).
//!
//! The reader is picked by a name pattern from the configuration (the first
//! reader whose name contains it, ignoring case; empty = the first reader),
//! never one that matches the other reader's pattern: a terminal with a
//! contact and a contactless reader tells them apart by name, not by ATR
//! (§10: a contact card's ATR can read as contactless).
//! Readers that come and go are followed through the PnP notification
//! reader. Every blocking pcsc-lite wait is cut into short slices so a
//! [`Cancel`] is honoured within [`SLICE`]; the engine runs on its own
//! thread, so these waits never block the async runtime.
//!
//! Stale handles: when pcscd restarts or the reader is unplugged, pcsc-lite
//! answers `NoService`, `InvalidHandle`, `ReaderUnavailable`…; the backend
//! then drops its context and card and establishes them again on the next
//! call. Status words pass through unchanged: the EMV kernel resolves
//! `61xx` / `6Cxx` for every backend alike.

use crate::Cancel;
use crate::reader::{CardReader, ReaderError, ReaderInfo};
use pcsc::{Card, Context, Disposition, Error as PcscError, PNP_NOTIFICATION, Protocols, ReaderState, Scope, ShareMode, State};
use std::ffi::CString;
use std::time::{Duration, Instant};

/// Longest single blocking call into pcsc-lite.
pub const SLICE: Duration = Duration::from_millis(200);
/// How long after a failed exchange the reader may take to report the
/// card gone (pcscd polls the slot).
const REMOVAL_GRACE: Duration = Duration::from_millis(600);

pub struct PcscReader {
    pattern: String,
    /// A reader whose name contains this is the other reader's (empty: none).
    exclude: String,
    ctx: Option<Context>,
    reader: Option<CString>,
    card: Option<Card>,
}

impl std::fmt::Debug for PcscReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PcscReader").field("pattern", &self.pattern).field("reader", &self.reader).field("connected", &self.card.is_some()).finish()
    }
}

impl PcscReader {
    /// A reader matching `pattern`; nothing is opened until first use, so a
    /// terminal starts even while pcscd or the reader is not there yet.
    pub fn new(pattern: &str) -> Self {
        Self { pattern: pattern.to_lowercase(), exclude: String::new(), ctx: None, reader: None, card: None }
    }

    /// Never takes a reader whose name contains `other` (the other reader's pattern).
    pub fn excluding(mut self, other: &str) -> Self {
        self.exclude = other.to_lowercase();
        self
    }

    /// Forgets every handle after pcscd or the reader went away.
    fn forget(&mut self) {
        self.card = None;
        self.reader = None;
        self.ctx = None;
    }

    fn context(&mut self) -> Result<&Context, ReaderError> {
        if let Some(ctx) = &self.ctx
            && ctx.is_valid().is_err()
        {
            self.forget();
        }
        if self.ctx.is_none() {
            let ctx = Context::establish(Scope::System).map_err(|e| ReaderError::NoReader(format!("pcscd is not reachable ({e})")))?;
            self.ctx = Some(ctx);
        }
        self.ctx.as_ref().ok_or_else(|| ReaderError::NoReader("no PC/SC context".into()))
    }

    /// The matching reader's name, if one is plugged in now.
    fn find_reader(&mut self) -> Result<Option<CString>, ReaderError> {
        let pattern = self.pattern.clone();
        let readers = match self.context()?.list_readers_owned() {
            Ok(r) => r,
            Err(PcscError::NoReadersAvailable) => Vec::new(),
            Err(e) => return Err(self.lost(e)),
        };
        let exclude = self.exclude.clone();
        let found = readers.into_iter().find(|r| {
            let name = r.to_string_lossy().to_lowercase();
            name.contains(&pattern) && (exclude.is_empty() || !name.contains(&exclude))
        });
        self.reader.clone_from(&found);
        Ok(found)
    }

    /// Maps a pcsc-lite error, dropping handles that can no longer work.
    fn lost(&mut self, e: PcscError) -> ReaderError {
        match e {
            PcscError::RemovedCard | PcscError::NoSmartcard | PcscError::ResetCard | PcscError::UnpoweredCard => {
                self.card = None;
                ReaderError::CardRemoved
            }
            PcscError::NoService | PcscError::ServiceStopped | PcscError::InvalidHandle | PcscError::ReaderUnavailable | PcscError::UnknownReader | PcscError::CommError => {
                self.forget();
                ReaderError::NoReader(format!("the card reader went away ({e})"))
            }
            other => ReaderError::Io(other.to_string()),
        }
    }

    /// Waits at most `slice` for the reader list to change.
    fn wait_for_readers(&mut self, slice: Duration) -> Result<(), ReaderError> {
        let mut pnp = [ReaderState::new(PNP_NOTIFICATION(), State::UNAWARE)];
        let ctx = self.context()?;
        // The first call learns the current state, the second waits for a change.
        let first = ctx.get_status_change(Duration::ZERO, &mut pnp);
        match first.and_then(|()| {
            pnp[0].sync_current_state();
            ctx.get_status_change(slice, &mut pnp)
        }) {
            Ok(()) | Err(PcscError::Timeout) => Ok(()),
            // Old pcsc-lite without PnP support: plain polling.
            Err(PcscError::UnknownReader) => {
                std::thread::sleep(slice);
                Ok(())
            }
            Err(e) => Err(self.lost(e)),
        }
    }

    /// The reader's state once `done(state)` holds, or when `wait` is over
    /// (zero: the state now), with the card's ATR.
    fn reader_state_until(&mut self, name: &CString, wait: Duration, done: fn(State) -> bool) -> Result<(State, Vec<u8>), ReaderError> {
        let mut states = [ReaderState::new(name.clone(), State::UNAWARE)];
        let ctx = self.context()?;
        let deadline = Instant::now() + wait;
        let mut result = ctx.get_status_change(Duration::ZERO, &mut states);
        while result.is_ok() && !done(states[0].event_state()) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            states[0].sync_current_state();
            result = ctx.get_status_change(left, &mut states);
        }
        match result {
            Ok(()) | Err(PcscError::Timeout) => Ok((states[0].event_state(), states[0].atr().to_vec())),
            Err(e) => Err(self.lost(e)),
        }
    }

    /// Whether the card leaves the reader within `grace`.
    fn card_gone_within(&mut self, grace: Duration) -> Result<bool, ReaderError> {
        let Some(name) = self.reader.clone() else { return Ok(true) };
        let (state, _) = self.reader_state_until(&name, grace, |s| !s.contains(State::PRESENT))?;
        Ok(!state.contains(State::PRESENT))
    }
}

impl CardReader for PcscReader {
    fn wait_card(&mut self, timeout: Duration, cancel: &Cancel) -> Result<Vec<u8>, ReaderError> {
        // A card left from an earlier transaction is reset, so every
        // transaction starts from a fresh selection.
        // A card that left meanwhile is let go without a reset: resetting a
        // slot whose card is gone was seen to wedge vpcd's slot.
        if let Some(card) = self.card.take() {
            let disposition = if card.status2_owned().is_ok() { Disposition::ResetCard } else { Disposition::LeaveCard };
            let _ = card.disconnect(disposition);
        }
        let deadline = Instant::now() + timeout;
        let mut last_problem: Option<ReaderError> = None;
        loop {
            if cancel.is_cancelled() {
                return Err(ReaderError::Cancelled);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(match last_problem {
                    Some(problem @ ReaderError::NoReader(_)) => problem,
                    _ => ReaderError::Timeout,
                });
            }
            let slice = left.min(SLICE);
            let attempt = self.find_reader().and_then(|reader| match reader {
                None => {
                    self.wait_for_readers(slice)?;
                    Err(ReaderError::NoReader(format!("no card reader matching {:?} is connected", self.pattern)))
                }
                Some(name) => {
                    let (state, seen_atr) = self.reader_state_until(&name, slice, |s| s.contains(State::PRESENT))?;
                    if !state.contains(State::PRESENT) || state.contains(State::MUTE) {
                        return Ok(None);
                    }
                    let ctx = self.context()?;
                    match ctx.connect(&name, ShareMode::Shared, Protocols::ANY) {
                        Ok(card) => {
                            let atr = card.status2_owned().map(|s| s.atr().to_vec()).unwrap_or(seen_atr);
                            self.card = Some(card);
                            Ok(Some(atr))
                        }
                        // The card left again, or is still powering up.
                        Err(PcscError::NoSmartcard | PcscError::RemovedCard | PcscError::UnresponsiveCard) => Ok(None),
                        Err(e) => Err(self.lost(e)),
                    }
                }
            });
            match attempt {
                Ok(Some(atr)) => return Ok(atr),
                Ok(None) => {}
                Err(problem @ ReaderError::NoReader(_)) => {
                    // pcscd restarting or the reader unplugged: keep trying until the deadline.
                    if self.ctx.is_none() {
                        std::thread::sleep(slice);
                    }
                    last_problem = Some(problem);
                }
                Err(other) => return Err(other),
            }
        }
    }

    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, ReaderError> {
        let mut buf = [0u8; pcsc::MAX_BUFFER_SIZE_EXTENDED];
        let result = match &self.card {
            None => return Err(ReaderError::CardRemoved),
            Some(card) => card.transmit(apdu, &mut buf).map(<[u8]>::to_vec),
        };
        match result {
            Ok(r) => Ok(r),
            // Drivers differ in what a pulled card looks like (vpcd answers
            // `NotTransacted`): ask the reader before calling it an I/O error.
            Err(e) => match self.lost(e) {
                ReaderError::Io(why) => match self.card_gone_within(REMOVAL_GRACE) {
                    Ok(true) => {
                        self.card = None;
                        Err(ReaderError::CardRemoved)
                    }
                    _ => Err(ReaderError::Io(why)),
                },
                other => Err(other),
            },
        }
    }

    fn card_present(&mut self) -> Result<bool, ReaderError> {
        let Some(name) = self.reader.clone().or(self.find_reader()?) else { return Ok(false) };
        let (state, _) = self.reader_state_until(&name, Duration::ZERO, |_| true)?;
        Ok(state.contains(State::PRESENT))
    }

    fn info(&self) -> ReaderInfo {
        let name = self.reader.as_ref().map(|r| r.to_string_lossy().into_owned()).unwrap_or_default();
        ReaderInfo { backend: "pcsc", name }
    }
}
