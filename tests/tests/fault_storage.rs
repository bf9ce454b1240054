//! Fault matrix, storage rows: the disk fills up, on a real size-limited
//! tmpfs (not a page-count pragma). A sale must be refused before anything
//! leaves for the host — nothing half-written, nothing charged — and work
//! again once there is room. The same when the file system turns
//! read-only under the running terminal, as ext4 does on an SD card error
//! (`errors=remount-ro`; root, which runs the tests, ignores file modes,
//! and a plain `remount,ro` is refused while the database is open).

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

/// A terminal whose state folder is on `disk`, bound, signed in, and one
/// sale of `amount` approved.
fn terminal_on(disk: &Path, amount: u64) -> Rig {
    let state = disk.join("state");
    std::fs::create_dir(&state).expect("state dir");
    let mut r = Rig::with_config(|c| c.terminal.state_dir = state.clone());
    r.engine.bind(smartpos_tests::rig::ACTIVATION_CODE).expect("bind");
    r.engine.sign_in().expect("sign in");
    assert!(r.sale("default", amount).expect("a sale while the disk is fine").approved);
    r
}

#[test]
fn a_full_disk_refuses_the_sale_before_it_goes_online() {
    let disk = SmallDisk::mount("4m");
    // One sale first: the database and its WAL have their working size.
    let mut r = terminal_on(disk.path(), 1000);
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

/// An ext4 file system in a loop-mounted image (`errors=remount-ro`, as a
/// terminal's SD card is mounted), unmounted on drop.
struct Ext4Disk {
    image: tempfile::TempDir,
    dir: tempfile::TempDir,
}

impl Ext4Disk {
    fn mount() -> Self {
        let image = tempfile::tempdir().expect("image dir");
        let file = image.path().join("sd.img");
        std::fs::File::create(&file).and_then(|f| f.set_len(32 << 20)).expect("image");
        run("mkfs.ext4", &["-q", "-F", &file.display().to_string()]);
        let me = Self { image, dir: tempfile::tempdir().expect("mount point") };
        me.attach();
        me
    }
    fn image(&self) -> String {
        self.image.path().join("sd.img").display().to_string()
    }
    fn attach(&self) {
        run("mount", &["-o", "loop,errors=remount-ro", &self.image(), &self.path().display().to_string()]);
    }
    fn path(&self) -> &Path {
        self.dir.path()
    }
    /// An error the way a failing card reports one: ext4 turns the mount read-only at once,
    /// whatever is open for writing.
    fn fail(&self) {
        let dev = Command::new("findmnt").args(["-no", "SOURCE", &self.path().display().to_string()]).output().expect("findmnt");
        let dev = String::from_utf8_lossy(&dev.stdout).trim().trim_start_matches("/dev/").to_string();
        std::fs::write(format!("/sys/fs/ext4/{dev}/trigger_fs_error"), "smartpos fault test").expect("trigger_fs_error");
        let opts = Command::new("findmnt").args(["-no", "OPTIONS", &self.path().display().to_string()]).output().expect("findmnt");
        let opts = String::from_utf8_lossy(&opts.stdout);
        assert!(opts.starts_with("ro") || opts.contains("emergency_ro"), "ext4 did not turn read-only: {opts}");
    }
    /// What a technician (or the boot's fsck) does: unmount, check, mount again.
    fn repair(&self) {
        run("umount", &[&self.path().display().to_string()]);
        let _ = Command::new("fsck.ext4").args(["-f", "-y", &self.image()]).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null()).status();
        self.attach();
    }
}

impl Drop for Ext4Disk {
    fn drop(&mut self) {
        let _ = Command::new("umount").args(["-l", &self.dir.path().display().to_string()]).status();
    }
}

fn run(cmd: &str, args: &[&str]) {
    let ok = Command::new(cmd).args(args).status().unwrap_or_else(|e| panic!("{cmd}: {e} (run scripts/setup)"));
    assert!(ok.success(), "{cmd} {args:?}");
}

#[test]
fn a_database_turned_read_only_refuses_the_sale_before_it_goes_online() {
    let disk = Ext4Disk::mount();
    let mut r = terminal_on(disk.path(), 1100);
    let before = r.ledger();
    disk.fail();

    for amount in [2101, 2102] {
        r.insert("default");
        r.type_pin("default");
        let outcome = r.engine.sale(amount, &SaleOptions::default());
        r.remove();
        let e = outcome.expect_err("a sale on a read-only store must be refused");
        assert_eq!(e.kind, posd::engine::ErrorKind::Device, "{e:?}");
        assert!(e.message.contains("read-only") && e.message.contains("nothing was charged"), "{e:?}");
    }
    let after = r.ledger();
    assert_eq!(after.transactions.len(), before.transactions.len(), "nothing may reach the host while the sale cannot be recorded");
    assert_eq!(after.charged("default"), before.charged("default"));

    // Repaired (unmount, fsck, mount: a reboot): the journal is intact and the terminal works.
    r.power_cycle(|| disk.repair());
    let amounts: Vec<u64> = r.engine.store().recent_entries(10).expect("journal readable after the repair").iter().map(|e| e.amount).collect();
    assert!(amounts.contains(&1100) && !amounts.iter().any(|a| (2101..=2102).contains(a)), "{amounts:?}");
    assert!(r.sale("default", 3100).expect("sale after the repair").approved);
    assert_eq!(r.ledger().charged("default"), before.charged("default") + 3100);
}
