//! Fault matrix, storage rows: the disk fills up, on a real size-limited
//! tmpfs (not a page-count pragma). A sale must be refused before anything
//! leaves for the host — nothing half-written, nothing charged — and work
//! again once there is room.

use posd::engine::SaleOptions;
use smartpos_tests::rig::Rig;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A tmpfs of `size` mounted on a fresh temporary folder, unmounted on drop.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(size: &str) -> Self {
        let dir = tempfile::tempdir().expect("mount point");
        let ok = Command::new("mount").args(["-t", "tmpfs", "-o", &format!("size={size},mode=0700"), "smartpos-test", &dir.path().display().to_string()]).status().expect("mount");
        assert!(ok.success(), "mount tmpfs (tests run as root)");
        Self { dir }
    }
    fn path(&self) -> &Path {
        self.dir.path()
    }
    /// Writes until the disk refuses (ENOSPC), returns the filler's path.
    fn fill(&self) -> PathBuf {
        let path = self.path().join("filler");
        let mut f = std::fs::File::create(&path).expect("filler");
        let block = vec![0u8; 4096];
        loop {
            match f.write(&block) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => {
                    assert_eq!(e.raw_os_error(), Some(28), "expected ENOSPC, got {e}");
                    break;
                }
            }
        }
        let _ = f.sync_all();
        path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").args(["-l", &self.dir.path().display().to_string()]).status();
    }
}

#[test]
fn a_full_disk_refuses_the_sale_before_it_goes_online() {
    let disk = SmallDisk::mount("4m");
    let state = disk.path().join("state");
    std::fs::create_dir(&state).expect("state dir");
    let mut r = Rig::with_config(|c| c.terminal.state_dir = state.clone());
    r.engine.bind(smartpos_tests::rig::ACTIVATION_CODE).expect("bind");
    r.engine.sign_in().expect("sign in");
    // One sale first: the database and its WAL have their working size.
    assert!(r.sale("default", 1000).expect("sale with room").approved);
    let before = r.ledger();
    let filler = disk.fill();

    let mut refused = 0;
    for amount in [2001, 2002, 2003] {
        r.insert("default");
        r.type_pin("default");
        let outcome = r.engine.sale(amount, &SaleOptions::default());
        r.remove();
        match outcome {
            Ok(res) => panic!("a sale on a full disk must be refused, got {res:?}"),
            Err(e) => {
                assert_eq!(e.message, "The terminal's storage is full; nothing was charged.", "{e:?}");
                assert!(e.remedy.contains("Free space"), "{e:?}");
                refused += 1;
            }
        }
    }
    assert_eq!(refused, 3);
    let after = r.ledger();
    assert_eq!(after.transactions.len(), before.transactions.len(), "nothing may reach the host while the sale cannot be recorded");
    assert_eq!(after.charged("default"), before.charged("default"));

    // Room again: the terminal works, and what it wrote before is intact.
    std::fs::remove_file(filler).expect("free the disk");
    assert!(r.sale("default", 3000).expect("sale after freeing the disk").approved);
    assert_eq!(r.ledger().charged("default"), before.charged("default") + 3000);
    r.restart();
    let entries = r.engine.store().recent_entries(10).expect("journal readable after the full disk");
    assert_eq!(entries.iter().filter(|e| e.amount == 1000 || e.amount == 3000).count(), 2, "{entries:?}");
}
