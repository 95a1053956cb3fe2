//! `pilot ask`: one prompt through the configured model layer, metered like any
//! other call (owner `cli`/`ask`).

use anyhow::{Context, anyhow};
use pilot_domain::Environment;
use pilot_models::{CallContext, ChatRequest, Completion, JsonSchema, ModelError};

use crate::app::App;
use crate::cli::AskArgs;
use crate::commands::usage::workspace_id;
use crate::config::Config;

pub async fn run(config: Config, args: AskArgs) -> anyhow::Result<()> {
    let app = App::open(config).await?;
    let answer = answer(&app, &args).await;
    app.store.close().await;
    println!("{}", answer?);
    Ok(())
}

/// What `pilot ask` prints: the answer (JSON pretty-printed when a schema was
/// given), then model, tokens, latency and cost.
pub(crate) async fn answer(app: &App, args: &AskArgs) -> anyhow::Result<String> {
    let mut request = ChatRequest::prompt(&args.prompt);
    if let Some(model) = &args.model {
        request = request.with_model(model);
    }
    if let Some(path) = &args.json_schema {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the JSON schema {}", path.display()))?;
        let schema = serde_json::from_str(&text)
            .with_context(|| format!("{} is not JSON", path.display()))?;
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("answer");
        request = request.with_schema(JsonSchema::new(name, schema));
    }
    let environment: Environment = args.environment.into();
    let mut ctx = CallContext::new(environment, "cli", "ask");
    ctx.workspace_id = workspace_id(app, args.workspace.as_deref()).await?;

    let hint = |error: ModelError| match (&error, environment) {
        (ModelError::NotConfigured(_), Environment::Live) => {
            anyhow!("{error}\nhint: `pilot ask --env test …` answers with the scripted model")
        }
        _ => anyhow::Error::new(error),
    };
    let (body, completion) = if request.json_schema.is_some() {
        let done = app
            .models
            .complete_json(&ctx, &args.role, &request)
            .await
            .map_err(hint)?;
        (serde_json::to_string_pretty(&done.value)?, done.completion)
    } else {
        let done = app
            .models
            .complete(&ctx, &args.role, &request)
            .await
            .map_err(hint)?;
        (done.text.clone(), done)
    };
    Ok(format!("{body}\n\n{}", summary(&completion)))
}

fn summary(done: &Completion) -> String {
    let estimated = if done.usage.known {
        ""
    } else {
        " (estimated: the provider reported no usage)"
    };
    let mut out = format!(
        "model:    {} via {}\ntokens:   {} in, {} out{estimated}\nlatency:  {} ms\ncost:     {} credits",
        done.model,
        done.provider,
        done.usage.input_tokens,
        done.usage.output_tokens,
        done.latency.as_millis(),
        done.cost,
    );
    if done.scripted {
        out.push_str("\nscripted: the built-in scripted model answered, not a real model");
    }
    out
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use clap::Parser;
    use pilot_domain::MasterKey;
    use pilot_engine::SystemClock;
    use pilot_store::Backend;
    use pilot_testkit::TestDb;

    use super::*;
    use crate::cli::{Cli, Command, UsageArgs};
    use crate::commands::usage::report;

    fn ask_args(argv: &[&str]) -> AskArgs {
        let argv = ["pilot", "ask"].iter().chain(argv);
        match Cli::try_parse_from(argv).unwrap().command {
            Command::Ask(args) => args,
            other => panic!("parsed as {other:?}"),
        }
    }

    #[tokio::test]
    async fn asks_the_scripted_model_and_meters_the_call() {
        let db = TestDb::new(Backend::Sqlite).await;
        let app = App::from_parts(
            Config::defaults(),
            db.store.clone(),
            MasterKey::generate().0,
            Arc::new(SystemClock),
        )
        .unwrap();

        let out = answer(&app, &ask_args(&["--env", "test", "Name our release"]))
            .await
            .unwrap();
        assert!(out.starts_with("[scripted] "), "{out}");
        assert!(out.contains("model:    scripted via scripted"), "{out}");
        // Priced like a live call (the default price: no model is configured).
        let cost = out
            .lines()
            .find_map(|line| line.strip_prefix("cost:     "))
            .and_then(|rest| rest.strip_suffix(" credits"))
            .and_then(|number| number.parse::<f64>().ok())
            .unwrap_or_else(|| panic!("a cost line: {out}"));
        assert!(cost > 0.0, "{out}");
        assert!(out.contains("scripted: the built-in"), "{out}");

        let dir = tempfile::tempdir().unwrap();
        let schema = dir.path().join("verdict.json");
        std::fs::write(
            &schema,
            r#"{"type":"object","properties":{"score":{"type":"integer","minimum":1,"maximum":3}}}"#,
        )
        .unwrap();
        let schema = schema.to_str().unwrap();
        let out = answer(
            &app,
            &ask_args(&["--env", "test", "--json-schema", schema, "Rate it"]),
        )
        .await
        .unwrap();
        let json_part = out.split("\n\n").next().unwrap();
        let value: serde_json::Value = serde_json::from_str(json_part).unwrap();
        assert!((1..=3).contains(&value["score"].as_i64().unwrap()), "{out}");

        // Live is off by default: a clear error and no charge.
        let error = answer(&app, &ask_args(&["hello"])).await.unwrap_err();
        assert!(error.to_string().contains("live AI work is off"), "{error}");
        assert!(error.to_string().contains("--env test"), "{error}");

        let usage = UsageArgs {
            days: 1,
            workspace: None,
            environment: None,
        };
        let table = report(&app, &usage).await.unwrap();
        let total = table.lines().last().unwrap();
        let cells: Vec<&str> = total.split_whitespace().collect();
        assert_eq!(&cells[..3], ["total", "2", "0"], "{table}");
        assert!(table.contains("scripted"), "{table}");
    }

    #[test]
    fn roles_parse_and_bad_ones_are_refused() {
        let args = ask_args(&["--role", "persona:skeptic", "hi"]);
        assert_eq!(args.role, pilot_models::Role::Persona("skeptic".into()));
        assert!(Cli::try_parse_from(["pilot", "ask", "--role", "judge", "hi"]).is_err());
    }
}
