//! The triggers that start work without a request: the schedule's timer and the
//! email trigger's SMTP handler. Each only drives an operation (`pilot_operations`'
//! `fire_due_schedules`, `housekeeping`, `email_accepts`, `fire_email`), the same
//! ones every interface calls, so a run they fire is fired exactly as the run
//! endpoint fires one. They live in the binary because the engine sits below the
//! operations layer and cannot call it.

pub mod email;
pub mod schedule;
