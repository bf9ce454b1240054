//! The store on a real SQLite file.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic, reason = "an integration test: a panic is the failure report")]

use posd::store::keystore::{FileKeyStore, KeyStore, KeyStoreError};
use posd::store::migrations::{MIGRATIONS, MigrationError};
use posd::store::{Identity, STAN_BLOCK, Store, StoreError};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;

fn keys(dir: &Path) -> Arc<dyn KeyStore> {
    Arc::new(FileKeyStore::open_or_create(&dir.join("device.key")).unwrap())
}

fn file_bytes(dir: &Path) -> Vec<u8> {
    let mut all = Vec::new();
    for name in ["pos.db", "pos.db-wal", "pos.db-shm"] {
        all.extend(std::fs::read(dir.join(name)).unwrap_or_default());
    }
    all
}

#[test]
fn opens_with_wal_full_sync_and_the_current_schema() {
    let d = tempfile::tempdir().unwrap();
    let s = Store::open(&d.path().join("pos.db"), keys(d.path())).unwrap();
    assert_eq!(s.pragma("journal_mode").unwrap(), "wal");
    assert_eq!(s.pragma("synchronous").unwrap(), "2", "FULL");
    assert_eq!(s.pragma("foreign_keys").unwrap(), "1");
    assert_eq!(s.schema_version().unwrap(), MIGRATIONS.len() as u32);
    drop(s);
    let s = Store::open(&d.path().join("pos.db"), keys(d.path())).unwrap();
    assert_eq!(s.schema_version().unwrap(), MIGRATIONS.len() as u32, "reopening migrates nothing");
}

#[test]
fn a_newer_schema_is_refused_and_the_file_left_unchanged() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("pos.db");
    drop(Store::open(&path, keys(d.path())).unwrap());
    rusqlite::Connection::open(&path).unwrap().pragma_update(None, "user_version", 99).unwrap();
    let before = file_bytes(d.path());
    match Store::open(&path, keys(d.path())) {
        Err(StoreError::Migration(e @ MigrationError::NewerThanKnown { found: 99, .. })) => {
            assert!(e.to_string().contains("not changed"))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(file_bytes(d.path()), before);
}

#[test]
fn a_failing_migration_rolls_back_and_keeps_the_data() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("pos.db");
    let s = Store::open(&path, keys(d.path())).unwrap();
    let tx = s.transaction().unwrap();
    Store::put_identity(&tx, &Identity { serial: "SP1".into(), tid: Some("10000001".into()), mid: Some("898110000000001".into()), ..Default::default() }).unwrap();
    tx.commit().unwrap();
    drop(s);
    let broken: Vec<&str> = MIGRATIONS.iter().copied().chain(["ALTER TABLE journal ADD COLUMN note TEXT; CREATE TABLE terminal (x);"]).collect();
    match Store::open_with(&path, keys(d.path()), &broken) {
        Err(StoreError::Migration(MigrationError::Failed { version, .. })) => {
            assert_eq!(version, MIGRATIONS.len() as u32 + 1)
        }
        other => panic!("{other:?}"),
    }
    let s = Store::open(&path, keys(d.path())).unwrap();
    assert_eq!(s.schema_version().unwrap(), MIGRATIONS.len() as u32);
    assert!(s.identity().unwrap().unwrap().is_bound(), "the binding survived");
    let cols: Vec<String> = rusqlite::Connection::open(&path)
        .unwrap()
        .prepare("SELECT name FROM pragma_table_info('journal')")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(!cols.contains(&"note".to_string()), "the half-applied step was rolled back");
}

#[test]
fn keys_are_sealed_at_rest_and_bound_to_their_name_and_device() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("pos.db");
    let s = Store::open(&path, keys(d.path())).unwrap();
    let tmk = [0x5Au8, 0x11, 0x23, 0x34, 0x45, 0x56, 0x67, 0x78, 0x89, 0x9A, 0xAB, 0xBC, 0xCD, 0xDE, 0xEF, 0xF1];
    let ks = s.keystore();
    let tx = s.transaction().unwrap();
    Store::put_key(&tx, ks.as_ref(), "tmk", &tmk, "1A2B3C4D", "2026-11-22T00:00:00+08:00").unwrap();
    tx.commit().unwrap();
    assert_eq!(s.key("tmk").unwrap().unwrap().as_slice(), &tmk);
    assert!(s.key("pik").unwrap().is_none());
    let disk = file_bytes(d.path());
    assert!(!disk.windows(tmk.len()).any(|w| w == tmk), "clear TMK bytes on disk");
    let hex = hex::encode(tmk);
    assert!(!disk.windows(hex.len()).any(|w| w.eq_ignore_ascii_case(hex.as_bytes())), "TMK as hex on disk");
    // Sealed under one name, it does not open under another, nor on another device.
    let ks = FileKeyStore::open_or_create(&d.path().join("device.key")).unwrap();
    let sealed = ks.seal("tmk", &tmk).unwrap();
    assert!(matches!(ks.open("pik", &sealed), Err(KeyStoreError::Unseal(_))));
    let other = FileKeyStore::open_or_create(&d.path().join("other.key")).unwrap();
    assert!(matches!(other.open("tmk", &sealed), Err(KeyStoreError::Unseal(_))));
}

