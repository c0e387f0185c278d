//! What the integration tests share: the AWS emulator process and a
//! workspace with the example config.
#![allow(dead_code)]

pub mod contract;
pub mod emulator;
pub mod workspace;
