//! Operations: what lunora does against live AWS, apart from how it is
//! asked or shown. An operation takes the AWS clients and values and
//! returns values; it never prints and never prompts. The faces (the CLI
//! commands in [`crate::commands`]) parse input, call an operation and
//! present its report.

pub mod failover;
pub mod operate;
pub mod playlist;
pub mod stacks;
pub mod status;
pub mod thumbnail;
