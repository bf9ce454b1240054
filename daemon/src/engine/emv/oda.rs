//! Offline data authentication (SDA / DDA / CDA, EMV Book 2). Not
//! implemented yet: this is the seam for it. A real implementation needs
//! the CA public keys of the schemes (delivered by the acquirer's parameter
//! download) and recovers the issuer and ICC keys from the card's
//! certificates. Until then every card is "ODA not performed", which the
//! action codes decide on.

use super::card::CardApp;
use super::tvr::{ODA_NOT_PERFORMED, Tvr};

/// The result of offline data authentication.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OdaOutcome {
    NotPerformed,
}

pub trait OfflineDataAuth: Send + std::fmt::Debug {
    fn authenticate(&self, app: &CardApp, tvr: &mut Tvr) -> OdaOutcome;
}

/// The only authenticator so far: marks ODA as not performed.
#[derive(Debug, Default)]
pub struct NoOda;

impl OfflineDataAuth for NoOda {
    fn authenticate(&self, _app: &CardApp, tvr: &mut Tvr) -> OdaOutcome {
        tvr.set(ODA_NOT_PERFORMED);
        OdaOutcome::NotPerformed
    }
}
