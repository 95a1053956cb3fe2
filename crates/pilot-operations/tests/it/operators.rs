//! The operator's operations — workspaces, keys, credits, first start — against a
//! real store: what they write, what they answer, and what they refuse.

use pilot_domain::{ApiKeyId, Credits, Environment, Scope, Scopes, WorkspaceName};
use pilot_operations::{DEFAULT_WORKSPACE, ErrorKind, NewKey, Operator, STARTER_TEST_CREDITS};
use pilot_testkit::backends;

use crate::harness::{START, operations};

fn name(raw: &str) -> WorkspaceName {
    WorkspaceName::parse(raw).unwrap()
}

fn empty_key() -> NewKey {
    NewKey {
        environment: Environment::Live,
        name: "empty".into(),
        scopes: Scopes::new(Vec::new()),
    }
}

fn ci_key(environment: Environment, scopes: &str) -> NewKey {
    NewKey {
        environment,
        name: "ci".into(),
        scopes: Scopes::parse(scopes).unwrap(),
    }
}

#[tokio::test]
async fn first_start_creates_the_default_workspace_once() {
    for backend in backends() {
        let h = operations(backend).await;
        let operator = Operator::console();
        let first = h
            .ops
            .first_start(&operator)
            .await
            .unwrap()
            .expect("an empty store gets the default workspace");
        assert_eq!(first.workspace.name, DEFAULT_WORKSPACE);
        assert_eq!(first.live.key.environment, "live");
        assert_eq!(first.live.key.name, "default live key");
        assert_eq!(first.test.key.name, "default test key");
        assert_eq!(first.live.token.environment(), Environment::Live);
        assert_eq!(first.test.token.environment(), Environment::Test);
        assert!(first.live.webhook_secret.expose().starts_with("whsec_"));
        assert_eq!(
            h.ops.first_start(&operator).await.unwrap(),
            None,
            "a store with a workspace is left alone"
        );
        // The keys it printed authenticate, as what they were made for.
        let header = format!("Bearer {}", first.test.token.expose());
        let who = h.ops.authenticate(Some(Ok(&header))).await.unwrap();
        assert_eq!(who.workspace_name, DEFAULT_WORKSPACE);
        assert_eq!(who.environment, Environment::Test);
        assert_eq!(who.scopes, Scopes::all());
    }
}

#[tokio::test]
async fn a_new_workspace_gets_two_keys_and_starter_test_credits_only() {
    for backend in backends() {
        let h = operations(backend).await;
        let operator = Operator::console();
        let created = h
            .ops
            .create_workspace(&operator, &name("acme"))
            .await
            .unwrap();
        assert_eq!(created.workspace.name, "acme");
        assert_eq!(created.workspace.created_at, START);
        for (issued, environment) in [
            (&created.live, Environment::Live),
            (&created.test, Environment::Test),
        ] {
            assert_eq!(issued.workspace, "acme");
            assert_eq!(issued.key.environment, environment.as_str());
            assert_eq!(issued.key.prefix, issued.token.display_prefix());
            assert_eq!(issued.key.revoked_at, None);
            assert_eq!(issued.key.scopes.len(), Scope::ALL.len());
        }
        let test = h
            .ops
            .credit_balance(&operator, "acme", Environment::Test)
            .await
            .unwrap();
        assert_eq!(test.balance, STARTER_TEST_CREDITS);
        assert_eq!(test.environment, "test");
        let live = h
            .ops
            .credit_balance(&operator, "acme", Environment::Live)
            .await
            .unwrap();
        assert_eq!(live.balance, Credits::ZERO);

        let taken = h
            .ops
            .create_workspace(&operator, &name("acme"))
            .await
            .unwrap_err();
        assert_eq!(taken.kind, ErrorKind::Conflict);
        assert_eq!(taken.message, "a workspace named acme already exists");

        h.clock.advance_ms(1_000);
        h.ops
            .create_workspace(&operator, &name("beta"))
            .await
            .unwrap();
        let listed = h.ops.list_workspaces(&operator).await.unwrap();
        let names: Vec<&str> = listed.workspaces.iter().map(|w| w.name.as_str()).collect();
        assert_eq!(names, ["acme", "beta"], "oldest first");
    }
}

