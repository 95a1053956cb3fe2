//! The dashboard over HTTP, as a browser meets it: a person of one workspace never
//! sees another's pilots or runs, forms without the session's CSRF token are
//! refused, text is escaped, every page carries the strict CSP, and a session
//! cookie authenticates no API (nor a key the dashboard).

use pilot_domain::{Role, WorkspaceName};
use pilot_operations::Operator;
use pilot_testkit::backends;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_SECURITY_POLICY, COOKIE, LOCATION, SET_COOKIE};
use serde_json::json;

use crate::harness::{TestApp, spawn_app};
use crate::pilots::create;

const PASSWORD: &str = "a long enough password";

/// A client that does not follow redirects (so cookies and `Location` are seen).
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// `name=value` of the `Set-Cookie` named `name`.
fn cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or_default().to_owned())
        .find(|pair| pair.starts_with(&format!("{name}=")))
}

/// The hidden `_csrf` of a form in `html`.
fn csrf_of(html: &str) -> String {
    let at = html.find(r#"name="_csrf" value=""#).expect("a CSRF field")
        + r#"name="_csrf" value=""#.len();
    html[at..html[at..].find('"').unwrap() + at].to_owned()
}

/// A person of `workspace` with a password, signed in through the sign-in form: the
/// session cookie and the session's CSRF token.
async fn signed_in(app: &TestApp, email: &str, workspace: &str) -> (String, String) {
    let ops = app.app.operations(app.url.clone());
    let link = ops
        .create_user(&Operator::console(), email, workspace, Role::Owner)
        .await
        .unwrap();
    ops.complete_reset(&link.token, PASSWORD).await.unwrap();
    let http = client();
    let form = http
        .get(format!("{}/signin", app.url))
        .send()
        .await
        .unwrap();
    let form_cookie = cookie(&form, "pilot_csrf").expect("the sign-in form sets its CSRF cookie");
    let token = csrf_of(&form.text().await.unwrap());
    let signed = http
        .post(format!("{}/signin", app.url))
        .header(COOKIE, &form_cookie)
        .form(&[
            ("_csrf", token.as_str()),
            ("email", email),
            ("password", PASSWORD),
            ("next", "/pilots"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(signed.status(), StatusCode::SEE_OTHER, "signed in");
    assert_eq!(signed.headers()[LOCATION], "/pilots");
    let session = cookie(&signed, "pilot_session").expect("a session cookie");
    let set = signed
        .headers()
        .get(SET_COOKIE)
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Lax"),
        "{set}"
    );
    let page = http
        .get(format!("{}/pilots", app.url))
        .header(COOKIE, &session)
        .send()
        .await
        .unwrap();
    let csrf = csrf_of(&page.text().await.unwrap());
    (session, csrf)
}

#[tokio::test]
async fn a_session_sees_its_own_workspace_only_and_forms_need_its_token() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let ops = app.app.operations(app.url.clone());
        let acme = ops
            .create_workspace(&Operator::console(), &WorkspaceName::parse("acme").unwrap())
            .await
            .unwrap();
        // A pilot in each workspace, through the API.
        let ours = create(
            &app,
            &app.live_key,
            json!({"title": "<script>alert(1)</script>", "steps": [{"id": "t", "type": "transform", "values": {"a": 1}}]}),
        )
        .await;
        let theirs = create(
            &app,
            acme.live.token.expose(),
            json!({"title": "Acme secret plan", "steps": [{"id": "t", "type": "transform", "values": {"a": 1}}]}),
        )
        .await;

        let (session, csrf) = signed_in(&app, "ada@example.com", "default").await;
        let http = client();
        let get = |path: String| {
            let (http, session) = (http.clone(), session.clone());
            async move { http.get(path).header(COOKIE, session).send().await.unwrap() }
        };
        let list = get(format!("{}/pilots", app.url)).await;
        assert_eq!(list.status(), StatusCode::OK);
        let csp = list.headers()[CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            csp.contains("default-src 'none'") && csp.contains("script-src 'self'"),
            "{csp}"
        );
        let html = list.text().await.unwrap();
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"),
            "the title is escaped"
        );
        assert!(!html.contains("<script>alert(1)"), "never raw");
        assert!(
            !html.contains("Acme secret plan"),
            "another workspace's pilot is not listed"
        );
        let foreign = get(format!("{}/pilots/{}", app.url, theirs["id"])).await;
        assert_eq!(foreign.status(), StatusCode::NOT_FOUND, "nor shown by id");
        let own = get(format!("{}/pilots/{}", app.url, ours["id"])).await;
        assert_eq!(own.status(), StatusCode::OK);

        // Acme's owner sees Acme's pilot and not ours.
        let (acme_session, _) = signed_in(&app, "bo@example.com", "acme").await;
        let acme_list = http
            .get(format!("{}/pilots", app.url))
            .header(COOKIE, &acme_session)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(acme_list.contains("Acme secret plan"));
        assert!(!acme_list.contains("alert(1)"));

        // A form without the session's token changes nothing.
        let pause = |token: Option<&str>| {
            let mut form = vec![("status", "paused")];
            if let Some(token) = token {
                form.push(("_csrf", token));
            }
            http.post(format!("{}/pilots/{}/status", app.url, ours["id"]))
                .header(COOKIE, &session)
                .form(&form)
                .send()
        };
        assert_eq!(pause(None).await.unwrap().status(), StatusCode::FORBIDDEN);
        assert_eq!(
            pause(Some("forged")).await.unwrap().status(),
            StatusCode::FORBIDDEN
        );
        let shown = app
            .get_json(&format!("/api/v1/pilots/{}", ours["id"]), &app.live_key)
            .await;
        assert_eq!(shown["status"], "active", "nothing changed");
        let done = pause(Some(&csrf)).await.unwrap();
        assert_eq!(done.status(), StatusCode::SEE_OTHER);
        let shown = app
            .get_json(&format!("/api/v1/pilots/{}", ours["id"]), &app.live_key)
            .await;
        assert_eq!(shown["status"], "paused", "with the token it is done");

        // The cookie authenticates no API; no cookie, no dashboard.
        let api = http
            .get(format!("{}/api/v1/pilots", app.url))
            .header(COOKIE, &session)
            .send()
            .await
            .unwrap();
        assert_eq!(api.status(), StatusCode::UNAUTHORIZED);
        let anonymous = http
            .get(format!("{}/pilots", app.url))
            .send()
            .await
            .unwrap();
        assert_eq!(anonymous.status(), StatusCode::SEE_OTHER);
        assert_eq!(anonymous.headers()[LOCATION], "/signin?next=/pilots");
        // An API key is not a dashboard credential either.
        let keyed = http
            .get(format!("{}/pilots", app.url))
            .bearer_auth(&app.live_key)
            .send()
            .await
            .unwrap();
        assert_eq!(keyed.status(), StatusCode::SEE_OTHER);
    }
}
