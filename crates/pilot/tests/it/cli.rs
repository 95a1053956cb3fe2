//! The operator's commands — `pilot workspaces`, `pilot keys`, `pilot credits` — run
//! as the real binary on a SQLite data directory: what they print on stdout (the
//! operations underneath are tested in `pilot-operations`), and that their errors
//! exit non-zero with the message on stderr.

use std::path::Path;
use std::process::Command;

/// `pilot --data-dir <dir> <args>`: its stdout, stderr and success.
fn pilot(dir: &Path, args: &[&str]) -> (String, String, bool) {
    let output = Command::new(env!("CARGO_BIN_EXE_pilot"))
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("pilot runs");
    (
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
        output.status.success(),
    )
}

pub(crate) fn ok(dir: &Path, args: &[&str]) -> Vec<String> {
    let (stdout, stderr, success) = pilot(dir, args);
    assert!(success, "pilot {args:?} failed: {stderr}");
    stdout.lines().map(str::to_owned).collect()
}

pub(crate) fn refused(dir: &Path, args: &[&str]) -> String {
    let (stdout, stderr, success) = pilot(dir, args);
    assert!(!success, "pilot {args:?} should fail");
    assert_eq!(stdout, "", "nothing on stdout");
    stderr.trim_end().to_owned()
}

/// The text after `label` on the line that has it.
pub(crate) fn after<'a>(lines: &'a [String], label: &str) -> &'a str {
    lines
        .iter()
        .find_map(|line| line.trim_start().strip_prefix(label))
        .unwrap_or_else(|| panic!("no {label:?} in {lines:#?}"))
        .trim()
}

#[test]
fn workspaces_keys_and_credits_print_what_they_did() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();

    let created = ok(dir, &["workspaces", "create", "acme"]);
    assert_eq!(created[0], "created workspace acme (id 1)");
    assert_eq!(
        created[1],
        "keys and webhook secrets are shown only this once:"
    );
    assert!(after(&created, "live key:").starts_with("pk_live_"));
    assert!(after(&created, "test key:").starts_with("pk_test_"));
    assert_eq!(
        created
            .iter()
            .filter(|l| l.trim_start().starts_with("webhook secret: whsec_"))
            .count(),
        2
    );
    assert_eq!(
        refused(dir, &["workspaces", "create", "acme"]),
        "error: a workspace named acme already exists"
    );
    let listed = ok(dir, &["workspaces", "list"]);
    assert_eq!(listed[0], format!("{:<8} {:<32} created", "id", "name"));
    assert!(
        listed[1].starts_with(&format!("{:<8} {:<32} ", 1, "acme")),
        "{listed:?}"
    );

    let issued = ok(
        dir,
        &[
            "keys",
            "create",
            "--workspace",
            "acme",
            "--env",
            "test",
            "--name",
            "ci",
            "--scopes",
            "deliberations:read",
        ],
    );
    let key = after(&issued, "key:").to_owned();
    assert!(key.starts_with("pk_test_") && key.len() == 48, "{key}");
    assert_eq!(
        issued[0],
        format!("created key 3 ({}) in workspace acme", &key[..12])
    );
    assert_eq!(issued[1], "shown only this once:");
    assert!(after(&issued, "webhook secret:").starts_with("whsec_"));
    assert_eq!(after(&issued, "scopes:"), "deliberations:read");
    assert_eq!(
        refused(
            dir,
            &["keys", "create", "--workspace", "nope", "--env", "live"]
        ),
        "error: no workspace named \"nope\" (see `pilot workspaces list`)"
    );

    assert_eq!(
        ok(dir, &["keys", "revoke", "--workspace", "acme", "3"]),
        ["revoked key 3"]
    );
    assert_eq!(
        refused(dir, &["keys", "revoke", "--workspace", "acme", "3"]),
        "error: workspace acme has no active key with id 3"
    );
    let keys = ok(
        dir,
        &["keys", "list", "--workspace", "acme", "--env", "test"],
    );
    assert_eq!(
        keys[0],
        format!(
            "{:<6} {:<5} {:<14} {:<21} {:<10} name / scopes",
            "id", "env", "prefix", "created", "state"
        )
    );
    assert_eq!(keys.len(), 3, "{keys:#?}");
    assert!(keys[1].starts_with("2      test  pk_test_"), "{}", keys[1]);
    assert!(keys[1].ends_with(
        "active     default test key / pilots:read pilots:write deliberations:read deliberations:write"
    ));
    assert!(
        keys[2].starts_with(&format!("3      test  {}…  ", &key[..12])),
        "{}",
        keys[2]
    );
    assert!(
        keys[2].ends_with("revoked    ci / deliberations:read"),
        "{}",
        keys[2]
    );

    let live = ["--workspace", "acme", "--env", "live"];
    let with =
        |command: &[&'static str]| -> Vec<&str> { command.iter().copied().chain(live).collect() };
    assert_eq!(ok(dir, &with(&["credits", "balance"])), ["0"]);
    assert_eq!(
        ok(dir, &with(&["credits", "grant", "4.2"])),
        ["granted 4.2 credits to acme (live); balance 4.2"]
    );
    assert_eq!(
        refused(dir, &with(&["credits", "grant", "0"])),
        "error: the amount must be a positive number of credits"
    );
    let ledger = ok(dir, &with(&["credits", "ledger"]));
    assert_eq!(
        ledger[0],
        format!(
            "{:<8} {:<20} {:<18} {:>12} {:>12}  deliberation / note",
            "id", "at", "kind", "amount", "balance"
        )
    );
    assert!(ledger[1].starts_with("2        "), "{}", ledger[1]);
    assert!(
        ledger[1].ends_with(&format!(
            "{:<18} {:>12} {:>12}  granted by an operator",
            "grant", "4.2", "4.2"
        )),
        "{}",
        ledger[1]
    );
    assert_eq!(
        refused(dir, &with(&["credits", "ledger", "--limit", "0"])),
        "error: --limit must be at least 1"
    );
    assert_eq!(
        ok(
            dir,
            &["credits", "balance", "--workspace", "acme", "--env", "test"]
        ),
        ["100"]
    );
    assert_eq!(
        refused(
            dir,
            &["credits", "balance", "--workspace", "nope", "--env", "live"]
        ),
        "error: no workspace named \"nope\""
    );
}

