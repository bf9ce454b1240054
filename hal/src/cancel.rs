//! A flag another thread raises to stop a wait (card, PIN) early: the
//! D-Bus `Cancel()` call sets it, the engine and the drivers poll it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// Lowers the flag at the start of a new operation.
    pub fn reset(&self) {
        self.0.store(false, Ordering::SeqCst);
    }
}
