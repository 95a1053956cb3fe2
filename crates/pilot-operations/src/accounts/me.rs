//! What the presented key resolves to: a Pilot addition to both documents, for
//! checking a key. Any valid key may ask.

use pilot_domain::Principal;

use crate::operations::Operations;
use crate::views::MeView;

impl Operations {
    pub fn me(&self, who: &Principal) -> MeView {
        MeView::of(who)
    }
}
