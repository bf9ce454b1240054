//! Keys at rest. The database never holds a clear key: TMK, working keys
//! and the terminal's RSA private key are sealed by a [`KeyStore`] before
//! they are written.
//!
//! The first backend, [`FileKeyStore`], keeps a 256-bit device key in a
//! separate 0600 file and seals with XChaCha20-Poly1305 (the key's name is
//! the associated data, so a sealed TMK cannot be passed off as a PIK).
//! It protects a copied database file, not a device an attacker holds:
//! anyone who can read the device key file can open every key. A TPM or a
//! secure element is the stronger backend the trait leaves room for.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// Why a key could not be sealed or opened.
#[derive(Debug, thiserror::Error)]
pub enum KeyStoreError {
    #[error("device key file {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("device key file {path} is readable by others (mode {mode:o}); it must be 0600")]
    Permissions { path: PathBuf, mode: u32 },
    #[error("device key file {0} is not 32 bytes")]
    BadDeviceKey(PathBuf),
    #[error("sealed key {0:?} does not open with this device key (wrong device, or tampered)")]
    Unseal(String),
}

/// Seals and opens keys for storage.
pub trait KeyStore: Send + Sync + std::fmt::Debug {
    /// Seals `clear` under the device key; `name` binds it to its purpose.
    fn seal(&self, name: &str, clear: &[u8]) -> Result<Vec<u8>, KeyStoreError>;
    /// Opens what [`KeyStore::seal`] produced for the same `name`.
    fn open(&self, name: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyStoreError>;
}

/// A device key in a 0600 file.
pub struct FileKeyStore {
    path: PathBuf,
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for FileKeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FileKeyStore({})", self.path.display())
    }
}

impl FileKeyStore {
    /// Opens the device key at `path`, creating it (0600, fresh random)
    /// when it does not exist. Refuses a key file others can read.
    pub fn open_or_create(path: &Path) -> Result<Self, KeyStoreError> {
        let io = |source| KeyStoreError::Io { path: path.to_path_buf(), source };
        if !path.exists() {
            let mut key = Zeroizing::new([0u8; 32]);
            rand::rngs::OsRng.fill_bytes(&mut *key);
            let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).map_err(io)?;
            f.write_all(&*key).map_err(io)?;
            f.sync_all().map_err(io)?;
        }
        let mode = std::fs::metadata(path).map_err(io)?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(KeyStoreError::Permissions { path: path.to_path_buf(), mode });
        }
        let key = Zeroizing::new(std::fs::read(path).map_err(io)?);
        let cipher = XChaCha20Poly1305::new_from_slice(&key).map_err(|_| KeyStoreError::BadDeviceKey(path.to_path_buf()))?;
        Ok(Self { path: path.to_path_buf(), cipher })
    }
}

impl KeyStore for FileKeyStore {
    fn seal(&self, name: &str, clear: &[u8]) -> Result<Vec<u8>, KeyStoreError> {
        let mut nonce = [0u8; 24];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let sealed = self.cipher.encrypt(XNonce::from_slice(&nonce), Payload { msg: clear, aad: name.as_bytes() }).map_err(|_| KeyStoreError::Unseal(name.into()))?;
        Ok([nonce.as_slice(), &sealed].concat())
    }

    fn open(&self, name: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyStoreError> {
        let (nonce, body) = sealed.split_at_checked(24).ok_or_else(|| KeyStoreError::Unseal(name.into()))?;
        self.cipher.decrypt(XNonce::from_slice(nonce), Payload { msg: body, aad: name.as_bytes() }).map(Zeroizing::new).map_err(|_| KeyStoreError::Unseal(name.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_device_key_others_can_read_is_refused() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("device.key");
        FileKeyStore::open_or_create(&path).expect("created");
        assert_eq!(std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777, 0o600, "created 0600");
        FileKeyStore::open_or_create(&path).expect("reopened");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let Err(err) = FileKeyStore::open_or_create(&path).map(|_| ()) else { panic!("a 0644 device key must be refused") };
        let err = err.to_string();
        assert!(err.contains("0600") && err.contains("644"), "{err}");
    }
}
