//! `org.smartpos.Pos1.Terminal`: binding, sign-in, settlement, diagnostics
//! and the terminal's state.

use super::diagnose;
use super::dict::{self, Dict, DictBuilder};
use super::error::PosError;
use super::shared::Shared;
use super::worker::{Done, Job};

#[derive(Debug)]
pub struct TerminalIface(pub Shared);

#[zbus::interface(name = "org.smartpos.Pos1.Terminal")]
impl TerminalIface {
    #[zbus(out_args("result"))]
    async fn bind(&self, activation_code: String) -> Result<Dict, PosError> {
        match self.0.worker.call(Job::Bind(activation_code)).await? {
            Done::Bind(r) => Ok(dict::bind(&r)),
            other => Err(PosError::unexpected(&other)),
        }
    }

    async fn unbind(&self) -> Result<(), PosError> {
        self.0.worker.call(Job::Unbind).await?;
        Ok(())
    }

    #[zbus(out_args("result"))]
    async fn sign_in(&self) -> Result<Dict, PosError> {
        match self.0.worker.call(Job::SignIn).await? {
            Done::SignIn(r) => Ok(dict::sign_in(&r)),
            other => Err(PosError::unexpected(&other)),
        }
    }

    /// The CA key and IC parameter downloads now (§8).
    #[zbus(out_args("result"))]
    async fn update_parameters(&self) -> Result<Dict, PosError> {
        match self.0.worker.call(Job::UpdateParameters).await? {
            Done::Parameters(r) => Ok(dict::update_parameters(&r)),
            other => Err(PosError::unexpected(&other)),
        }
    }

    async fn sign_out(&self) -> Result<(), PosError> {
        self.0.worker.call(Job::SignOut).await?;
        Ok(())
    }

    #[zbus(out_args("result"))]
    async fn settle(&self) -> Result<Dict, PosError> {
        match self.0.worker.call(Job::Settle).await? {
            Done::Settle(r) => Ok(dict::settle(&r)),
            other => Err(PosError::unexpected(&other)),
        }
    }

    #[zbus(out_args("checks"))]
    async fn diagnose(&self) -> Vec<(String, String, String, String, String)> {
        diagnose::run(&self.0).await.into_iter().map(|r| (r.category.into(), r.check, r.status.word().into(), r.detail, r.remedy)).collect()
    }

    #[zbus(property)]
    async fn state(&self) -> String {
        if self.0.busy() { "busy".into() } else { self.0.snap().state.into() }
    }

    #[zbus(property)]
    async fn terminal_id(&self) -> String {
        self.0.snap().terminal_id
    }

    #[zbus(property)]
    async fn merchant_id(&self) -> String {
        self.0.snap().merchant_id
    }

    #[zbus(property)]
    async fn merchant_name(&self) -> String {
        self.0.snap().merchant_name
    }

    #[zbus(property)]
    async fn serial_number(&self) -> String {
        self.0.snap().serial
    }

    #[zbus(property)]
    async fn batch(&self) -> u32 {
        self.0.snap().batch
    }

    #[zbus(property)]
    async fn signed_in_at(&self) -> String {
        self.0.snap().signed_in_at
    }

    #[zbus(property)]
    async fn online(&self) -> bool {
        self.0.snap().online
    }

    #[zbus(property)]
    async fn deposit(&self) -> Dict {
        let s = self.0.snap();
        DictBuilder::new().t("amount", s.deposit_amount).s("status", dict::deposit_status_word(&s.deposit_status)).build()
    }

    /// The CA keys and IC parameters in force and where they came from.
    #[zbus(property)]
    async fn parameters(&self) -> Dict {
        dict::parameters(&self.0.snap().parameters)
    }

    #[zbus(property)]
    async fn last_error(&self) -> Dict {
        match self.0.snap().last_error {
            None => Dict::new(),
            Some(e) => DictBuilder::new().s("category", e.category).s("code", e.code).s("message", e.message).s("remedy", e.remedy).s("at", e.at).build(),
        }
    }
}
