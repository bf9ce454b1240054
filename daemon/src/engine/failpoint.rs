//! Named failpoints for the crash tests. With the `failpoints` feature, a
//! process started with `POSD_FAILPOINT=<name>` (or `<name>@<n>` for the
//! n-th hit) prints `FAILPOINT <name>` on standard output when it gets
//! there and then waits to be killed: the test harness sends SIGKILL, so
//! the process dies exactly between two durable steps. `POSD_FAILPOINT=trace`
//! stops nowhere and prints `PASS <name>` at every point instead: the
//! random-kill test aims its kills at the workload's own progress (after the
//! n-th point passed) rather than at a wall-clock guess. Without the feature
//! (production builds) [`hit`] compiles to nothing.
//!
//! [`sabotaged`] is the crash test's negative control: `POSD_SABOTAGE=<step>`
//! skips one durable step, so the test can show that its books check catches
//! the loss. It too exists only in `failpoints` builds.
//!
//! Every name is listed in [`ALL`]; the crash test requires each one to be
//! reached.

/// Every failpoint the engine has, in the order a transaction meets them.
pub const ALL: &[&str] = &[
    // online sale
    "sale.reversal-record.before",
    "sale.reversal-record.after",
    "sale.request.before",
    "sale.request.after",
    "sale.response.after",
    "sale.journal.before",
    "sale.journal.after",
    // offline sale
    "offline.queue.before",
    "offline.queue.after",
    // forwarding
    "advice.request.before",
    "advice.request.after",
    "advice.response.after",
    "advice.forward-mark.before",
    "advice.forward-mark.after",
    // reversal
    "reversal.request.before",
    "reversal.request.after",
    "reversal.response.after",
    "reversal.clear.before",
    "reversal.clear.after",
    // void
    "void.reversal-record.before",
    "void.reversal-record.after",
    "void.request.before",
    "void.request.after",
    "void.response.after",
    "void.journal.before",
    "void.journal.after",
    // §8 downloads (each exchange's request/response, and the set's commit)
    "download.request.before",
    "download.request.after",
    "download.response.after",
    "download.commit.before",
    "download.commit.after",
    // settlement
    "settlement.request.before",
    "settlement.request.after",
    "settlement.response.after",
    "settlement.upload.before",
    "settlement.upload.after",
    "settlement.end.after",
    "settlement.close.before",
    "settlement.close.after",
];

#[cfg(feature = "failpoints")]
mod armed {
    use std::io::Write;
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn target() -> &'static Option<(String, u32)> {
        static T: OnceLock<Option<(String, u32)>> = OnceLock::new();
        T.get_or_init(|| {
            let v = std::env::var("POSD_FAILPOINT").ok()?;
            Some(match v.split_once('@') {
                Some((name, n)) => (name.to_string(), n.parse().unwrap_or(1)),
                None => (v, 1),
            })
        })
    }

    pub fn hit(prefix: &str, what: &str) {
        static HITS: AtomicU32 = AtomicU32::new(0);
        let Some((want, nth)) = target() else { return };
        let name = format!("{prefix}.{what}");
        if want == "trace" {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "PASS {name}");
            let _ = out.flush();
            return;
        }
        if *want != name || HITS.fetch_add(1, Ordering::SeqCst) + 1 != *nth {
            return;
        }
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "FAILPOINT {name}");
        let _ = out.flush();
        loop {
            std::thread::park();
        }
    }
}

/// Whether the durable step `step` is to be skipped (`POSD_SABOTAGE=<step>`,
/// `failpoints` builds only): the negative control of the crash tests.
#[inline]
pub fn sabotaged(step: &str) -> bool {
    #[cfg(feature = "failpoints")]
    return std::env::var("POSD_SABOTAGE").is_ok_and(|v| v == step);
    #[cfg(not(feature = "failpoints"))]
    {
        let _ = step;
        false
    }
}

/// Marks the point `<prefix>.<what>` (e.g. `sale` + `request.after`) between
/// two durable steps. The name is only put together when a failpoint is armed.
#[inline]
pub fn at(prefix: &str, what: &str) {
    #[cfg(feature = "failpoints")]
    armed::hit(prefix, what);
    #[cfg(not(feature = "failpoints"))]
    let _ = (prefix, what);
}

/// [`at`] for a name written whole (`"sale.journal.after"`).
#[inline]
pub fn hit(name: &str) {
    let (prefix, what) = name.split_once('.').unwrap_or((name, ""));
    at(prefix, what);
}
