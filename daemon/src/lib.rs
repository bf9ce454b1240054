//! # posd
//!
//! The smartpos terminal daemon. This crate grows by capability; what is
//! here so far:
//!
//! | concept | module |
//! |---|---|
//! | the configuration file `posd.toml` | [`config`] |
//! | SQLite store, migrations, sealed keys | [`store`] |
//! | the terminal engine: binding, sign-in, EMV, payments, queue, settlement | [`engine`] |
//! | receipts: a journal row as the slip, and its layouts | [`receipt`] |
//! | the D-Bus service: interfaces, worker thread, diagnostics, sd_notify | [`service`] |

#![forbid(unsafe_code)]

pub mod config;
pub mod engine;
pub mod receipt;
pub mod service;
pub mod store;
