//! The dashboard's accounts against a real store, on both backends: setup, sign-in
//! and its limits, session expiry on the injected clock, sign-out, disabling, the
//! hidden dashboard keys behind a session's `Principal`, owner-only operations and
//! tenant isolation.

use pilot_domain::{Environment, Role, Scopes, WorkspaceName};
use pilot_operations::dashboard::{LINK_GONE, WRONG_CREDENTIALS};
use pilot_operations::{ErrorKind, NewKey, Operator, SignedIn};
use pilot_testkit::backends;

use crate::harness::{Harness, operations};

const PASSWORD: &str = "correct horse battery";

/// A store with the default workspace and its first owner, signed in.
async fn with_owner(h: &Harness) -> SignedIn {
    let operator = Operator::console();
    h.ops.first_start(&operator).await.unwrap();
    let link = h
        .ops
        .setup_link(&operator)
        .await
        .unwrap()
        .expect("no users yet");
    h.ops
        .complete_setup(&link.token, "Owner@Example.com", PASSWORD)
        .await
        .unwrap()
}

/// A member of `workspace` with a password, signed in.
async fn member_of(h: &Harness, workspace: &str, email: &str) -> SignedIn {
    let link = h
        .ops
        .create_user(&Operator::console(), email, workspace, Role::Member)
        .await
        .unwrap();
    h.ops.complete_reset(&link.token, PASSWORD).await.unwrap()
}

#[tokio::test]
async fn setup_makes_the_owner_once_and_its_session_works() {
    for backend in backends() {
        let h = operations(backend).await;
        let operator = Operator::console();
        assert_eq!(
            h.ops.setup_link(&operator).await.unwrap(),
            None,
            "no workspace yet"
        );
        h.ops.first_start(&operator).await.unwrap();
        let link = h.ops.setup_link(&operator).await.unwrap().unwrap();
        assert_eq!(
            link.url,
            format!("http://127.0.0.1:8080/setup?token={}", link.token)
        );
        assert_eq!(link.expires_at, h.ops.now().0 / 1000 + 24 * 3600);
        let short = h
            .ops
            .complete_setup(&link.token, "a@b.c", "short")
            .await
            .unwrap_err();
        assert_eq!(short.kind, ErrorKind::Validation);
        assert!(short.message.contains("10 to 256"));
        let signed_in = h
            .ops
            .complete_setup(&link.token, " Owner@Example.com ", PASSWORD)
            .await
            .unwrap();
        assert_eq!(signed_in.session.email, "owner@example.com");
        assert_eq!(signed_in.session.role, "owner");
        assert_eq!(signed_in.session.workspace_name, "default");
        assert!(!signed_in.session.secure_cookie, "public_url is http");
        let session = h.ops.session(&signed_in.token).await.unwrap();
        assert_eq!(session, signed_in.session);
        assert_eq!(session.csrf_token, signed_in.csrf_token);

        let again = h
            .ops
            .complete_setup(&link.token, "x@y.z", PASSWORD)
            .await
            .unwrap_err();
        assert_eq!(
            (again.kind, again.message.as_str()),
            (ErrorKind::NotFound, LINK_GONE)
        );
        assert_eq!(
            h.ops.setup_link(&operator).await.unwrap(),
            None,
            "a user exists"
        );
        let unknown = h.ops.session("not-a-session").await.unwrap_err();
        assert_eq!(unknown.kind, ErrorKind::Unauthenticated);
    }
}

#[tokio::test]
async fn a_setup_link_opened_after_another_setup_is_refused() {
    for backend in backends() {
        let h = operations(backend).await;
        let operator = Operator::console();
        h.ops.first_start(&operator).await.unwrap();
        let first = h.ops.setup_link(&operator).await.unwrap().unwrap();
        let second = h.ops.setup_link(&operator).await.unwrap().unwrap();
        let (a, b) = tokio::join!(
            h.ops
                .complete_setup(&first.token, "one@example.com", PASSWORD),
            h.ops
                .complete_setup(&second.token, "two@example.com", PASSWORD),
        );
        assert_eq!(
            usize::from(a.is_ok()) + usize::from(b.is_ok()),
            1,
            "one owner"
        );
        let loser = a.err().or(b.err()).unwrap();
        assert_eq!(loser.message, LINK_GONE);
        assert_eq!(h.ops.list_users(&operator).await.unwrap().len(), 1);
    }
}

