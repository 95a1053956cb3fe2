//! The triggers that fire runs without an API key: a pilot's secret webhook URL, mail
//! to its address, its schedule's ticks. Each authenticates by its own credential
//! (the URL's token, the address) or none (the clock), and fires through the same
//! operation the run endpoint does.

mod email;
mod schedule;
mod webhook;
mod webhook_body;
pub(crate) mod webhook_verify;

pub use schedule::HousekeepingReport;
pub use webhook_body::{MAX_WEBHOOK_FILE_BYTES, WebhookRequest};
pub use webhook_verify::WebhookVerificationBody;
