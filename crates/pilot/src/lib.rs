//! The `pilot` binary's library half: configuration, assembly of the layers, the
//! commands, and the job kinds. `main.rs` only parses the command line.

pub mod app;
pub mod bench;
pub mod cli;
pub mod commands;
pub mod config;
pub mod jobs;
pub mod master_key;
pub mod triggers;
pub mod usage_sink;
