//! # smartpos-tests
//!
//! Everything that tests smartpos from outside and is never linked into
//! `posd`: the acquirer simulator (`pos-acquirer-sim`), the Python oracle
//! runner, and the integration tests under `tests/`.
//!
//! | concept | module |
//! |---|---|
//! | independent oracles (pyiso8583, pyemv, psec, cryptography) | [`oracle`] |

#![forbid(unsafe_code)]

pub mod oracle;
