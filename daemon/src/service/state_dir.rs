//! The state directory: where it is (`terminal.state_dir`, `--state-dir`
//! or systemd's `$STATE_DIRECTORY`), checked before anything is opened in
//! it, and held by one posd at a time. The lock is an exclusive `flock` on
//! `posd.lock`, which holds the owner's pid: a second posd on the same
//! database refuses to start whatever bus it was pointed at, and says which
//! process has it. The kernel drops the lock when its owner dies, so a
//! crash never leaves a stale lock behind.

use super::Fatal;
use crate::store::Store;
use crate::store::keystore::FileKeyStore;
use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where the state directory is set, for messages that name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Config,
    Flag,
    Systemd,
}

impl Source {
    pub fn key(self) -> &'static str {
        match self {
            Source::Config => "terminal.state_dir",
            Source::Flag => "--state-dir",
            Source::Systemd => "$STATE_DIRECTORY",
        }
    }
}

/// The state directory in force and where it was set.
pub fn resolve(configured: &Path, flag: Option<&Path>) -> (PathBuf, Source) {
    if let Some(dir) = flag {
        return (dir.to_path_buf(), Source::Flag);
    }
    if let Some(dirs) = std::env::var_os("STATE_DIRECTORY") {
        // systemd passes a colon-separated list; posd has one.
        let first = dirs.to_string_lossy().split(':').next().unwrap_or_default().to_string();
        return (PathBuf::from(first), Source::Systemd);
    }
    (configured.to_path_buf(), Source::Config)
}

/// What `--check-config` can know without leaving anything behind: the
/// path is absolute, and is a directory posd can write in, or one it can
/// create (tried with a probe directory in the nearest existing parent,
/// removed again: permission bits alone lie to root and on /proc or a
/// read-only mount).
pub fn check(dir: &Path, source: Source) -> Result<(), String> {
    let key = source.key();
    if dir.as_os_str().is_empty() {
        return Err(format!("{key}: is empty: give the directory posd keeps its database in (default /var/lib/posd)"));
    }
    if !dir.is_absolute() {
        return Err(format!("{key}: {} is a relative path: give an absolute one (default /var/lib/posd)", dir.display()));
    }
    let writable = |d: &Path| -> Result<(), String> {
        let probe = d.join(format!(".posd-check-{}", std::process::id()));
        std::fs::create_dir(&probe).map_err(|e| e.to_string())?;
        let _ = std::fs::remove_dir(&probe);
        Ok(())
    };
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => writable(dir).map_err(|e| format!("{key}: posd cannot write in {} ({e}): give it a directory it owns", dir.display())),
        Ok(_) => Err(format!("{key}: {} is a file, not a directory: give a directory (default /var/lib/posd)", dir.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // posd creates it: its nearest existing parent must take a new directory.
            match dir.ancestors().skip(1).find(|p| p.exists()) {
                Some(p) if !p.is_dir() => Err(format!("{key}: {} cannot be created: {} is a file", dir.display(), p.display())),
                Some(p) => writable(p).map_err(|e| format!("{key}: {} cannot be created in {} ({e}): give a directory posd can create", dir.display(), p.display())),
                None => Ok(()),
            }
        }
        Err(e) => Err(format!("{key}: {}: {e}", dir.display())),
    }
}

/// The state directory, held: dropped with posd.
#[derive(Debug)]
pub struct StateDir {
    pub path: PathBuf,
    /// Open for the life of posd: closing it would release the lock.
    _lock: File,
}

/// Exit code when another posd has the state directory or the bus name:
/// EX_TEMPFAIL, so systemd retries (the other one may be a posd a field
/// engineer started by hand), unlike 78.
pub const EXIT_ANOTHER_POSD: u8 = 75;
/// EX_CONFIG: a bad configuration or state directory (systemd does not retry).
pub const EXIT_CONFIG: u8 = 78;

impl StateDir {
    /// Checks, creates (mode 0700) and locks the directory.
    pub fn acquire(dir: &Path, source: Source) -> Result<Self, Fatal> {
        let config_err = |m: String| Fatal { exit: EXIT_CONFIG, message: m };
        check(dir, source).map_err(config_err)?;
        let key = source.key();
        if !dir.exists() {
            std::fs::create_dir_all(dir).map_err(|e| config_err(format!("{key}: cannot create {}: {e}", dir.display())))?;
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(|e| config_err(format!("{key}: {}: {e}", dir.display())))?;
        }
        let lock_path = dir.join("posd.lock");
        let mut lock = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(|e| config_err(format!("{key}: cannot write in {} ({e}): give posd a directory it owns", dir.display())))?;
        match rustix::fs::flock(&lock, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => {}
            Err(rustix::io::Errno::WOULDBLOCK) => {
                let mut pid = String::new();
                let _ = lock.read_to_string(&mut pid);
                let who = match pid.trim() {
                    "" => "another posd".to_string(),
                    pid => format!("another posd (pid {pid})"),
                };
                return Err(Fatal {
                    exit: EXIT_ANOTHER_POSD,
                    message: format!("{who} is using the state directory {}: stop it first (systemctl stop posd), or give this one its own {key}", dir.display()),
                });
            }
            Err(e) => return Err(config_err(format!("{key}: cannot lock {}: {e}", lock_path.display()))),
        }
        let wrote = lock.set_len(0).and_then(|()| lock.rewind()).and_then(|()| writeln!(lock, "{}", std::process::id())).and_then(|()| lock.sync_data());
        wrote.map_err(|e| config_err(format!("{key}: cannot write in {} ({e}): give posd a directory it owns", dir.display())))?;
        Ok(Self { path: dir.to_path_buf(), _lock: lock })
    }

    /// The stores on `posd.db`: one for the engine, one for D-Bus reads.
    pub fn open_stores(&self) -> Result<(Store, Store), Fatal> {
        let io = |what: &Path, e: String| Fatal::from(format!("{}: {e}", what.display()));
        let key_path = self.path.join("device.key");
        let keys = Arc::new(FileKeyStore::open_or_create(&key_path).map_err(|e| io(&key_path, format!("device key: {e}")))?);
        let db = self.path.join("posd.db");
        let store = Store::open(&db, keys.clone()).map_err(|e| io(&db, e.to_string()))?;
        let reads = Store::open(&db, keys).map_err(|e| io(&db, e.to_string()))?;
        Ok((store, reads))
    }
}