#[tokio::test]
async fn sign_in_refuses_alike_then_limits_per_account() {
    for backend in backends() {
        let h = operations(backend).await;
        with_owner(&h).await;
        let ok = h
            .ops
            .sign_in("owner@example.com", PASSWORD, "10.0.0.1")
            .await
            .unwrap();
        assert_eq!(ok.session.role, "owner");
        let wrong = h
            .ops
            .sign_in("owner@example.com", "wrong password!", "10.0.0.1")
            .await
            .unwrap_err();
        assert_eq!(
            (wrong.kind, wrong.message.as_str()),
            (ErrorKind::Unauthenticated, WRONG_CREDENTIALS)
        );
        let unknown = h
            .ops
            .sign_in("nobody@example.com", PASSWORD, "10.0.0.1")
            .await
            .unwrap_err();
        assert_eq!(
            unknown.message, WRONG_CREDENTIALS,
            "unknown email answered alike"
        );
        // Five attempts per account per minute: two used, three more, then 429.
        for _ in 0..3 {
            let refused = h
                .ops
                .sign_in("owner@example.com", "wrong password!", "10.0.0.2")
                .await
                .unwrap_err();
            assert_eq!(refused.kind, ErrorKind::Unauthenticated);
        }
        let limited = h
            .ops
            .sign_in("OWNER@example.com", PASSWORD, "10.0.0.3")
            .await
            .unwrap_err();
        assert_eq!(
            limited.kind,
            ErrorKind::RateLimited,
            "the right password too, from anywhere"
        );
        assert!(limited.retry_after_secs.is_some_and(|secs| secs >= 1));
        h.clock.advance_ms(1000 * (60));
        h.ops
            .sign_in("owner@example.com", PASSWORD, "10.0.0.3")
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn sessions_end_when_idle_and_at_their_absolute_end() {
    for backend in backends() {
        let h = operations(backend).await;
        let idle = with_owner(&h).await;
        h.clock.advance_ms(1000 * (12 * 3600 - 1));
        h.ops
            .session(&idle.token)
            .await
            .expect("used just before the idle end");
        h.clock.advance_ms(1000 * (12 * 3600 - 1));
        h.ops
            .session(&idle.token)
            .await
            .expect("the use moved the idle end");
        h.clock.advance_ms(1000 * (12 * 3600));
        let ended = h.ops.session(&idle.token).await.unwrap_err();
        assert_eq!(ended.kind, ErrorKind::Unauthenticated, "idle for 12 h");

        let busy = h
            .ops
            .sign_in("owner@example.com", PASSWORD, "10.0.0.1")
            .await
            .unwrap();
        for _ in 0..(7 * 24 / 6 - 1) {
            h.clock.advance_ms(1000 * (6 * 3600));
            h.ops.session(&busy.token).await.expect("used every 6 h");
        }
        h.clock.advance_ms(1000 * (6 * 3600));
        let ended = h.ops.session(&busy.token).await.unwrap_err();
        assert_eq!(
            ended.kind,
            ErrorKind::Unauthenticated,
            "7 days after sign-in"
        );
    }
}

#[tokio::test]
async fn sign_out_disable_and_reset_end_sessions() {
    for backend in backends() {
        let h = operations(backend).await;
        let operator = Operator::console();
        let owner = with_owner(&h).await;
        let member = member_of(&h, "default", "ada@example.com").await;
        let other = h
            .ops
            .sign_in("ada@example.com", PASSWORD, "10.0.0.1")
            .await
            .unwrap();
        h.ops.sign_out(&member.token).await.unwrap();
        assert!(h.ops.session(&member.token).await.is_err());
        h.ops
            .session(&other.token)
            .await
            .expect("only that session ended");

        let third = h
            .ops
            .sign_in("ada@example.com", PASSWORD, "10.0.0.1")
            .await
            .unwrap();
        assert_eq!(h.ops.sign_out_everywhere(&third.session).await.unwrap(), 2);
        assert!(h.ops.session(&other.token).await.is_err());
        assert!(h.ops.session(&third.token).await.is_err());
        h.ops
            .session(&owner.token)
            .await
            .expect("another user's session stays");

        // A reset ends the user's other sessions and signs them in.
        let before = h
            .ops
            .sign_in("ada@example.com", PASSWORD, "10.0.0.1")
            .await
            .unwrap();
        let link = h
            .ops
            .reset_link(&operator, "ada@example.com")
            .await
            .unwrap();
        assert!(link.url.starts_with("http://127.0.0.1:8080/reset?token="));
        let after = h
            .ops
            .complete_reset(&link.token, "a new long password")
            .await
            .unwrap();
        assert!(h.ops.session(&before.token).await.is_err());
        h.ops.session(&after.token).await.unwrap();
        let reused = h
            .ops
            .complete_reset(&link.token, "another long password")
            .await
            .unwrap_err();
        assert_eq!(reused.message, LINK_GONE);
        assert!(
            h.ops
                .sign_in("ada@example.com", PASSWORD, "10.0.0.4")
                .await
                .is_err()
        );

        // Disabling: sessions end, sign-in refused alike, the hidden key revoked.
        let principal = h
            .ops
            .dashboard_principal(&after.session, Environment::Test)
            .await
            .unwrap();
        h.ops
            .disable_user(&operator, "ada@example.com")
            .await
            .unwrap();
        assert!(h.ops.session(&after.token).await.is_err());
        let refused = h
            .ops
            .sign_in("ada@example.com", "a new long password", "10.0.0.5")
            .await
            .unwrap_err();
        assert_eq!(refused.message, WRONG_CREDENTIALS);
        let key =
            h.db.store
                .find_key_in_tenant(principal.workspace_id, Environment::Test, principal.key_id)
                .await
                .unwrap()
                .unwrap();
        assert!(key.key.revoked_at.is_some());
        let users = h.ops.list_users(&operator).await.unwrap();
        let ada = users.iter().find(|u| u.email == "ada@example.com").unwrap();
        assert!(ada.disabled);
        assert_eq!(ada.role, "member");
    }
}

#[tokio::test]
async fn the_dashboard_principal_works_and_its_key_stays_hidden() {
    for backend in backends() {
        let h = operations(backend).await;
        let owner = with_owner(&h).await;
        let who = h
            .ops
            .dashboard_principal(&owner.session, Environment::Test)
            .await
            .unwrap();
        assert_eq!(who.workspace_name, "default");
        assert_eq!(who.environment, Environment::Test);
        assert_eq!(who.scopes, Scopes::all());
        assert!(h.ops.list_pilots(&who).await.unwrap().pilots.is_empty());
        let again = h
            .ops
            .dashboard_principal(&owner.session, Environment::Test)
            .await
            .unwrap();
        assert_eq!(again.key_id, who.key_id, "one hidden key, reused");
        let live = h
            .ops
            .dashboard_principal(&owner.session, Environment::Live)
            .await
            .unwrap();
        assert_ne!(live.key_id, who.key_id);

        let listed = h.ops.owner_list_keys(&owner.session).await.unwrap();
        assert_eq!(listed.keys.len(), 2, "the two starter keys only");
        assert!(
            listed
                .keys
                .iter()
                .all(|k| k.id != who.key_id.0 && k.id != live.key_id.0)
        );
        let operator_list = h
            .ops
            .list_keys(&Operator::console(), "default", None)
            .await
            .unwrap();
        assert_eq!(operator_list.keys.len(), 2);
        let revoke = h
            .ops
            .owner_revoke_key(&owner.session, who.key_id.0)
            .await
            .unwrap_err();
        assert_eq!(
            revoke.kind,
            ErrorKind::NotFound,
            "a hidden key is no API key"
        );
        // No presented key ever has a hidden key's digest: a fresh key of the same
        // shape is simply unknown.
        let header = format!(
            "Bearer {}",
            pilot_domain::ApiKeyToken::generate(Environment::Test).expose()
        );
        assert_eq!(
            h.ops
                .authenticate(Some(Ok(&header)))
                .await
                .unwrap_err()
                .kind,
            ErrorKind::Unauthenticated
        );

        let issued = h
            .ops
            .owner_issue_key(
                &owner.session,
                NewKey {
                    environment: Environment::Live,
                    name: "ci".into(),
                    scopes: Scopes::all(),
                },
            )
            .await
            .unwrap();
        assert!(issued.webhook_secret.expose().starts_with("whsec_"));
        let header = format!("Bearer {}", issued.token.expose());
        assert_eq!(
            h.ops
                .authenticate(Some(Ok(&header)))
                .await
                .unwrap()
                .workspace_name,
            "default"
        );
        h.ops
            .owner_revoke_key(&owner.session, issued.key.id)
            .await
            .unwrap();
        assert_eq!(
            h.ops
                .owner_list_keys(&owner.session)
                .await
                .unwrap()
                .keys
                .len(),
            3
        );
    }
}

#[tokio::test]
async fn members_are_refused_owner_operations() {
    for backend in backends() {
        let h = operations(backend).await;
        let owner = with_owner(&h).await;
        let invite = h
            .ops
            .owner_invite(&owner.session, "Bob@Example.com", Role::Member)
            .await
            .unwrap();
        let bob = h.ops.complete_reset(&invite.token, PASSWORD).await.unwrap();
        assert_eq!(bob.session.role, "member");
        let members = h.ops.owner_list_members(&owner.session).await.unwrap();
        assert_eq!(
            members.iter().map(|m| m.email.as_str()).collect::<Vec<_>>(),
            ["owner@example.com", "bob@example.com"]
        );
        let key = NewKey {
            environment: Environment::Test,
            name: "x".into(),
            scopes: Scopes::all(),
        };
        let refusals = [
            h.ops.owner_issue_key(&bob.session, key).await.unwrap_err(),
            h.ops.owner_list_keys(&bob.session).await.unwrap_err(),
            h.ops.owner_revoke_key(&bob.session, 1).await.unwrap_err(),
            h.ops
                .owner_invite(&bob.session, "eve@example.com", Role::Owner)
                .await
                .unwrap_err(),
            h.ops.owner_list_members(&bob.session).await.unwrap_err(),
        ];
        for refused in refusals {
            assert_eq!(refused.kind, ErrorKind::Forbidden);
            assert!(
                refused.message.starts_with("Only an owner can "),
                "{}",
                refused.message
            );
        }
        // A member still works through the dashboard's principal.
        let who = h
            .ops
            .dashboard_principal(&bob.session, Environment::Test)
            .await
            .unwrap();
        h.ops.list_pilots(&who).await.unwrap();
        let taken = h
            .ops
            .owner_invite(&owner.session, "bob@example.com", Role::Member)
            .await
            .unwrap_err();
        assert_eq!(taken.kind, ErrorKind::Conflict);
    }
}

#[tokio::test]
async fn a_session_reaches_its_own_workspace_only() {
    for backend in backends() {
        let h = operations(backend).await;
        let operator = Operator::console();
        let owner = with_owner(&h).await;
        let other = WorkspaceName::parse("acme").unwrap();
        h.ops.create_workspace(&operator, &other).await.unwrap();
        let carol = member_of(&h, "acme", "carol@example.com").await;
        assert_eq!(carol.session.workspace_name, "acme");
        let carols = h
            .ops
            .dashboard_principal(&carol.session, Environment::Live)
            .await
            .unwrap();
        let owners = h
            .ops
            .dashboard_principal(&owner.session, Environment::Live)
            .await
            .unwrap();
        assert_eq!(carols.workspace_name, "acme");
        assert_ne!(carols.workspace_id, owners.workspace_id);
        assert_eq!(owners.workspace_name, "default");
        let members = h.ops.owner_list_members(&owner.session).await.unwrap();
        assert!(members.iter().all(|m| m.workspace == "default"));
        assert!(!members.iter().any(|m| m.email == "carol@example.com"));
    }
}

#[tokio::test]
async fn an_owner_disables_a_member_of_their_workspace_only() {
    for backend in backends() {
        let h = operations(backend).await;
        let owner = with_owner(&h).await;
        let bob = member_of(&h, "default", "bob@example.com").await;
        h.ops
            .create_workspace(&Operator::console(), &WorkspaceName::parse("acme").unwrap())
            .await
            .unwrap();
        let eve = member_of(&h, "acme", "eve@example.com").await;

        let refused = h
            .ops
            .owner_disable_member(&bob.session, owner.session.user_id)
            .await
            .unwrap_err();
        assert_eq!(refused.kind, ErrorKind::Forbidden, "a member may not");
        let own = h
            .ops
            .owner_disable_member(&owner.session, owner.session.user_id)
            .await
            .unwrap_err();
        assert_eq!(own.kind, ErrorKind::Validation, "nor an owner themself");
        let foreign = h
            .ops
            .owner_disable_member(&owner.session, eve.session.user_id)
            .await
            .unwrap_err();
        assert_eq!(
            foreign.kind,
            ErrorKind::NotFound,
            "another workspace's user"
        );
        h.ops.session(&eve.token).await.expect("untouched");

        h.ops
            .owner_disable_member(&owner.session, bob.session.user_id)
            .await
            .unwrap();
        let ended = h.ops.session(&bob.token).await.unwrap_err();
        assert_eq!(
            ended.kind,
            ErrorKind::Unauthenticated,
            "their session ended"
        );
        let again = h
            .ops
            .sign_in("bob@example.com", PASSWORD, "127.0.0.1")
            .await
            .unwrap_err();
        assert_eq!(
            again.kind,
            ErrorKind::Unauthenticated,
            "and they cannot sign in"
        );
        let members = h.ops.owner_list_members(&owner.session).await.unwrap();
        assert!(
            members
                .iter()
                .any(|m| m.email == "bob@example.com" && m.disabled)
        );
    }
}
