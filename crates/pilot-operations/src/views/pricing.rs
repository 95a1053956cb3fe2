//! `GET /v1/api/pricing`: what a deliberation costs on this server — the Deliberations
//! document's "per-mode estimate ranges and the live credit table" (§8).

use pilot_domain::{Credits, Difficulty, Mode, Price};
use serde::Serialize;
use utoipa::ToSchema;

/// The estimate table submits reserve from, and the model prices calls are charged
/// at, for the key's environment. Nothing in it is secret: no provider, URL or key.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct PricingView {
    /// The price of a model that `prices` does not list.
    pub default_price: PriceView,
    /// The key's environment, whose balance pays.
    pub environment: String,
    /// What a submission reserves (its `estimated_credits`), for each mode and
    /// difficulty; the final charge is the calls' metered cost, the excess refunded.
    pub estimates: Vec<EstimateView>,
    /// Credits per million tokens, by model, in model-name order. In `test` the
    /// scripted model's calls are charged at the price of the model its role is
    /// configured with (the `scripted` entry, when listed, prices them all instead).
    pub prices: Vec<ModelPriceView>,
}

/// One row of the estimate table.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct EstimateView {
    pub difficulty: Difficulty,
    /// The credits reserved at submit.
    #[schema(value_type = f64)]
    pub estimated_credits: Credits,
    pub mode: Mode,
}

/// A model's price.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct ModelPriceView {
    #[schema(value_type = f64)]
    pub input_per_million: Credits,
    pub model: String,
    #[schema(value_type = f64)]
    pub output_per_million: Credits,
}

/// Credits per million tokens, each way.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct PriceView {
    #[schema(value_type = f64)]
    pub input_per_million: Credits,
    #[schema(value_type = f64)]
    pub output_per_million: Credits,
}

impl From<Price> for PriceView {
    fn from(price: Price) -> Self {
        PriceView {
            input_per_million: price.input_per_million,
            output_per_million: price.output_per_million,
        }
    }
}
