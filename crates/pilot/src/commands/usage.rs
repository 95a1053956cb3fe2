//! `pilot usage`: model calls, tokens and cost by UTC day and model.

use anyhow::bail;
use pilot_domain::{Credits, UnixMillis, WorkspaceId};
use pilot_store::{DAY_MS, UsageQuery, UsageSummaryRow};

use crate::app::App;
use crate::cli::UsageArgs;
use crate::config::Config;

pub async fn run(config: Config, args: UsageArgs) -> anyhow::Result<()> {
    let app = App::open(config).await?;
    let report = report(&app, &args).await;
    app.store.close().await;
    print!("{}", report?);
    Ok(())
}

/// The table `pilot usage` prints.
pub(crate) async fn report(app: &App, args: &UsageArgs) -> anyhow::Result<String> {
    let workspace_id = workspace_id(app, args.workspace.as_deref()).await?;
    let now = app.clock.now().0;
    let today = now - now.rem_euclid(DAY_MS);
    let since = UnixMillis(today - (i64::from(args.days.max(1)) - 1) * DAY_MS);
    let rows = app
        .store
        .usage_summary(&UsageQuery {
            since,
            workspace_id,
            environment: args.environment.map(Into::into),
        })
        .await?;
    Ok(table(&rows))
}

/// The id of the workspace named `name`, if one was named.
pub(crate) async fn workspace_id(
    app: &App,
    name: Option<&str>,
) -> anyhow::Result<Option<WorkspaceId>> {
    let Some(name) = name else {
        return Ok(None);
    };
    match app.store.find_workspace(name).await? {
        Some(workspace) => Ok(Some(workspace.id)),
        None => bail!("no workspace named {name:?} (see `pilot workspaces list`)"),
    }
}

fn day(at: UnixMillis) -> String {
    chrono::DateTime::from_timestamp_millis(at.0)
        .map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| at.0.to_string())
}

fn line(cells: [&str; 8]) -> String {
    let [day, provider, model, calls, estimated, input, output, cost] = cells;
    format!(
        "{day:<10}  {provider:<12} {model:<28} {calls:>7} {estimated:>9} {input:>12} {output:>12} {cost:>14}\n"
    )
}

/// Rows as a table with a total line. "estimated" counts calls whose provider
/// reported no usage, so their tokens are the `ceil(chars / 4)` estimate.
pub(crate) fn table(rows: &[UsageSummaryRow]) -> String {
    if rows.is_empty() {
        return "no model calls in this period\n".to_owned();
    }
    let mut out = line([
        "day",
        "provider",
        "model",
        "calls",
        "estimated",
        "input",
        "output",
        "cost",
    ]);
    let (mut calls, mut estimated, mut input, mut output) = (0i64, 0i64, 0i64, 0i64);
    let mut cost = Credits::ZERO;
    for row in rows {
        out.push_str(&line([
            &day(row.day),
            &row.provider,
            &row.model,
            &row.calls.to_string(),
            &row.estimated_calls.to_string(),
            &row.input_tokens.to_string(),
            &row.output_tokens.to_string(),
            &row.cost.to_string(),
        ]));
        calls = calls.saturating_add(row.calls);
        estimated = estimated.saturating_add(row.estimated_calls);
        input = input.saturating_add(row.input_tokens);
        output = output.saturating_add(row.output_tokens);
        cost = cost
            .checked_add(row.cost)
            .unwrap_or(Credits::from_micros(i64::MAX));
    }
    out.push_str(&line([
        "total",
        "",
        "",
        &calls.to_string(),
        &estimated.to_string(),
        &input.to_string(),
        &output.to_string(),
        &cost.to_string(),
    ]));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_with_totals() {
        let row = |model: &str, calls, cost| UsageSummaryRow {
            day: UnixMillis(1_700_006_400_000),
            provider: "openai".into(),
            model: model.into(),
            calls,
            estimated_calls: 1,
            input_tokens: 100,
            output_tokens: 10,
            cost: Credits::from_micros(cost),
        };
        let table = table(&[row("small", 2, 1_500), row("large", 1, 2_000_000)]);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 4);
        assert!(lines[0].starts_with("day"));
        assert!(
            lines[1].starts_with("2023-11-15  openai       small"),
            "{}",
            lines[1]
        );
        assert!(lines[1].ends_with(" 0.0015"));
        let total: Vec<&str> = lines[3].split_whitespace().collect();
        assert_eq!(total, ["total", "3", "2", "200", "20", "2.0015"]);
        assert_eq!(super::table(&[]), "no model calls in this period\n");
    }
}
