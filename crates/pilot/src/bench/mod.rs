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

/// The store a bench's `--postgres` names: PostgreSQL when given, else SQLite.
fn backend_name(postgres: Option<&str>) -> &'static str {
    match postgres {
        Some(_) => "postgres",
        None => "sqlite",
    }
}

/// The steps of the benches' 3-step pilot — `transform` → `condition` → `http` POST
/// to `sink` — for a trigger payload `{"n": …, "total": …}`; the POST's body carries
/// `n` back.
fn three_step_pilot_steps(sink: &str) -> serde_json::Value {
    serde_json::json!([
        {"id": "shape", "type": "transform",
         "values": {"order": "{{ trigger.n }}", "double": "{{ trigger.total * 2 }}"}},
        {"id": "gate", "type": "condition", "if": "trigger.total > 10"},
        {"id": "post", "type": "http", "url": sink,
         "body": {"n": "{{ steps.shape.output.order }}"}}
    ])
}

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
