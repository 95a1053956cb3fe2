use anyhow::Context;
use pilot_domain::Environment;
use pilot_operations::UserLink;
use pilot_operations::views::WorkspaceCreated;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::{console, refused};
use crate::app::{App, cancel_on_signal};
use crate::config::Config;

pub async fn run(config: Config, embedded_worker: bool) -> anyhow::Result<()> {
    let app = App::open(config).await?;
    let (ops, operator) = console(&app);
    let first_start = ops.first_start(&operator).await.map_err(refused)?;
    let listener = TcpListener::bind(app.config.bind)
        .await
        .with_context(|| format!("binding {}", app.config.bind))?;
    let bound = listener.local_addr()?;
    let url = app.config.public_url(bound);
    let setup = app
        .operations(url.clone())
        .setup_link(&operator)
        .await
        .map_err(refused)?;
    println!(
        "{}",
        banner(&app, &url, embedded_worker, first_start.as_ref())
    );
    if let Some(setup) = setup {
        println!(
            "{}",
            setup_notice(&setup, app.config.dashboard.link_ttl_hours)
        );
    }

    let shutdown = CancellationToken::new();
    cancel_on_signal(shutdown.clone());
    app.serve(listener, shutdown, embedded_worker).await?;
    app.store.close().await;
    Ok(())
}

/// The dashboard's one-time setup link, while no user exists.
fn setup_notice(link: &UserLink, ttl_hours: u64) -> String {
    format!(
        "Dashboard setup (one time, expires in {ttl_hours} h): {}\n",
        link.url
    )
}

/// What a newcomer needs to make a first call.
fn banner(
    app: &App,
    url: &str,
    embedded_worker: bool,
    first_start: Option<&WorkspaceCreated>,
) -> String {
    let environments = &app.config.environments;
    let accepted: Vec<&str> = environments.accept.iter().map(|e| e.as_str()).collect();
    let mut out = format!(
        "Pilot {} listening on {url}\n  store: {} ({})\n  worker: {}\n  live AI work: {}\n  test AI work: {}\n  keys accepted: {}\n",
        env!("CARGO_PKG_VERSION"),
        app.store.backend().as_str(),
        crate::config::redact_url(&app.config.database_url()),
        if embedded_worker {
            "embedded"
        } else {
            "off (run `pilot worker`)"
        },
        app.models.describe(Environment::Live),
        app.models.describe(Environment::Test),
        accepted.join(", "),
    );
    // The example uses a key this server accepts: test where it can (free of live
    // effects), else live.
    let example = if environments.accepts(Environment::Test) {
        Environment::Test
    } else {
        Environment::Live
    };
    match first_start {
        Some(first) => {
            out.push_str(&format!(
                "\nFirst start: created workspace \"default\" with two API keys.\n\
                 They are shown only this once; store them now.\n\n\
                 \x20 live key:        {}\n\
                 \x20 webhook secret:  {}\n\
                 \x20 test key:        {}\n\
                 \x20 webhook secret:  {}\n\n\
                 Try it:\n\
                 \x20 curl {url}/api/v1/me -H \"Authorization: Bearer {}\"\n",
                first.live.token.expose(),
                first.live.webhook_secret.expose(),
                first.test.token.expose(),
                first.test.webhook_secret.expose(),
                match example {
                    Environment::Test => first.test.token.expose(),
                    Environment::Live => first.live.token.expose(),
                },
            ));
        }
        None => out.push_str(&format!(
            "\nTry it (with a key from first start, or `pilot keys create --env {example}`):\n\
             \x20 curl {url}/api/v1/me -H \"Authorization: Bearer pk_{example}_...\"\n"
        )),
    }
    out
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use pilot_domain::MasterKey;
    use pilot_engine::SystemClock;
    use pilot_store::Backend;
    use pilot_testkit::TestDb;

    use super::*;

    #[tokio::test]
    async fn the_banner_names_the_keys_accepted_and_tries_one_of_them() {
        let db = TestDb::new(Backend::Sqlite).await;
        let mut config = Config::defaults();
        let url = "http://127.0.0.1:8080";
        for (accept, named, example) in [
            (
                vec![Environment::Live, Environment::Test],
                "live, test",
                "pk_test_",
            ),
            (vec![Environment::Live], "live", "pk_live_"),
        ] {
            config.environments.accept = accept;
            let app = App::from_parts(
                config.clone(),
                db.store.clone(),
                MasterKey::generate().0,
                Arc::new(SystemClock),
            )
            .unwrap();
            let shown = banner(&app, url, true, None);
            assert!(
                shown.contains(&format!("keys accepted: {named}\n")),
                "{shown}"
            );
            assert!(shown.contains(&format!("Bearer {example}...")), "{shown}");
        }
    }
}
