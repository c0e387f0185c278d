//! lunora's command-line and rendering tests: one integration binary.
#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)]

mod aws_setup;
mod commands;
mod contract;
mod destination;
mod errors;
mod fuzz;
mod guards;
mod interface;
mod lint;
mod render;
mod util;
