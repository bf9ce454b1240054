//! The engine on its own thread. The engine is plain blocking logic (card
//! waits, PIN entry, host round trips), so it never runs on the async
//! runtime: D-Bus methods send it a [`Job`] and await the answer. One job
//! at a time; a caller that finds it busy gets `Busy` at once rather than
//! waiting behind a payment that is waiting for a card.

use super::snapshot::Snapshot;
use crate::engine::adjust::RefundOriginal;
use crate::engine::{BindResult, Engine, EngineError, EngineResult, FlushResult, SaleOptions, SettleResult, SignInResult, Stage, TxnResult};
use smartpos_hal::Cancel;
use smartpos_proto::fields::terminal_info59::Location;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::{mpsc, oneshot, watch};

#[derive(Debug)]
pub enum Job {
    Bind(String),
    Unbind,
    SignIn,
    SignOut,
    Settle,
    Sale(u64, SaleOptions),
    Void(u32),
    Refund(u64, RefundOriginal),
    Balance,
    Flush,
    /// The §8 downloads now.
    UpdateParameters,
    /// Sign in if needed and forward what is queued (at launch).
    StartUp,
    /// Forward what is queued, quietly (the periodic retry).
    Forward,
    SetLocation(Location),
    /// Take a fresh snapshot (reader, card, queue ages).
    Refresh,
}

impl Job {
    /// Jobs a caller asked for hold the terminal: a second one gets
    /// `Busy`. The daemon's own housekeeping does not: a payment asked for
    /// during a background forward waits for it instead of being refused.
    fn exclusive(&self) -> bool {
        !matches!(self, Job::SetLocation(_) | Job::Refresh | Job::StartUp | Job::Forward)
    }
}

#[derive(Debug)]
pub enum Done {
    Bind(BindResult),
    SignIn(SignInResult),
    Settle(SettleResult),
    Txn(Box<TxnResult>),
    Flush(FlushResult),
    Parameters(crate::engine::parameters::UpdateResult),
    Nothing,
}

struct Request {
    job: Job,
    reply: Option<oneshot::Sender<EngineResult<Done>>>,
}

/// The handle D-Bus methods use.
#[derive(Debug, Clone)]
pub struct Worker {
    jobs: std::sync::mpsc::Sender<Request>,
    busy: Arc<AtomicBool>,
    stopping: Arc<AtomicBool>,
    cancel: Cancel,
    snapshot: watch::Receiver<Snapshot>,
    running: watch::Receiver<bool>,
}

impl Worker {
    /// Moves `engine` onto its own thread. Progress stages go to `progress`.
    pub fn spawn(mut engine: Engine, progress: mpsc::UnboundedSender<Stage>) -> Result<(Self, std::thread::JoinHandle<()>), String> {
        let (jobs, rx) = std::sync::mpsc::channel::<Request>();
        let cancel = engine.cancel_handle();
        engine.set_progress(Box::new(move |stage| {
            let _ = progress.send(stage);
        }));
        let (snap_tx, snapshot) = watch::channel(Snapshot::take(&mut engine));
        let (running_tx, running) = watch::channel(false);
        let busy = Arc::new(AtomicBool::new(false));
        let busy_in_thread = busy.clone();
        let thread = std::thread::Builder::new()
            .name("engine".into())
            .spawn(move || {
                while let Ok(Request { job, reply }) = rx.recv() {
                    let exclusive = job.exclusive();
                    if exclusive {
                        running_tx.send_replace(true);
                    }
                    let result = run(&mut engine, job);
                    snap_tx.send_replace(Snapshot::take(&mut engine));
                    if exclusive {
                        busy_in_thread.store(false, Ordering::SeqCst);
                        running_tx.send_replace(false);
                    }
                    if let Some(reply) = reply {
                        let _ = reply.send(result);
                    }
                }
            })
            .map_err(|e| format!("cannot start the engine thread: {e}"))?;
        Ok((Self { jobs, busy, stopping: Arc::new(AtomicBool::new(false)), cancel, snapshot, running }, thread))
    }

    /// Runs `job` and returns its result, or `Busy` when another holds the terminal.
    pub async fn call(&self, job: Job) -> EngineResult<Done> {
        let (tx, rx) = oneshot::channel();
        self.submit(job, Some(tx))?;
        rx.await.map_err(|_| EngineError::busy("the terminal is shutting down"))?
    }

    /// Queues `job` without waiting for it; a busy terminal skips it.
    pub fn background(&self, job: Job) {
        let _ = self.submit(job, None);
    }

    fn submit(&self, job: Job, reply: Option<oneshot::Sender<EngineResult<Done>>>) -> EngineResult<()> {
        if job.exclusive() {
            if self.stopping.load(Ordering::SeqCst) {
                return Err(EngineError::busy("the terminal is shutting down"));
            }
            if self.busy.compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst).is_err() {
                return Err(EngineError::busy("another payment or settlement is running"));
            }
        }
        self.jobs.send(Request { job, reply }).map_err(|_| EngineError::busy("the terminal is shutting down"))
    }

    /// Aborts the running payment if it has not reached the host.
    pub fn cancel(&self) {
        self.cancel.cancel();
    }

    /// Refuses new work from now on (SIGTERM).
    pub fn stop_accepting(&self) {
        self.stopping.store(true, Ordering::SeqCst);
    }

    pub fn snapshot(&self) -> watch::Receiver<Snapshot> {
        self.snapshot.clone()
    }

    /// `true` while an exclusive job runs (the `busy` state).
    pub fn running(&self) -> watch::Receiver<bool> {
        self.running.clone()
    }
}

fn run(engine: &mut Engine, job: Job) -> EngineResult<Done> {
    match job {
        Job::Bind(code) => engine.bind(&code).map(Done::Bind),
        Job::Unbind => engine.unbind().map(|()| Done::Nothing),
        Job::SignIn => engine.sign_in().map(Done::SignIn),
        Job::SignOut => engine.sign_out().map(|()| Done::Nothing),
        Job::Settle => engine.settle().map(Done::Settle),
        Job::Sale(amount, options) => engine.sale(amount, &options).map(|r| Done::Txn(Box::new(r))),
        Job::Void(stan) => engine.void(stan).map(|r| Done::Txn(Box::new(r))),
        Job::Refund(amount, original) => engine.refund(amount, &original).map(|r| Done::Txn(Box::new(r))),
        Job::Balance => engine.balance().map(|r| Done::Txn(Box::new(r))),
        Job::Flush => engine.flush().map(Done::Flush),
        Job::UpdateParameters => engine.update_parameters().map(Done::Parameters),
        Job::StartUp => {
            engine.start_up();
            Ok(Done::Nothing)
        }
        Job::Forward => {
            engine.run_due_downloads(false);
            if engine.queue_stats().is_ok_and(|q| q.depth + q.unanswered_refunds > 0) || engine.store().pending_reversals().is_ok_and(|r| !r.is_empty()) {
                engine.forward_in_background();
            }
            Ok(Done::Nothing)
        }
        Job::SetLocation(location) => {
            engine.set_location(location);
            Ok(Done::Nothing)
        }
        Job::Refresh => Ok(Done::Nothing),
    }
}
