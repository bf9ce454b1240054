//! Versioned schema migrations. Each step only adds (tables, columns,
//! indexes); none drops or rewrites user data — payment SDKs have lost
//! offline queues to "clean" migrations. All pending steps run in one
//! transaction: a failure rolls back and leaves the file as it was, and the
//! daemon stops with the version that failed.

use rusqlite::Connection;

/// The schema, one step per version (version = index + 1).
pub const MIGRATIONS: &[&str] = &[
    // 1: identity, sealed keys, counters, journal, offline queue, pending reversal.
    r#"
    CREATE TABLE terminal (
        id              INTEGER PRIMARY KEY CHECK (id = 1),
        serial          TEXT NOT NULL,
        tid             TEXT,
        mid             TEXT,
        merchant_name   TEXT,
        deposit_amount  INTEGER,
        deposit_status  TEXT,
        bound_at        TEXT
    );
    CREATE TABLE sealed_key (
        name        TEXT PRIMARY KEY,          -- 'tmk', 'pik', 'mak', 'tdk', 'rsa'
        sealed      BLOB NOT NULL,             -- KeyStore::seal output, never a clear key
        kcv         TEXT NOT NULL,
        updated_at  TEXT NOT NULL
    );
    CREATE TABLE counter (
        name    TEXT PRIMARY KEY,              -- 'stan', 'batch'
        value   INTEGER NOT NULL
    );
    CREATE TABLE journal (
        id              INTEGER PRIMARY KEY,
        kind            TEXT NOT NULL,         -- sale, void, refund, balance, offline-sale
        batch           INTEGER NOT NULL,
        stan            INTEGER NOT NULL,
        amount          INTEGER NOT NULL,
        masked_pan      TEXT NOT NULL,         -- first 6 / last 4
        card_sealed     BLOB,                  -- what void/refund/upload need, sealed
        aid             TEXT,
        response_code   TEXT,
        rrn             TEXT,
        auth_code       TEXT,
        state           TEXT NOT NULL,
        reference       TEXT,
        created_at      TEXT NOT NULL,
        UNIQUE (batch, stan)
    );
    CREATE TABLE offline_queue (
        journal_id      INTEGER PRIMARY KEY REFERENCES journal(id),
        advice_sealed   BLOB NOT NULL,         -- the advice request, sealed
        queued_at       INTEGER NOT NULL,
        attempts        INTEGER NOT NULL DEFAULT 0,
        forwarded_at    INTEGER,
        outcome         TEXT
    );
    CREATE TABLE pending_reversal (
        journal_id      INTEGER PRIMARY KEY REFERENCES journal(id),
        reason          TEXT NOT NULL,         -- 06, 98, A0, 96
        request_sealed  BLOB NOT NULL,
        tries           INTEGER NOT NULL DEFAULT 0,
        flagged         INTEGER NOT NULL DEFAULT 0,
        created_at      INTEGER NOT NULL
    );
    "#,
    // 2: the engine's session, journal details, queue bookkeeping. (Rows of a batch are
    // found through UNIQUE (batch, stan); a second index on batch cost a page per sale.)
    r#"
    ALTER TABLE terminal ADD COLUMN signed_in_at TEXT;     -- RFC 3339; NULL: must sign in
    ALTER TABLE terminal ADD COLUMN signed_in_day TEXT;    -- local YYMMDD, for start of day
    ALTER TABLE terminal ADD COLUMN host_time TEXT;        -- the host's clock at sign-in
    ALTER TABLE terminal ADD COLUMN clock_offset_secs INTEGER;
    ALTER TABLE terminal ADD COLUMN last_error TEXT;       -- JSON: category, code, message, remedy, at
    ALTER TABLE journal ADD COLUMN offline INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE journal ADD COLUMN original_id INTEGER REFERENCES journal(id);
    ALTER TABLE journal ADD COLUMN entry_mode TEXT;
    ALTER TABLE journal ADD COLUMN app_label TEXT;
    ALTER TABLE journal ADD COLUMN host_date TEXT;         -- MMDD of field 13 (refund's original date)
    ALTER TABLE journal ADD COLUMN updated_at TEXT;
    CREATE INDEX queue_pending ON offline_queue (forwarded_at, journal_id);
    "#,
    // 3: the advice queue folds into the journal row it belongs to, so an
    // offline sale is one row and one small partial index entry per commit
    // (was a second table and its index: two more pages written and synced
    // per sale, docs/BENCHMARKS.md). Queued rows are copied over; the old
    // table is kept as it was (steps never drop data) and no longer written.
    r#"
    ALTER TABLE journal ADD COLUMN advice_sealed BLOB;            -- the advice request, sealed
    ALTER TABLE journal ADD COLUMN queued_at INTEGER;             -- unix seconds; NULL: never queued
    ALTER TABLE journal ADD COLUMN advice_attempts INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE journal ADD COLUMN forwarded_at INTEGER;          -- when the host's answer was committed
    ALTER TABLE journal ADD COLUMN advice_outcome TEXT;           -- that answer's response code
    UPDATE journal SET advice_sealed = q.advice_sealed, queued_at = q.queued_at, advice_attempts = q.attempts,
                       forwarded_at = q.forwarded_at, advice_outcome = q.outcome
      FROM offline_queue q WHERE q.journal_id = journal.id;
    DROP INDEX queue_pending;
    CREATE INDEX advice_pending ON journal (id) WHERE queued_at IS NOT NULL AND forwarded_at IS NULL;
    "#,
    // 4: the sets of §8's downloads (replaced whole, in one transaction, once
    // a download's end message is answered) and the ODA outcome of a payment.
    r#"
    CREATE TABLE ca_key (
        rid         BLOB NOT NULL,
        idx         INTEGER NOT NULL,
        modulus     BLOB NOT NULL,                -- public: a CA key is no secret
        exponent    BLOB NOT NULL,
        expiry      TEXT NOT NULL,                -- YYYYMMDD
        PRIMARY KEY (rid, idx)
    );
    CREATE TABLE aid_params (
        aid         BLOB PRIMARY KEY,
        params      TEXT NOT NULL                 -- JSON of download62::AidParams
    );
    CREATE TABLE download (
        kind        TEXT PRIMARY KEY,             -- 'ca_keys', 'params'
        updated_at  TEXT,                         -- RFC 3339 of the last complete download
        rejected    TEXT NOT NULL DEFAULT '',     -- keys refused at the last download ('A000000333/82 checksum')
        last_try    TEXT,                         -- RFC 3339 of the last attempt
        outcome     TEXT                          -- 'ok' or why it stopped
    );
    ALTER TABLE journal ADD COLUMN oda TEXT;      -- none, sda, dda, cda, failed
    ALTER TABLE journal ADD COLUMN tvr TEXT;      -- hex, as sent with the first GENERATE AC
    "#,
    // 5: how the card came (§10): older rows were all inserted chips.
    r#"
    ALTER TABLE journal ADD COLUMN interface TEXT NOT NULL DEFAULT 'contact';   -- contact, contactless
    "#,
    // 6: the waiting advices are found by a rowid range from a floor held in
    // memory (`store/queue.rs`), not through an index: one B-tree page fewer
    // written and synced per offline sale (docs/BENCHMARKS.md).
    r#"
    DROP INDEX advice_pending;
    "#,
    // 7: what the receipt prints beyond the host's answer: the card's
    // cryptogram (TC offline, ARQC online) and how the cardholder was
    // verified (`pin`, `signature`, `none`; a signature line when `signature`).
    r#"
    ALTER TABLE journal ADD COLUMN cryptogram TEXT NOT NULL DEFAULT '';
    ALTER TABLE journal ADD COLUMN cvm TEXT NOT NULL DEFAULT '';
    "#,
];

/// Why the schema could not be brought up to date.
#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    #[error("the database is at schema version {found}, newer than this posd knows ({known}); install a newer posd or restore a backup — the file was not changed")]
    NewerThanKnown { found: u32, known: u32 },
    #[error("migration to schema version {version} failed: {source}; the database file was left unchanged")]
    Failed { version: u32, source: rusqlite::Error },
}

/// Brings `conn` to the newest version of `steps`.
pub fn migrate(conn: &mut Connection, steps: &[&str]) -> Result<u32, MigrationError> {
    let known = steps.len() as u32;
    let found: u32 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(|source| MigrationError::Failed { version: 0, source })?;
    if found > known {
        return Err(MigrationError::NewerThanKnown { found, known });
    }
    if found == known {
        return Ok(found);
    }
    let tx = conn.transaction().map_err(|source| MigrationError::Failed { version: found + 1, source })?;
    for (i, sql) in steps.iter().enumerate().skip(found as usize) {
        let version = i as u32 + 1;
        tx.execute_batch(sql).map_err(|source| MigrationError::Failed { version, source })?;
        tx.pragma_update(None, "user_version", version).map_err(|source| MigrationError::Failed { version, source })?;
    }
    tx.commit().map_err(|source| MigrationError::Failed { version: known, source })?;
    Ok(known)
}