#[test]
fn the_device_key_file_is_0600_and_a_readable_one_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("device.key");
    FileKeyStore::open_or_create(&p).unwrap();
    assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
    assert_eq!(std::fs::read(&p).unwrap().len(), 32);
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert!(matches!(FileKeyStore::open_or_create(&p), Err(KeyStoreError::Permissions { mode: 0o644, .. })));
}

#[test]
fn stan_advances_in_the_transaction_wraps_and_survives_restarts() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("pos.db");
    let s = Store::open(&path, keys(d.path())).unwrap();
    let disk = |s: &Store| -> u32 { s.transaction().unwrap().query_row("SELECT value FROM counter WHERE name = 'stan'", [], |r| r.get(0)).unwrap() };
    // A reservation whose transaction rolls back reserved nothing: 1 again.
    let tx = s.transaction().unwrap();
    assert_eq!(s.next_stan(&tx).unwrap(), 1);
    drop(tx);
    let tx = s.transaction().unwrap();
    assert_eq!(s.next_stan(&tx).unwrap(), 1, "a rolled-back reservation is taken again");
    tx.commit().unwrap();
    assert_eq!(disk(&s), STAN_BLOCK, "one write reserves a block");
    // Inside the block: no counter write, and a rolled-back STAN is skipped, never reused.
    let tx = s.transaction().unwrap();
    assert_eq!(s.next_stan(&tx).unwrap(), 2);
    drop(tx);
    let tx = s.transaction().unwrap();
    assert_eq!(s.next_stan(&tx).unwrap(), 3);
    tx.commit().unwrap();
    assert_eq!(disk(&s), STAN_BLOCK);
    // A restart (or a crash) skips the rest of the block: never a STAN twice.
    drop(s);
    let s = Store::open(&path, keys(d.path())).unwrap();
    let tx = s.transaction().unwrap();
    assert_eq!(s.next_stan(&tx).unwrap(), STAN_BLOCK + 1);
    // A counter changed behind the store's back is obeyed; 999999 wraps to 000001.
    tx.execute("UPDATE counter SET value = 999999 WHERE name = 'stan'", []).unwrap();
    assert_eq!(s.next_stan(&tx).unwrap(), 1, "999999 wraps to 000001");
    Store::set_batch(&tx, 12).unwrap();
    tx.commit().unwrap();
    drop(s);
    let s = Store::open(&path, keys(d.path())).unwrap();
    assert_eq!(s.batch().unwrap(), 12);
    let tx = s.transaction().unwrap();
    assert_eq!(s.next_stan(&tx).unwrap(), STAN_BLOCK + 1);
    // A block that wraps: 999951 … 999999, 000001 … 000051 (100 STANs).
    tx.execute("UPDATE counter SET value = 999950 WHERE name = 'stan'", []).unwrap();
    let got: Vec<u32> = (0..STAN_BLOCK + 2).map(|_| s.next_stan(&tx).unwrap()).collect();
    assert_eq!(&got[..2], &[999_951, 999_952]);
    assert_eq!(&got[48..51], &[999_999, 1, 2]);
    assert_eq!(got[99], 51, "the block ends where the counter says");
    assert_eq!(got[100], 52, "the next block follows it");
    tx.commit().unwrap();
}

