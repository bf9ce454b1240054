//! The sign-in session and the last error, as kept in the terminal row:
//! a restart keeps working keys and the session until sign-out, start of
//! day or a host request to sign in again clears it.

use super::{Store, StoreError, exec, one};
use rusqlite::{OptionalExtension, Transaction, params};

/// A signed-in session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub signed_in_at: String,
    /// Local date (YYMMDD) of the sign-in: a new day means sign in again.
    pub day: String,
    pub host_time: String,
    pub clock_offset_secs: i64,
}

impl Store {
    pub fn session(&self) -> Result<Option<SessionRecord>, StoreError> {
        self.cached(|c| &mut c.session, || self.read_session())
    }

    fn read_session(&self) -> Result<Option<SessionRecord>, StoreError> {
        Ok(one(&self.conn, "SELECT signed_in_at, signed_in_day, host_time, clock_offset_secs FROM terminal WHERE id = 1 AND signed_in_at IS NOT NULL", [], |r| {
            Ok(SessionRecord {
                signed_in_at: r.get(0)?,
                day: r.get(1)?,
                host_time: r.get::<_, Option<String>>(2)?.unwrap_or_default(),
                clock_offset_secs: r.get::<_, Option<i64>>(3)?.unwrap_or(0),
            })
        })
        .optional()?)
    }

    pub fn put_session(tx: &Transaction<'_>, s: &SessionRecord) -> Result<(), StoreError> {
        exec(
            tx,
            "UPDATE terminal SET signed_in_at = ?1, signed_in_day = ?2, host_time = ?3, clock_offset_secs = ?4 WHERE id = 1",
            params![s.signed_in_at, s.day, s.host_time, s.clock_offset_secs],
        )?;
        Ok(())
    }

    /// Ends the session (working keys stay sealed until replaced or unbound).
    pub fn clear_session(tx: &Transaction<'_>) -> Result<(), StoreError> {
        exec(tx, "UPDATE terminal SET signed_in_at = NULL, signed_in_day = NULL WHERE id = 1", [])?;
        Ok(())
    }

    /// The last error as JSON (`LastError`), empty when none.
    pub fn last_error(&self) -> Result<Option<String>, StoreError> {
        Ok(one(&self.conn, "SELECT last_error FROM terminal WHERE id = 1", [], |r| r.get(0)).optional()?.flatten())
    }

    pub fn put_last_error(tx: &Transaction<'_>, json: Option<&str>) -> Result<(), StoreError> {
        exec(tx, "UPDATE terminal SET last_error = ?1 WHERE id = 1", [json])?;
        Ok(())
    }
}
