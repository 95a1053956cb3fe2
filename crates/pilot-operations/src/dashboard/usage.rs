//! The tenant's model usage over its last `days` UTC days (today included), per day
//! and model: tokens in and out, calls, and cost exactly as the usage records hold
//! it. Days without a call are left out.

use pilot_domain::{Principal, Scope, UnixMillis};
use pilot_store::{DAY_MS, UsageQuery};

use crate::authorize;
use crate::error::OpError;
use crate::operations::Operations;
use crate::views::deliberation::rfc3339;
use crate::views::{UsageByDay, UsageDayView};

const MAX_DAYS: u32 = 90;

impl Operations {
    /// `days` from 1 to 90 (`deliberations:read`, as the balance).
    #[tracing::instrument(
        name = "usage_by_day",
        skip_all,
        fields(workspace = who.workspace_id.0, environment = who.environment.as_str(), days = days)
    )]
    pub async fn usage_by_day(&self, who: &Principal, days: u32) -> Result<UsageByDay, OpError> {
        authorize::require(who, Scope::DeliberationsRead)?;
        if !(1..=MAX_DAYS).contains(&days) {
            return Err(OpError::validation(format!(
                "days must be from 1 to {MAX_DAYS}, not {days}"
            )));
        }
        let now = self.now().0;
        let today = now - now.rem_euclid(DAY_MS);
        let since = UnixMillis(today - i64::from(days - 1) * DAY_MS);
        let rows = self
            .store()
            .usage_summary(&UsageQuery {
                since,
                workspace_id: Some(who.workspace_id),
                environment: Some(who.environment),
            })
            .await?;
        let mut since_day = rfc3339(since);
        since_day.truncate(10);
        Ok(UsageByDay {
            days: rows.iter().map(UsageDayView::of).collect(),
            since: since_day,
        })
    }
}