/// Schema 3 folds the advice queue into the journal: a terminal updated with
/// sales still queued forwards exactly those, with their attempts, and the
/// answered ones stay answered.
#[test]
fn queued_advices_survive_the_move_into_the_journal() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("pos.db");
    let k = keys(d.path());
    drop(Store::open_with(&path, k.clone(), &MIGRATIONS[..2]).unwrap());
    let sealed = k.seal("advice:1", b"advice one").unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(
        "INSERT INTO journal (id, kind, batch, stan, amount, masked_pan, state, created_at) VALUES
           (1, 'sale', 1, 7, 1200, '622848*********0018', 'approved', 'now'),
           (2, 'sale', 1, 8, 300, '622848*********0018', 'approved', 'now'),
           (3, 'sale', 1, 9, 500, '622848*********0018', 'approved', 'now');",
    )
    .unwrap();
    conn.execute("INSERT INTO offline_queue (journal_id, advice_sealed, queued_at, attempts) VALUES (1, ?1, 1000, 2)", [&sealed]).unwrap();
    conn.execute("INSERT INTO offline_queue (journal_id, advice_sealed, queued_at, forwarded_at, outcome) VALUES (2, x'00', 1001, 1002, '00')", []).unwrap();
    drop(conn);
    let s = Store::open(&path, k).unwrap();
    assert_eq!(s.schema_version().unwrap(), MIGRATIONS.len() as u32);
    let q = s.queue_totals().unwrap();
    assert_eq!((q.depth, q.amount, q.oldest_queued_at), (1, 1200, Some(1000)), "only the unanswered advice is pending");
    let next = s.next_queued().unwrap().expect("the queued advice");
    assert_eq!((next.journal_id, next.attempts, next.queued_at, &next.request[..]), (1, 2, 1000, &b"advice one"[..]));
    assert_eq!(s.advice_outcome(2).unwrap().as_deref(), Some("00"));
    assert_eq!(s.queue_list(10).unwrap().len(), 1);
}

/// A journal row of `amount`, queued as an offline advice when `queue`.
fn write_sale(s: &Store, k: &dyn KeyStore, stan: u32, amount: u64, queue: bool) -> i64 {
    use posd::store::journal::{EntryState, Kind, NewEntry};
    let tx = s.transaction().unwrap();
    let e = NewEntry {
        kind: Kind::Sale,
        batch: 1,
        stan,
        amount,
        masked_pan: "622848*********0018",
        aid: "",
        app_label: "",
        entry_mode: "051",
        interface: "contact",
        offline: queue,
        original_id: None,
        reference: "",
        state: EntryState::Approved,
        now: "now",
        response_code: "",
        host_date: "",
        oda: "",
        tvr: "",
        cryptogram: "",
        cvm: "",
    };
    let id = Store::insert_entry(&tx, k, &e, None).unwrap();
    if queue {
        Store::enqueue(&tx, k, id, format!("advice {stan}").as_bytes(), 1000 + i64::from(stan)).unwrap();
    }
    tx.commit().unwrap();
    id
}

/// Schema 6 finds the waiting advices from a floor kept in memory instead of
/// an index: every waiting row is still found, by the writer and by a second
/// (read) connection whose floor has moved, across many rows that never
/// waited, and only the newest row can be queued (the rule the floor needs).
#[test]
fn waiting_advices_are_found_from_the_floor_by_writer_and_reader() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("pos.db");
    let k = keys(d.path());
    let s = Store::open(&path, k.clone()).unwrap();
    let reader = Store::open(&path, k.clone()).unwrap();
    let k = k.as_ref();
    let first = write_sale(&s, k, 1, 100, true);
    for stan in 2..50 {
        write_sale(&s, k, stan, 1, false);
    }
    let second = write_sale(&s, k, 50, 200, true);
    assert_eq!(reader.queue_list(10).unwrap().iter().map(|q| q.journal_id).collect::<Vec<_>>(), [first, second]);
    let t = s.queue_totals().unwrap();
    assert_eq!((t.depth, t.amount, t.oldest_queued_at), (2, 300, Some(1001)));
    // Forward both: the floor moves past them.
    for want in [first, second] {
        let q = s.next_queued().unwrap().expect("waiting");
        assert_eq!(q.journal_id, want);
        let tx = s.transaction().unwrap();
        Store::mark_forwarded(&tx, q.journal_id, "00", 2000).unwrap();
        tx.commit().unwrap();
    }
    assert!(s.next_queued().unwrap().is_none());
    assert!(reader.queue_list(10).unwrap().is_empty(), "the reader's floor moves past the newest row");
    // Rows queued after both floors moved are found by both.
    let third = write_sale(&s, k, 51, 300, true);
    assert_eq!(reader.queue_list(10).unwrap().iter().map(|q| q.journal_id).collect::<Vec<_>>(), [third]);
    assert_eq!(s.next_queued().unwrap().expect("the third").journal_id, third);
    assert_eq!(s.queue_totals().unwrap().depth, 1);
    // Negative control: an older row cannot be queued (it could sit below a floor).
    let tx = s.transaction().unwrap();
    let err = Store::enqueue(&tx, k, first, b"again", 3000).expect_err("not the newest row");
    assert!(matches!(err, StoreError::Invariant(_)), "{err}");
    drop(tx);
    // A fresh store finds the floor by a scan: the third is still waiting.
    drop(s);
    let s = Store::open(&path, keys(d.path())).unwrap();
    assert_eq!(s.next_queued().unwrap().expect("after a restart").journal_id, third);
}
