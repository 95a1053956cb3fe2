//! `GET /v1/api/pricing`: the estimate table submits reserve from and the model
//! prices in force, for the key's environment (seed 003 §8).

use pilot_domain::{Difficulty, Mode, Principal, Scope};

use crate::authorize;
use crate::error::OpError;
use crate::operations::Operations;
use crate::views::{EstimateView, ModelPriceView, PricingView};

impl Operations {
    #[tracing::instrument(
        name = "pricing",
        skip_all,
        fields(workspace = who.workspace_id.0, environment = who.environment.as_str())
    )]
    pub fn pricing(&self, who: &Principal) -> Result<PricingView, OpError> {
        authorize::require(who, Scope::DeliberationsRead)?;
        let table = &self.policy().deliberations.estimates;
        let estimates = Mode::ALL
            .iter()
            .flat_map(|&mode| {
                Difficulty::ALL.iter().map(move |&difficulty| EstimateView {
                    difficulty,
                    estimated_credits: table.estimate(mode, difficulty),
                    mode,
                })
            })
            .collect();
        let models = self.services().models.config();
        let prices = models
            .prices
            .iter()
            .map(|(model, price)| ModelPriceView {
                input_per_million: price.input_per_million,
                model: model.clone(),
                output_per_million: price.output_per_million,
            })
            .collect();
        Ok(PricingView {
            default_price: models.default_price.into(),
            environment: who.environment.as_str().to_owned(),
            estimates,
            prices,
        })
    }
}
