//! lunora's integration tests, one binary: the command line and golden
//! snapshots (`cli`), the cost model (`cost`), and everything that runs
//! against the project's AWS emulator or scripted SDK responses.
//!
//! Run one group with `cargo test --test integration deploy::`.

#[path = "browser.rs"]
mod browser;
#[path = "cli/main.rs"]
mod cli;
#[path = "common/mod.rs"]
mod common;
#[path = "contract.rs"]
mod contract;
#[path = "cost.rs"]
mod cost;
#[path = "cost_actual.rs"]
mod cost_actual;
#[path = "deploy.rs"]
mod deploy;
#[path = "emulator.rs"]
mod emulator;
#[path = "guards.rs"]
mod guards;
#[path = "mocks.rs"]
mod mocks;
#[path = "nohang.rs"]
mod nohang;
#[path = "operate.rs"]
mod operate;
#[path = "quota.rs"]
mod quota;
#[path = "release.rs"]
mod release;
#[path = "serve.rs"]
mod serve;
