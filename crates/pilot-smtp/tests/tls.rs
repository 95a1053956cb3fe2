//! `STARTTLS` (RFC 3207): lettre and a raw client against the listener with a
//! certificate from a CA made for the test, `require_tls`, and the refusals.

mod common;

use std::sync::Arc;

use common::{Client, TestCa, config, message, start};
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use pilot_smtp::{CollectingHandler, SmtpError, SmtpListenConfig, SmtpServer};

fn lettre_over_starttls(ca: &TestCa, port: u16) -> AsyncSmtpTransport<Tokio1Executor> {
    let root = Certificate::from_pem(ca.ca_pem.as_bytes()).expect("a PEM certificate");
    let parameters = TlsParameters::builder("localhost".to_owned())
        .add_root_certificate(root)
        .build()
        .expect("TLS parameters");
    AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(port)
        .tls(Tls::Required(parameters))
        .build()
}

#[tokio::test]
async fn lettre_delivers_over_starttls_when_tls_is_required() {
    let ca = TestCa::new();
    let sink = start(SmtpListenConfig {
        require_tls: true,
        ..ca.configure(config())
    })
    .await;
    let message = Message::builder()
        .from("Alice <alice@example.com>".parse().expect("a mailbox"))
        .to("pilot-abc@localhost".parse().expect("a mailbox"))
        .subject("Over TLS")
        .body("Encrypted all the way.".to_owned())
        .expect("a valid message");
    let response = lettre_over_starttls(&ca, sink.address.port())
        .send(message)
        .await
        .expect("accepted over TLS");
    assert!(response.is_positive());
    let mail = sink.mails.next_mail().await;
    assert_eq!(mail.recipient, "pilot-abc");
    assert_eq!(mail.to_payload()["subject"], "Over TLS");
    assert_eq!(mail.text.trim_end(), "Encrypted all the way.");
}

#[tokio::test]
async fn starttls_is_offered_and_the_session_starts_over_inside_tls() {
    let ca = TestCa::new();
    let sink = start(ca.configure(config())).await;
    let (mut client, greeting) = Client::connect(sink.address).await;
    assert_eq!(greeting.code, 220);
    // Only after EHLO.
    client.expect("STARTTLS", 503).await;
    let ehlo = client.expect("EHLO client.example", 250).await;
    assert!(ehlo.lines.iter().any(|line| line == "STARTTLS"), "{ehlo:?}");
    client.expect("MAIL FROM:<a@example.com>", 250).await;
    client.expect("STARTTLS extra", 501).await;
    let ready = client.expect("STARTTLS", 220).await;
    assert!(ready.text().starts_with("2.0.0"), "{ready:?}");

    let mut client = client.start_tls(&ca).await;
    // Everything before the handshake is forgotten: the greeting and the sender.
    client.expect("MAIL FROM:<a@example.com>", 503).await;
    let ehlo = client.expect("EHLO client.example", 250).await;
    assert!(
        !ehlo.lines.iter().any(|line| line == "STARTTLS"),
        "{ehlo:?}"
    );
    let again = client.expect("STARTTLS", 503).await;
    assert!(again.text().contains("TLS already active"), "{again:?}");
    client
        .envelope("a@example.com", &["pilot-abc@localhost"])
        .await;
    let reply = client.data(&message("secret", "Over TLS.")).await;
    assert_eq!(reply.code, 250, "{reply:?}");
    client.expect("QUIT", 221).await;
    assert_eq!(sink.mails.next_mail().await.text, "Over TLS.\n");
}

#[tokio::test]
async fn commands_pipelined_behind_starttls_are_never_run() {
    let ca = TestCa::new();
    let sink = start(ca.configure(config())).await;
    let mut client = Client::greeted(sink.address).await;
    // Plain text injected after STARTTLS, in the same packet (CVE-2011-0411).
    client
        .write(b"STARTTLS\r\nMAIL FROM:<evil@example.com>\r\n")
        .await;
    assert_eq!(client.reply().await.code, 220);
    let mut client = client.start_tls(&ca).await;
    // Had the injected MAIL FROM run, this would be its 250, not EHLO's answer.
    let ehlo = client.expect("EHLO client.example", 250).await;
    assert_eq!(ehlo.lines[0], "localhost", "{ehlo:?}");
    client.expect("RCPT TO:<pilot-abc@localhost>", 503).await;
}

