//! Dashboard accounts in the store, on SQLite and, when `PILOT_TEST_POSTGRES_URL` is
//! set, PostgreSQL: links are single use and expire; the first owner is made once
//! however many setups race; sessions join their user and membership; disabling a
//! user ends their sessions and revokes their hidden dashboard keys, which no key
//! listing shows and no digest lookup finds.

use std::sync::Arc;

use pilot_domain::{Environment, Role, Scopes, UnixMillis, WorkspaceName};
use pilot_store::{
    LinkPurpose, NewApiKey, NewSession, NewUserLink, Store, StoreError, WorkspaceRecord,
};
use pilot_testkit::{TestDb, backends};

const NOW: UnixMillis = UnixMillis(1_768_435_200_000);
const HOUR: i64 = 3_600_000;

async fn workspace(store: &dyn Store, name: &str) -> WorkspaceRecord {
    let name = WorkspaceName::parse(name).unwrap();
    store.create_workspace(&name, &[], NOW).await.unwrap().0
}

fn link(digest: &str, purpose: LinkPurpose, workspace: &WorkspaceRecord) -> NewUserLink {
    NewUserLink {
        digest: digest.into(),
        purpose,
        user_id: None,
        workspace_id: workspace.id,
        email: None,
        role: Role::Owner,
        expires_at: NOW.plus_ms(24 * HOUR),
        created_at: NOW,
    }
}

fn hidden_key(digest: &str, environment: Environment) -> NewApiKey {
    NewApiKey {
        environment,
        name: "dashboard".into(),
        prefix: "dash".into(),
        digest: digest.into(),
        scopes: Scopes::all(),
        webhook_secret_sealed: "v1:unused".into(),
    }
}

#[tokio::test]
async fn links_are_consumed_once_and_not_after_expiry() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let store = db.store.as_ref();
        let ws = workspace(store, "acme").await;
        store
            .create_user_link(&link("d1", LinkPurpose::Reset, &ws))
            .await
            .unwrap();
        assert_eq!(
            store
                .consume_user_link("d1", LinkPurpose::Setup, NOW)
                .await
                .unwrap(),
            None,
            "a link is only good for its purpose"
        );
        let used = store
            .consume_user_link("d1", LinkPurpose::Reset, NOW)
            .await
            .unwrap();
        assert_eq!(used.unwrap().workspace_id, ws.id);
        assert_eq!(
            store
                .consume_user_link("d1", LinkPurpose::Reset, NOW)
                .await
                .unwrap(),
            None,
            "second use refused"
        );
        store
            .create_user_link(&link("d2", LinkPurpose::Reset, &ws))
            .await
            .unwrap();
        let expiry = NOW.plus_ms(24 * HOUR);
        assert_eq!(
            store
                .consume_user_link("d2", LinkPurpose::Reset, expiry)
                .await
                .unwrap(),
            None,
            "refused at its expiry instant"
        );
        assert_eq!(
            store
                .consume_user_link("nope", LinkPurpose::Reset, NOW)
                .await
                .unwrap(),
            None
        );
    }
}

#[tokio::test]
async fn two_setups_at_once_make_exactly_one_owner() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let store: Arc<dyn Store> = db.store.clone();
        let ws = workspace(store.as_ref(), "default").await;
        store
            .create_user_link(&link("a", LinkPurpose::Setup, &ws))
            .await
            .unwrap();
        store
            .create_user_link(&link("b", LinkPurpose::Setup, &ws))
            .await
            .unwrap();
        assert!(!store.has_users().await.unwrap());
        let (s1, s2) = (store.clone(), store.clone());
        let one = tokio::spawn(async move {
            s1.create_first_owner("a", "one@example.com", "hash", NOW)
                .await
        });
        let two = tokio::spawn(async move {
            s2.create_first_owner("b", "two@example.com", "hash", NOW)
                .await
        });
        let (one, two) = (one.await.unwrap().unwrap(), two.await.unwrap().unwrap());
        assert_eq!(
            usize::from(one.is_some()) + usize::from(two.is_some()),
            1,
            "exactly one setup wins"
        );
        let owner = one.or(two).unwrap();
        assert_eq!(owner.role, Role::Owner);
        assert_eq!(owner.workspace_name, "default");
        let members = store.list_members(None).await.unwrap();
        assert_eq!(members.len(), 1);
        assert_eq!(members[0].user.email, owner.user.email);
        // Both links are used up, and a new one finds a user already there.
        store
            .create_user_link(&link("c", LinkPurpose::Setup, &ws))
            .await
            .unwrap();
        assert_eq!(
            store
                .create_first_owner("c", "three@example.com", "hash", NOW)
                .await
                .unwrap(),
            None
        );
        assert_eq!(
            store
                .consume_user_link("c", LinkPurpose::Setup, NOW)
                .await
                .unwrap(),
            None
        );
    }
}

