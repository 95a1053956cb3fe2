//! Runs by id: read one, retry one.

mod get;
mod retry;

pub use retry::RetryRequest;

use crate::error::OpError;

pub(crate) fn not_found() -> OpError {
    OpError::not_found("Run not found.")
}
