//! `pilot bench …`: measurements of Pilot's parts on the machine it runs on. Results
//! are recorded in BENCHMARKS.md with the command and the machine.

pub mod deliveries;
pub mod queue;
pub mod recovery;
pub mod runs;
mod scratch;
pub mod serve_child;