/// `pilot serve` with the email trigger enabled and `extra` in its table: stderr,
/// once it has exited, which it must.
fn serve_refused_with_email_trigger(dir: &Path, extra: &str) -> String {
    let config = dir.join("pilot.toml");
    std::fs::write(
        &config,
        format!(
            "bind = \"127.0.0.1:0\"\n\
             [email_trigger]\n\
             enabled = true\n\
             bind = \"127.0.0.1:0\"\n\
             {extra}\n"
        ),
    )
    .unwrap();
    let config = config.to_str().unwrap().to_owned();
    let (_, stderr, success) = pilot(dir, &["--config", &config, "serve"]);
    assert!(!success, "pilot serve should not start: {stderr}");
    stderr
}

#[test]
fn serve_stops_at_start_up_on_an_unusable_email_trigger_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let missing = dir.join("missing-cert.pem");
    let key = dir.join("key.pem");
    std::fs::write(&key, "not a key").unwrap();
    let stderr = serve_refused_with_email_trigger(
        dir,
        &format!(
            "tls_cert_path = {:?}\ntls_key_path = {:?}",
            missing.display().to_string(),
            key.display().to_string()
        ),
    );
    assert!(
        stderr.contains("[email_trigger]")
            && stderr.contains("smtp.tls_cert_path")
            && stderr.contains("missing-cert.pem")
            && stderr.contains("cannot be read"),
        "{stderr}"
    );

    let stderr = serve_refused_with_email_trigger(
        dir,
        &format!("tls_key_path = {:?}", key.display().to_string()),
    );
    assert!(
        stderr.contains("smtp.tls_cert_path must be set when tls_key_path is"),
        "{stderr}"
    );
}

#[test]
fn users_create_list_and_reset_link_print_links_once() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    ok(dir, &["workspaces", "create", "acme"]);
    assert_eq!(
        ok(dir, &["users", "list"]),
        ["no users (see `pilot users create`)"]
    );

    let created = ok(
        dir,
        &[
            "users",
            "create",
            "Ada@Example.com",
            "--workspace",
            "acme",
            "--role",
            "owner",
        ],
    );
    assert_eq!(
        created[0],
        "created owner ada@example.com in workspace acme"
    );
    assert!(
        created[1].starts_with("set-password link (one time, expires "),
        "{created:?}"
    );
    let link = created[2].trim();
    assert!(
        link.starts_with("http://") && link.contains("/reset?token="),
        "{link}"
    );
    assert_eq!(
        refused(
            dir,
            &["users", "create", "ada@example.com", "--workspace", "acme"]
        ),
        "error: a user with email ada@example.com exists already"
    );
    assert!(
        refused(
            dir,
            &["users", "create", "bob@example.com", "--workspace", "nope"]
        )
        .contains("no workspace named \"nope\""),
    );
    ok(
        dir,
        &["users", "create", "bob@example.com", "--workspace", "acme"],
    );

    let listed = ok(dir, &["users", "list"]);
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert!(listed[0].contains("ada@example.com") && listed[0].contains("owner"));
    assert!(listed[0].contains("acme") && !listed[0].ends_with("disabled"));
    assert!(listed[1].contains("bob@example.com") && listed[1].contains("member"));

    let reset = ok(dir, &["users", "reset-link", "ada@example.com"]);
    let fresh = reset[1].trim();
    assert!(
        fresh.contains("/reset?token=") && fresh != link,
        "a new link each time"
    );
    assert_eq!(
        refused(dir, &["users", "reset-link", "nobody@example.com"]),
        "error: no user with email \"nobody@example.com\""
    );

    assert_eq!(
        ok(dir, &["users", "disable", "bob@example.com"]),
        ["disabled bob@example.com; their sessions have ended"]
    );
    assert!(ok(dir, &["users", "list"])[1].ends_with("disabled"));
}