#[tokio::test]
async fn sessions_disable_and_hidden_keys() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let store = db.store.as_ref();
        let ws = workspace(store, "acme").await;
        let user = store
            .create_user("ada@example.com", ws.id, Role::Member, NOW)
            .await
            .unwrap();
        assert!(matches!(
            store
                .create_user("ada@example.com", ws.id, Role::Member, NOW)
                .await,
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(user.password_hash, None);
        assert!(store.set_password(user.id, "phc").await.unwrap());
        let found = store
            .find_user_by_email("ada@example.com")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found.password_hash.as_deref(), Some("phc"));
        for digest in ["s1", "s2"] {
            store
                .create_session(&NewSession {
                    digest: digest.into(),
                    user_id: user.id,
                    workspace_id: ws.id,
                    csrf_token: "csrf".into(),
                    now: NOW,
                    expires_at: NOW.plus_ms(HOUR),
                })
                .await
                .unwrap();
        }
        let session = store.find_session("s1").await.unwrap().unwrap();
        assert_eq!(
            (
                session.email.as_str(),
                session.role,
                session.workspace_name.as_str()
            ),
            ("ada@example.com", Role::Member, "acme")
        );
        store
            .touch_session("s1", NOW.plus_ms(60_000))
            .await
            .unwrap();
        assert_eq!(
            store
                .find_session("s1")
                .await
                .unwrap()
                .unwrap()
                .last_seen_at,
            NOW.plus_ms(60_000)
        );
        assert_eq!(
            store
                .delete_user_sessions(user.id, Some("s1"))
                .await
                .unwrap(),
            1
        );
        assert!(store.find_session("s2").await.unwrap().is_none());

        let key = hidden_key("hidden-live", Environment::Live);
        let first = store
            .dashboard_key(user.id, ws.id, Environment::Live, &key, NOW)
            .await
            .unwrap();
        let again = store
            .dashboard_key(
                user.id,
                ws.id,
                Environment::Live,
                &hidden_key("other", Environment::Live),
                NOW,
            )
            .await
            .unwrap();
        assert_eq!(
            first.key.id, again.key.id,
            "one hidden key per user, workspace, environment"
        );
        assert!(
            store.list_api_keys(ws.id, None).await.unwrap().is_empty(),
            "never listed"
        );
        assert!(
            store
                .find_key_by_digest("hidden-live")
                .await
                .unwrap()
                .is_none(),
            "never authenticates"
        );
        assert!(
            !store
                .revoke_api_key(ws.id, first.key.id, NOW)
                .await
                .unwrap()
        );

        assert!(store.disable_user(user.id, NOW).await.unwrap());
        assert!(!store.disable_user(user.id, NOW).await.unwrap());
        let disabled = store
            .find_user_by_email("ada@example.com")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(disabled.disabled_at, Some(NOW));
        assert!(
            store.find_session("s1").await.unwrap().is_none(),
            "sessions ended"
        );
        let revoked = store
            .find_key_in_tenant(ws.id, Environment::Live, first.key.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(revoked.key.revoked_at, Some(NOW), "hidden keys revoked");
    }
}
