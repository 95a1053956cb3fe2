//! The operations against a real store, on SQLite and (with
//! `PILOT_TEST_POSTGRES_URL`) PostgreSQL. One test binary, a module per concern.

mod dashboard;
mod dashboard_reads;
mod harness;
mod operators;
mod spans;
mod webhooks;
