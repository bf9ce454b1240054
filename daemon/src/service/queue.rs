//! `org.smartpos.Pos1.Queue`: the offline queue's depth and age, forwarding
//! on demand, and its list (masked data only).

use super::dict::{self, Dict, DictBuilder};
use super::error::PosError;
use super::shared::Shared;
use super::worker::{Done, Job};

#[derive(Debug)]
pub struct QueueIface(pub Shared);

#[zbus::interface(name = "org.smartpos.Pos1.Queue")]
impl QueueIface {
    #[zbus(out_args("result"))]
    async fn flush(&self) -> Result<Dict, PosError> {
        match self.0.worker.call(Job::Flush).await? {
            Done::Flush(r) => Ok(dict::flush(&r)),
            other => Err(PosError::unexpected(&other)),
        }
    }

    #[zbus(out_args("items"))]
    async fn list(&self, limit: u32) -> Result<Vec<Dict>, PosError> {
        let items = self
            .0
            .with_reads(|s| s.queue_list(limit.min(1000)))
            .map_err(|e| PosError::Device(format!("The queue cannot be read: {e}. Restart the terminal; if it persists, call service.")))?;
        Ok(items
            .into_iter()
            .map(|i| {
                // A payment code's refund: the masked code under its own key, as in results.
                DictBuilder::new()
                    .s("kind", i.kind)
                    .u("batch", i.batch)
                    .u("stan", i.stan)
                    .t("amount", i.amount)
                    .masked(&i.masked_pan, &i.entry_mode)
                    .x("queued_at", i.queued_at)
                    .u("attempts", i.attempts)
                    .build()
            })
            .collect())
    }

    #[zbus(property)]
    async fn depth(&self) -> u32 {
        self.0.snap().queue.depth
    }

    #[zbus(property)]
    async fn amount(&self) -> u64 {
        self.0.snap().queue.amount
    }

    #[zbus(property)]
    async fn oldest_age(&self) -> u64 {
        self.0.snap().queue.oldest_age
    }

    #[zbus(property)]
    async fn pending_reversal(&self) -> bool {
        self.0.snap().pending_reversal
    }
}
