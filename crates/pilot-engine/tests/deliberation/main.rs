//! The deliberation pipeline end to end, with panel entries recorded in memory:
//! on the scripted model (test mode: stages, markers, determinism, `smartroute1`),
//! against the fake provider (live mode: quorum, timeouts, the revision trigger,
//! cost), and driven as a job against a real store.

mod dream_team;
mod driver;
mod fake;
mod harness;
mod scripted;
