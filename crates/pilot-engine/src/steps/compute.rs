//! The steps that compute without calling out: `transform` and `condition`.

use pilot_domain::step::{ConditionStep, TransformStep};
use serde_json::json;

use super::StepOutcome;
use super::template::Templates;

/// `transform`: every value rendered; the output is the object of them.
pub fn transform(step: &TransformStep, templates: &Templates) -> Result<StepOutcome, String> {
    let values = serde_json::to_value(&step.values).map_err(|e| e.to_string())?;
    let rendered = templates.render_json(&values).map_err(|e| e.0)?;
    Ok(StepOutcome::Output(rendered))
}

/// `condition`: passes on a truthy expression, filters the run otherwise.
pub fn condition(step: &ConditionStep, templates: &Templates) -> Result<StepOutcome, String> {
    let passed = templates.truthy(&step.condition).map_err(|e| e.0)?;
    let output = json!({"passed": passed});
    Ok(if passed {
        StepOutcome::Output(output)
    } else {
        StepOutcome::Filtered(output)
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::{Map, Value};

    use super::*;
    use crate::steps::template::TemplateContext;

    fn templates() -> Templates {
        Templates::local(&TemplateContext {
            trigger: json!({"total": 120, "name": "Ada"}),
            request: None,
            outputs: Map::new(),
        })
    }

    #[test]
    fn transform_computes_typed_values() {
        let step = TransformStep {
            values: BTreeMap::from([
                (
                    "big".to_owned(),
                    Value::String("{{ trigger.total > 100 }}".into()),
                ),
                (
                    "greeting".to_owned(),
                    Value::String("Hi {{ trigger.name }}".into()),
                ),
            ]),
        };
        let StepOutcome::Output(out) = transform(&step, &templates()).unwrap() else {
            panic!("output")
        };
        assert_eq!(out, json!({"big": true, "greeting": "Hi Ada"}));
    }

    #[test]
    fn condition_filters_when_false_and_errors_when_undefined() {
        let pass = ConditionStep {
            condition: "trigger.total > 100".into(),
        };
        assert!(matches!(
            condition(&pass, &templates()),
            Ok(StepOutcome::Output(_))
        ));
        let stop = ConditionStep {
            condition: "{{ trigger.total > 500 }}".into(),
        };
        assert!(matches!(
            condition(&stop, &templates()),
            Ok(StepOutcome::Filtered(_))
        ));
        let broken = ConditionStep {
            condition: "trigger.nope > 1".into(),
        };
        assert!(condition(&broken, &templates()).is_err());
    }
}