#[tokio::test]
async fn an_issued_key_is_stored_as_digest_prefix_and_sealed_secret_and_shown_once() {
    for backend in backends() {
        let h = operations(backend).await;
        let operator = Operator::console();
        h.ops.first_start(&operator).await.unwrap();
        let issued = h
            .ops
            .issue_key(
                &operator,
                DEFAULT_WORKSPACE,
                ci_key(Environment::Test, "deliberations:read"),
            )
            .await
            .unwrap();
        assert_eq!(issued.key.name, "ci");
        assert_eq!(issued.key.scopes, ["deliberations:read"]);
        assert!(issued.token.expose().starts_with("pk_test_"));
        // Serialized, the answer shows the key and secret; `Debug` shows neither.
        let json = serde_json::to_value(&issued).unwrap();
        assert_eq!(json["token"], issued.token.expose());
        assert_eq!(json["webhook_secret"], issued.webhook_secret.expose());
        assert_eq!(json["key"]["prefix"], issued.key.prefix);
        let debug = format!("{issued:?}");
        assert!(!debug.contains(issued.token.expose()), "{debug}");
        assert!(!debug.contains(issued.webhook_secret.expose()), "{debug}");

        // The store holds the digest and the sealed secret, never either in clear.
        let found =
            h.db.store
                .find_key_by_digest(&issued.token.digest())
                .await
                .unwrap()
                .expect("stored by digest");
        assert_eq!(found.key.id.0, issued.key.id);
        let sealed =
            h.db.store
                .sealed_webhook_secret(found.key.workspace_id, Environment::Test, found.key.id)
                .await
                .unwrap()
                .unwrap();
        assert!(!sealed.contains(issued.webhook_secret.expose()));
        assert_eq!(
            h.master_key.open(&sealed).unwrap(),
            issued.webhook_secret.expose()
        );
        // The key reads only what its scope allows.
        let header = format!("Bearer {}", issued.token.expose());
        let who = h.ops.authenticate(Some(Ok(&header))).await.unwrap();
        assert!(who.allows(Scope::DeliberationsRead));
        assert!(!who.allows(Scope::PilotsRead));
    }
}

#[tokio::test]
async fn keys_are_listed_by_workspace_and_environment_and_revoked_once() {
    for backend in backends() {
        let h = operations(backend).await;
        let operator = Operator::console();
        h.ops.first_start(&operator).await.unwrap();
        let acme = h
            .ops
            .create_workspace(&operator, &name("acme"))
            .await
            .unwrap();
        let extra = h
            .ops
            .issue_key(&operator, "acme", ci_key(Environment::Live, "pilots:write"))
            .await
            .unwrap();

        let all = h.ops.list_keys(&operator, "acme", None).await.unwrap();
        assert_eq!(all.workspace, "acme");
        let ids: Vec<i64> = all.keys.iter().map(|k| k.id).collect();
        assert_eq!(ids, [acme.live.key.id, acme.test.key.id, extra.key.id]);
        let live = h
            .ops
            .list_keys(&operator, "acme", Some(Environment::Live))
            .await
            .unwrap();
        assert!(live.keys.iter().all(|k| k.environment == "live"));
        assert_eq!(live.keys.len(), 2);
        let default = h
            .ops
            .list_keys(&operator, DEFAULT_WORKSPACE, None)
            .await
            .unwrap();
        assert!(default.keys.iter().all(|k| !ids.contains(&k.id)));

        // A key of acme cannot be revoked through another workspace.
        let elsewhere = h
            .ops
            .revoke_key(&operator, DEFAULT_WORKSPACE, ApiKeyId(extra.key.id))
            .await
            .unwrap_err();
        assert_eq!(elsewhere.kind, ErrorKind::NotFound);

        h.clock.advance_ms(5_000);
        let revoked = h
            .ops
            .revoke_key(&operator, "acme", ApiKeyId(extra.key.id))
            .await
            .unwrap();
        assert_eq!(revoked.id, extra.key.id);
        assert_eq!(revoked.revoked_at, START.plus_ms(5_000));
        let again = h
            .ops
            .revoke_key(&operator, "acme", ApiKeyId(extra.key.id))
            .await
            .unwrap_err();
        assert_eq!(again.kind, ErrorKind::NotFound);
        assert_eq!(
            again.message,
            format!("workspace acme has no active key with id {}", extra.key.id)
        );
        let listed = h.ops.list_keys(&operator, "acme", None).await.unwrap();
        let shown = listed.keys.iter().find(|k| k.id == extra.key.id).unwrap();
        assert_eq!(shown.revoked_at, Some(START.plus_ms(5_000)));
        let header = format!("Bearer {}", extra.token.expose());
        let refused = h.ops.authenticate(Some(Ok(&header))).await.unwrap_err();
        assert_eq!(refused.kind, ErrorKind::Unauthenticated);
    }
}

