//! The server against a real SMTP client: lettre, as Pilot's own `email` step uses.

mod common;

use common::{MAILBOXES, config, start};
use std::time::{Duration, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::client::Tls;
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use pilot_smtp::SmtpListenConfig;

fn transport(sink: &common::Sink) -> AsyncSmtpTransport<Tokio1Executor> {
    AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(sink.address.port())
        .tls(Tls::None)
        .build()
}

fn mailbox(address: &str) -> Mailbox {
    address.parse().expect("a valid mailbox")
}

fn envelope(from: &str, to: &str) -> lettre::address::Envelope {
    let address = |text: &str| text.parse::<Address>().expect("a valid address");
    lettre::address::Envelope::new(Some(address(from)), vec![address(to)])
        .expect("a valid envelope")
}

fn plain(to: &[&str], subject: &str, body: &str) -> Message {
    let mut builder = Message::builder()
        .from(mailbox("Alice <alice@example.com>"))
        .message_id(None) // lettre generates one
        .subject(subject);
    for recipient in to {
        builder = builder.to(mailbox(recipient));
    }
    builder.body(body.to_owned()).expect("a valid message")
}

/// Sends `message`, which the server must refuse, and returns lettre's error.
async fn refused(sink: &common::Sink, message: Message) -> lettre::transport::smtp::Error {
    transport(sink)
        .send(message)
        .await
        .expect_err("the server refuses")
}

/// The reply code lettre saw, e.g. "550".
fn code(error: &lettre::transport::smtp::Error) -> String {
    error
        .status()
        .map(|code| code.to_string())
        .unwrap_or_else(|| panic!("no SMTP status in {error:?}"))
}

#[tokio::test]
async fn lettre_delivers_a_multipart_message_and_the_payload_is_right() {
    let sink = start(config()).await;
    let message = Message::builder()
        .from(mailbox("Alice Doe <alice@example.com>"))
        .to(mailbox("pilot-abc@localhost"))
        .message_id(None)
        .subject("Invoice #42 — due Friday")
        .multipart(MultiPart::alternative_plain_html(
            "Please pay invoice 42.\nThanks!".to_owned(),
            "<p>Please pay <b>invoice 42</b>.</p>".to_owned(),
        ))
        .expect("a valid message");
    let response = transport(&sink).send(message).await.expect("accepted");
    assert!(response.is_positive());

    let mail = sink.mails.next_mail().await;
    assert_eq!(mail.recipient, "pilot-abc");
    assert_eq!(mail.envelope_from.as_deref(), Some("alice@example.com"));
    let payload = mail.to_payload();
    assert_eq!(payload["subject"], "Invoice #42 — due Friday");
    assert_eq!(payload["from"], "alice@example.com");
    assert_eq!(payload["fromName"], "Alice Doe");
    assert_eq!(payload["to"], serde_json::json!(["pilot-abc@localhost"]));
    let text = payload["text"].as_str().expect("text is a string");
    assert!(
        text.starts_with("Please pay invoice 42.\nThanks!"),
        "{text:?}"
    );
    let html = payload["html"].as_str().expect("the HTML part is kept");
    assert!(html.contains("<b>invoice 42</b>"), "{html:?}");
    let message_id = payload["messageId"].as_str().expect("lettre generated one");
    assert!(!message_id.starts_with('<'), "{message_id}");
}

#[tokio::test]
async fn lettre_gets_a_permanent_550_for_an_unknown_mailbox() {
    let sink = start(config()).await;
    let error = refused(&sink, plain(&["pilot-zzz@localhost"], "hi", "x")).await;
    assert!(error.is_permanent(), "{error:?}");
    assert_eq!(code(&error), "550");
    assert!(sink.mails.mails().is_empty());
}

#[tokio::test]
async fn lettre_gets_a_permanent_550_for_another_domain() {
    let sink = start(config()).await;
    let error = refused(&sink, plain(&["pilot-abc@example.org"], "relay?", "x")).await;
    assert_eq!(code(&error), "550");
    assert!(sink.mails.mails().is_empty());
}

#[tokio::test]
async fn lettre_gets_a_transient_451_when_the_handler_fails() {
    let sink = start(config()).await;
    sink.mails.set_failing(true);
    let error = refused(&sink, plain(&["pilot-abc@localhost"], "later", "x")).await;
    assert!(error.is_transient(), "{error:?}");
    assert_eq!(code(&error), "451");
    assert!(sink.mails.mails().is_empty());
}

#[tokio::test]
async fn lettre_gets_552_for_a_message_over_the_limit() {
    let sink = start(config()).await;
    let body = "All work and no play.\n".repeat(400); // about 9 KB, limit 4 KB
    let error = refused(&sink, plain(&["pilot-abc@localhost"], "big", &body)).await;
    assert!(error.is_permanent(), "{error:?}");
    assert_eq!(code(&error), "552");
    assert!(sink.mails.mails().is_empty());
}

#[tokio::test]
async fn lettre_sends_to_several_pilots_in_one_transaction() {
    let sink = start(config()).await;
    let recipients = MAILBOXES.map(|local| format!("{local}@localhost"));
    let to: Vec<&str> = recipients.iter().map(String::as_str).collect();
    transport(&sink)
        .send(plain(&to, "for both", "hello"))
        .await
        .expect("accepted");
    let mails = sink.mails.wait_for_mails(2).await;
    let delivered: Vec<_> = mails.iter().map(|mail| mail.recipient.as_str()).collect();
    assert_eq!(delivered, MAILBOXES);
    assert!(mails[0].message_id.is_some());
    assert_eq!(
        mails[0].message_id, mails[1].message_id,
        "one message, two copies"
    );
}

#[tokio::test]
async fn lettre_dot_stuffing_round_trips() {
    let sink = start(SmtpListenConfig {
        max_message_bytes: 100_000,
        ..config()
    })
    .await;
    let body = ".\n..\n.starts with a dot\nlast";
    transport(&sink)
        .send(plain(&["pilot-def@localhost"], "dots", body))
        .await
        .expect("accepted");
    let mail = sink.mails.next_mail().await;
    assert_eq!(mail.text.trim_end(), body);
}

#[tokio::test]
async fn lettre_attachments_cc_and_date_reach_the_payload() {
    let sink = start(SmtpListenConfig {
        max_message_bytes: 100_000,
        max_attachment_bytes: 1000,
        ..config()
    })
    .await;
    let small: Vec<u8> = (0..=255u8).cycle().take(700).collect();
    let large: Vec<u8> = (0..=255u8).rev().cycle().take(5000).collect();
    let message = Message::builder()
        .from(mailbox("Alice <alice@example.com>"))
        .to(mailbox("pilot-abc@localhost"))
        .cc(mailbox("Carol <carol@example.com>"))
        .cc(mailbox("dave@example.com"))
        .date(UNIX_EPOCH + Duration::from_secs(1_700_000_000))
        // Only the pilot is a recipient here: the Cc addresses are elsewhere.
        .envelope(envelope("alice@example.com", "pilot-abc@localhost"))
        .subject("Two files")
        .multipart(
            MultiPart::mixed()
                .singlepart(SinglePart::plain("See the attached files.".to_owned()))
                .singlepart(Attachment::new("small.bin".to_owned()).body(
                    small.clone(),
                    ContentType::parse("application/octet-stream").expect("a type"),
                ))
                .singlepart(Attachment::new("large.pdf".to_owned()).body(
                    large.clone(),
                    ContentType::parse("application/pdf").expect("a type"),
                )),
        )
        .expect("a valid message");
    transport(&sink).send(message).await.expect("accepted");

    let payload = sink.mails.next_mail().await.to_payload();
    assert_eq!(
        payload["cc"],
        serde_json::json!(["carol@example.com", "dave@example.com"])
    );
    assert_eq!(payload["date"], "2023-11-14T22:13:20Z");
    assert!(
        payload["text"]
            .as_str()
            .is_some_and(|text| text.starts_with("See the attached files.")),
        "{payload}"
    );
    let attachments = payload["attachments"].as_array().expect("an array");
    assert_eq!(attachments.len(), 2, "{attachments:?}");

    let first = &attachments[0];
    assert_eq!(first["name"], "small.bin");
    assert_eq!(first["contentType"], "application/octet-stream");
    assert_eq!(first["size"], 700);
    assert_eq!(first["omitted"], false);
    let content = first["content"].as_str().expect("content under the cap");
    assert_eq!(BASE64.decode(content).expect("standard base64"), small);

    let second = &attachments[1];
    assert_eq!(second["name"], "large.pdf");
    assert_eq!(second["contentType"], "application/pdf");
    assert_eq!(second["size"], 5000);
    assert_eq!(second["content"], serde_json::Value::Null);
    assert_eq!(second["omitted"], true);
}
