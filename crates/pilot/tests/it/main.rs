//! Integration tests: the real server on a port bound before serving, a fresh store
//! per test, run against SQLite and (with `PILOT_TEST_POSTGRES_URL`) PostgreSQL.
//! One test binary, many modules, to keep link time down.

mod auth;
mod checkpoint_crash;
mod checkpoints;
mod cli;
mod crash;
mod dashboard;
mod deliberate_scope;
mod deliberate_step;
mod deliberations;
mod engine;
mod errors;
mod harness;
mod head_limits;
mod hooks;
mod isolation;
mod limits;
mod mcp;
mod mcp_bridge;
mod openapi;
mod ops;
mod pilots;
mod queue;
mod raw;
mod schedule_dst;
mod schedule_timer;
mod scopes;
mod secrets_rule;
mod sink;
mod slow_clients;
mod strict_parsing;
mod webhooks;
mod webhooks_manage;
