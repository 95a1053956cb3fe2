//! What the presented key resolves to: a Pilot addition to both documents, for
//! checking a key. Any valid key may ask.

use pilot_domain::Principal;

use crate::operations::Operations;
use crate::views::MeView;

impl Operations {
    #[tracing::instrument(
        name = "me",
        skip_all,
        fields(workspace = who.workspace_id.0, environment = who.environment.as_str())
    )]
    pub fn me(&self, who: &Principal) -> MeView {
        MeView::of(who)
    }
}
