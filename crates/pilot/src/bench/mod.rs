//! `pilot bench …`: measurements of Pilot's parts on the machine it runs on. Results
//! are recorded in BENCHMARKS.md with the command and the machine.

mod arrivals;
pub mod claims;
pub mod dashboard_reads;
pub mod deliveries;
mod pg_waits;
pub mod queue;
pub mod recovery;
pub mod runs;
mod scratch;
pub mod serve_child;
pub mod webhook;
mod worker_children;

/// The `p`th percentile (nearest rank) of `values`; NaN for none.
fn percentile(values: &[f64], p: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}