#[tokio::test]
async fn credits_are_granted_per_environment_and_the_ledger_sums_to_the_balance() {
    for backend in backends() {
        let h = operations(backend).await;
        let operator = Operator::console();
        h.ops
            .create_workspace(&operator, &name("acme"))
            .await
            .unwrap();
        let grant = |amount: i64, note: &'static str| {
            let ops = h.ops.clone();
            let operator = operator.clone();
            async move {
                ops.grant_credits(
                    &operator,
                    "acme",
                    Environment::Live,
                    Credits::from_micros(amount),
                    note,
                )
                .await
            }
        };
        let first = grant(4_200_000, "granted by an operator").await.unwrap();
        assert_eq!(first.amount, Credits::from_micros(4_200_000));
        assert_eq!(first.balance, Credits::from_micros(4_200_000));
        assert_eq!(
            (first.workspace.as_str(), first.environment.as_str()),
            ("acme", "live")
        );
        let second = grant(5_000_000, "for the pilot").await.unwrap();
        assert_eq!(second.balance, Credits::from_micros(9_200_000));
        for refused in [0, -1] {
            let error = grant(refused, "no").await.unwrap_err();
            assert_eq!(error.kind, ErrorKind::Validation);
            assert_eq!(
                error.message,
                "the amount must be a positive number of credits"
            );
        }

        let ledger = h
            .ops
            .credit_ledger(&operator, "acme", Environment::Live, 50)
            .await
            .unwrap();
        let notes: Vec<&str> = ledger.entries.iter().map(|e| e.note.as_str()).collect();
        assert_eq!(
            notes,
            ["for the pilot", "granted by an operator"],
            "newest first"
        );
        assert!(
            ledger
                .entries
                .iter()
                .all(|e| e.kind == "grant" && e.deliberation_id.is_none())
        );
        assert_eq!(
            ledger.entries[0].balance_after,
            Credits::from_micros(9_200_000)
        );
        let sum: i64 = ledger.entries.iter().map(|e| e.amount.micros()).sum();
        let balance = h
            .ops
            .credit_balance(&operator, "acme", Environment::Live)
            .await
            .unwrap();
        assert_eq!(sum, balance.balance.micros());
        let newest = h
            .ops
            .credit_ledger(&operator, "acme", Environment::Live, 1)
            .await
            .unwrap();
        assert_eq!(newest.entries.len(), 1);
        let none = h
            .ops
            .credit_ledger(&operator, "acme", Environment::Live, 0)
            .await
            .unwrap_err();
        assert_eq!(none.kind, ErrorKind::Validation);
        // The test environment's ledger is its own: the starter credits only.
        let test = h
            .ops
            .credit_ledger(&operator, "acme", Environment::Test, 50)
            .await
            .unwrap();
        assert_eq!(test.entries.len(), 1);
        assert_eq!(test.entries[0].note, "starter test credits");
    }
}

#[tokio::test]
async fn an_unknown_workspace_is_not_found_by_every_operation_before_its_input_is_judged() {
    for backend in backends() {
        let h = operations(backend).await;
        let operator = Operator::console();
        let ops = &h.ops;
        let errors = [
            ops.list_keys(&operator, "nope", None).await.unwrap_err(),
            ops.issue_key(&operator, "nope", ci_key(Environment::Live, "pilots:read"))
                .await
                .unwrap_err(),
            ops.revoke_key(&operator, "nope", ApiKeyId(1))
                .await
                .unwrap_err(),
            ops.grant_credits(
                &operator,
                "nope",
                Environment::Live,
                Credits::from_credits(1),
                "",
            )
            .await
            .unwrap_err(),
            ops.credit_balance(&operator, "nope", Environment::Live)
                .await
                .unwrap_err(),
            ops.credit_ledger(&operator, "nope", Environment::Live, 1)
                .await
                .unwrap_err(),
        ];
        for error in errors {
            assert_eq!(error.kind, ErrorKind::NotFound);
            assert_eq!(error.message, "no workspace named \"nope\"");
        }
        // The workspace is looked up first: an unknown one is not found, whatever
        // else is wrong with the request.
        let unknown_and_empty = ops
            .issue_key(&operator, "nope", empty_key())
            .await
            .unwrap_err();
        assert_eq!(unknown_and_empty.kind, ErrorKind::NotFound);
        ops.create_workspace(&operator, &name("acme"))
            .await
            .unwrap();
        let empty = ops
            .issue_key(&operator, "acme", empty_key())
            .await
            .unwrap_err();
        assert_eq!(empty.kind, ErrorKind::Validation);
        assert_eq!(empty.message, "a key needs at least one scope");
    }
}
