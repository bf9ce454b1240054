//! # posd
//!
//! The smartpos terminal daemon. This crate grows by capability; what is
//! here so far:
//!
//! | concept | module |
//! |---|---|
//! | the configuration file `posd.toml` | [`config`] |

#![forbid(unsafe_code)]

pub mod config;
