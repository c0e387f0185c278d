//! lunora: plan, deploy and operate SRT -> MediaConnect -> MediaLive
//! live-streaming stacks on AWS from one declarative file.
//!
//! The pure core turns values into values with no network, clock or
//! environment: [`config`] (lunora.yaml to a validated deployment),
//! [`presets`] (the encoder presets and platform limits), [`render`]
//! (deployment to canonical CloudFormation JSON). The shell around it is
//! [`commands`] (one module per command, each returning a report) and
//! [`output`] (the one place that writes to stdout and stderr), wired by
//! [`app`].

pub mod app;
pub mod aws;
pub mod cli;
pub mod commands;
pub mod completion;
pub mod config;
pub mod contract;
pub mod cost;
pub mod diagnostic;
pub mod fsread;
pub mod health;
pub mod ops;
pub mod output;
pub mod plan;
pub mod presets;
pub mod progress;
pub mod release;
pub mod render;
pub mod screen;
pub mod serve;
pub mod yaml;
