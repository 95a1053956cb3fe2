//! Keys of one workspace or environment never read another's data.

use pilot_domain::{ApiKeyId, Environment, Scopes, UnixMillis, WorkspaceId, WorkspaceName};
use pilot_operations::{NewKey, Operator};
use pilot_testkit::backends;
use reqwest::StatusCode;

use crate::harness::spawn_app;

#[tokio::test]
async fn each_key_resolves_to_its_own_workspace_and_environment_only() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let store = &app.db.store;
        let created = app
            .app
            .operations(app.url.clone())
            .create_workspace(&Operator::console(), &WorkspaceName::parse("acme").unwrap())
            .await
            .unwrap();
        let (b_live, b_test) = (&created.live, &created.test);
        let acme = store.find_workspace("acme").await.unwrap().unwrap();
        assert_eq!(acme.id, WorkspaceId(created.workspace.id));

        let cases = [
            (&app.live_key, "default", "live"),
            (&app.test_key, "default", "test"),
            (&b_live.token.expose().to_owned(), "acme", "live"),
            (&b_test.token.expose().to_owned(), "acme", "test"),
        ];
        for (key, workspace, environment) in cases {
            for path in ["/api/v1/me", "/v1/api/me"] {
                let response = app.get(path).bearer_auth(key).send().await.unwrap();
                assert_eq!(response.status(), StatusCode::OK);
                let body: serde_json::Value = response.json().await.unwrap();
                assert_eq!(body["workspace"], workspace, "{path}");
                assert_eq!(body["environment"], environment, "{path}");
            }
        }

        // The store answers per workspace and environment, never across.
        let acme_test = store
            .list_api_keys(acme.id, Some(Environment::Test))
            .await
            .unwrap();
        assert_eq!(acme_test.len(), 1);
        assert_eq!(acme_test[0].prefix, b_test.token.display_prefix());
        let default = store.find_workspace("default").await.unwrap().unwrap();
        let default_keys = store.list_api_keys(default.id, None).await.unwrap();
        assert!(
            default_keys
                .iter()
                .all(|k| k.workspace_id == default.id && k.prefix != b_live.token.display_prefix())
        );
        // A key id from one workspace is unknown to another.
        assert!(
            store
                .sealed_webhook_secret(default.id, Environment::Live, acme_test[0].id)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            !store
                .revoke_api_key(default.id, acme_test[0].id, UnixMillis(2))
                .await
                .unwrap()
        );
    }
}

#[tokio::test]
async fn webhook_secrets_are_sealed_at_rest_and_open_under_the_master_key() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let store = &app.db.store;
        let live = app
            .app
            .operations(app.url.clone())
            .issue_key(
                &Operator::console(),
                "default",
                NewKey {
                    environment: Environment::Live,
                    name: "default live key".into(),
                    scopes: Scopes::all(),
                },
            )
            .await
            .unwrap();
        let default = store.find_workspace("default").await.unwrap().unwrap();
        let sealed = store
            .sealed_webhook_secret(default.id, Environment::Live, ApiKeyId(live.key.id))
            .await
            .unwrap()
            .unwrap();
        assert!(!sealed.contains(live.webhook_secret.expose()));
        assert_eq!(
            app.app.master_key.open(&sealed).unwrap(),
            live.webhook_secret.expose()
        );
    }
}