#[tokio::test]
async fn require_tls_refuses_mail_from_in_plain_text() {
    let ca = TestCa::new();
    let sink = start(SmtpListenConfig {
        require_tls: true,
        ..ca.configure(config())
    })
    .await;
    let mut client = Client::greeted(sink.address).await;
    let reply = client.expect("MAIL FROM:<a@example.com>", 530).await;
    assert_eq!(reply.text(), "5.7.0 Must issue a STARTTLS command first");
    client.expect("RCPT TO:<pilot-abc@localhost>", 503).await;
    assert!(sink.mails.mails().is_empty());
}

#[tokio::test]
async fn lettre_requiring_tls_gives_up_on_a_server_without_it() {
    let ca = TestCa::new();
    let sink = start(config()).await;
    let message = Message::builder()
        .from("alice@example.com".parse().expect("a mailbox"))
        .to("pilot-abc@localhost".parse().expect("a mailbox"))
        .subject("x")
        .body("x".to_owned())
        .expect("a valid message");
    let sent = lettre_over_starttls(&ca, sink.address.port())
        .send(message)
        .await;
    assert!(sent.is_err(), "{sent:?}");
    assert!(sink.mails.mails().is_empty());
}

#[tokio::test]
async fn starttls_is_not_implemented_without_a_certificate() {
    let sink = start(config()).await;
    let mut client = Client::greeted(sink.address).await;
    let ehlo = client.expect("EHLO client.example", 250).await;
    assert!(
        !ehlo.lines.iter().any(|line| line == "STARTTLS"),
        "{ehlo:?}"
    );
    let reply = client.expect("STARTTLS", 502).await;
    assert!(reply.text().starts_with("5.5.1"), "{reply:?}");
    // The session goes on in plain text.
    client
        .envelope("a@example.com", &["pilot-abc@localhost"])
        .await;
}

fn server(config: SmtpListenConfig) -> Result<SmtpServer, SmtpError> {
    SmtpServer::new(Arc::new(CollectingHandler::new(["pilot-abc"])), config)
}

fn tls_field(result: Result<SmtpServer, SmtpError>) -> (&'static str, String) {
    match result {
        Err(error @ SmtpError::Tls { field, .. }) => (field, error.to_string()),
        Err(other) => panic!("not a TLS error: {other:?}"),
        Ok(_) => panic!("the server was built"),
    }
}

#[tokio::test]
async fn unusable_certificate_or_key_files_are_refused_at_start_up() {
    let ca = TestCa::new();
    assert!(server(ca.configure(config())).is_ok());

    let missing = SmtpListenConfig {
        tls_cert_path: Some(ca.cert_path.with_file_name("nowhere.pem")),
        ..ca.configure(config())
    };
    let (field, message) = tls_field(server(missing));
    assert_eq!(field, "tls_cert_path");
    assert!(
        message.contains("nowhere.pem") && message.contains("cannot be read"),
        "{message}"
    );

    // The key where the certificate should be: no CERTIFICATE block.
    let swapped = SmtpListenConfig {
        tls_cert_path: Some(ca.key_path.clone()),
        ..ca.configure(config())
    };
    assert_eq!(tls_field(server(swapped)).0, "tls_cert_path");

    // The certificate where the key should be: no key.
    let no_key = SmtpListenConfig {
        tls_key_path: Some(ca.cert_path.clone()),
        ..ca.configure(config())
    };
    let (field, message) = tls_field(server(no_key));
    assert_eq!(field, "tls_key_path");
    assert!(message.contains("no usable private key"), "{message}");

    // Another certificate's key does not match.
    let other = TestCa::new();
    let mismatched = SmtpListenConfig {
        tls_key_path: Some(other.key_path.clone()),
        ..ca.configure(config())
    };
    assert_eq!(tls_field(server(mismatched)).0, "tls_key_path");

    let half = SmtpListenConfig {
        tls_key_path: None,
        ..ca.configure(config())
    };
    assert!(matches!(
        server(half),
        Err(SmtpError::Config(error)) if error.field == "tls_key_path"
    ));
}
