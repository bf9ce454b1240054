//! # smartpos-hal
//!
//! Hardware traits of the terminal (card reader, PIN pad, modem) and their
//! backends. Empty until issue 4 (hardware layer) lands; it exists now so the
//! workspace has the layout the product design names.

#![forbid(unsafe_code)]
