//! What posd does to itself before it reads a key: no core dumps (a dump
//! would carry working keys and card data in clear) and not dumpable, which
//! also keeps other processes of its own uid from ptrace-ing it or reading
//! its memory; files it creates (database, WAL, shared memory, device key)
//! are its own alone. posd.service sets `LimitCORE=0` and `UMask=0077` too;
//! this covers posd started any other way.

use rustix::fs::Mode;
use rustix::process::{DumpableBehavior, Resource, Rlimit, set_dumpable_behavior, setrlimit, umask};

pub fn harden_process() -> Result<(), String> {
    umask(Mode::from_raw_mode(0o077));
    setrlimit(Resource::Core, Rlimit { current: Some(0), maximum: Some(0) }).map_err(|e| format!("cannot turn core dumps off (RLIMIT_CORE): {e}"))?;
    set_dumpable_behavior(DumpableBehavior::NotDumpable).map_err(|e| format!("cannot make posd non-dumpable (PR_SET_DUMPABLE): {e}"))
}
