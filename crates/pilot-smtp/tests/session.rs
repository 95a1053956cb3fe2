//! The protocol, driven line by line over real TCP with a raw client.

mod common;

use std::sync::Arc;

use common::{Client, MAILBOXES, config, message, start};
use pilot_smtp::{CollectingHandler, SmtpError, SmtpListenConfig, serve};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

#[tokio::test]
async fn a_full_delivery_reaches_the_handler_with_the_payload() {
    let sink = start(config()).await;
    let (mut client, greeting) = Client::connect(sink.address).await;
    assert_eq!(greeting.code, 220);
    assert!(greeting.text().starts_with("localhost "), "{greeting:?}");

    let ehlo = client.expect("EHLO client.example", 250).await;
    assert!(ehlo.lines.contains(&"SIZE 4096".to_owned()), "{ehlo:?}");
    assert!(ehlo.lines.contains(&"8BITMIME".to_owned()), "{ehlo:?}");
    assert!(!ehlo.lines.iter().any(|line| line == "PIPELINING"));

    client
        .envelope("bounces@example.com", &["pilot-abc@localhost"])
        .await;
    let reply = client
        .data(&message(
            "Quarterly numbers",
            "Revenue is up.\r\nCosts are down.",
        ))
        .await;
    assert_eq!(reply.code, 250, "{reply:?}");
    client.expect("QUIT", 221).await;
    assert!(client.is_closed().await);

    let mails = sink.mails.mails();
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    assert_eq!(mail.envelope_from.as_deref(), Some("bounces@example.com"));
    assert_eq!(mail.recipient, "pilot-abc");
    let payload = mail.to_payload();
    assert_eq!(payload["subject"], "Quarterly numbers");
    assert_eq!(payload["from"], "alice@example.com");
    assert_eq!(payload["fromName"], "Alice");
    assert_eq!(payload["to"], serde_json::json!(["pilot-abc@localhost"]));
    assert_eq!(payload["recipient"], "pilot-abc@localhost");
    assert_eq!(payload["text"], "Revenue is up.\nCosts are down.\n");
    assert_eq!(payload["html"], serde_json::Value::Null);
    assert_eq!(payload["messageId"], "Quarterly numbers@example.com");
    assert!(
        payload["receivedAt"]
            .as_str()
            .is_some_and(|at| at.ends_with('Z'))
    );
}

#[tokio::test]
async fn an_unknown_mailbox_is_refused_with_550() {
    let sink = start(config()).await;
    let mut client = Client::greeted(sink.address).await;
    client.expect("MAIL FROM:<a@example.com>", 250).await;
    let reply = client.expect("RCPT TO:<pilot-nobody@localhost>", 550).await;
    assert!(reply.text().starts_with("5.1.1"), "{reply:?}");
    // No recipient was accepted, so there is nothing to send.
    client.expect("DATA", 503).await;
}

#[tokio::test]
async fn other_domains_are_refused_so_the_server_is_never_a_relay() {
    // Even a handler that accepts every local part cannot make it relay.
    let handler = Arc::new(CollectingHandler::accepting_any());
    let (address, shutdown) = pilot_smtp::spawn_local(handler.clone(), config())
        .await
        .expect("starts");
    let mut client = Client::greeted(address).await;
    client.expect("MAIL FROM:<a@example.com>", 250).await;
    for recipient in [
        "pilot-abc@example.com",
        "pilot-abc@localhost.evil.com",
        "x@[127.0.0.1]",
    ] {
        let reply = client.expect(&format!("RCPT TO:<{recipient}>"), 550).await;
        assert!(reply.text().starts_with("5.7.1"), "{reply:?}");
    }
    client.expect("RCPT TO:<anyone@localhost>", 250).await;
    shutdown.cancel();
}

#[tokio::test]
async fn recipients_match_without_regard_to_case() {
    let sink = start(config()).await;
    let mut client = Client::greeted(sink.address).await;
    client
        .envelope("a@example.com", &["PILOT-ABC@LocalHost"])
        .await;
    assert_eq!(client.data(&message("case", "x")).await.code, 250);
    let mails = sink.mails.mails();
    assert_eq!(mails[0].recipient, "pilot-abc");
    assert_eq!(mails[0].recipient_address, "pilot-abc@localhost");
}

#[tokio::test]
async fn a_declared_size_over_the_limit_is_refused_with_552() {
    let sink = start(config()).await;
    let mut client = Client::greeted(sink.address).await;
    client
        .expect("MAIL FROM:<a@example.com> SIZE=4097", 552)
        .await;
    // The refusal started no transaction; at the limit is fine.
    client.expect("RCPT TO:<pilot-abc@localhost>", 503).await;
    client
        .expect("MAIL FROM:<a@example.com> SIZE=4096", 250)
        .await;
}

#[tokio::test]
async fn a_message_over_the_limit_is_read_to_its_end_then_refused_with_552() {
    let sink = start(config()).await;
    let mut client = Client::in_transaction(sink.address).await;
    let body = "0123456789".repeat(90); // 900 octets a line, 20 lines: 18 KB
    let big = message("big", &vec![body; 20].join("\r\n"));
    let reply = client.data(&big).await;
    assert_eq!(reply.code, 552, "{reply:?}");
    // The session is still in step, and the transaction is over.
    client.expect("RCPT TO:<pilot-abc@localhost>", 503).await;
    client
        .envelope("a@example.com", &["pilot-abc@localhost"])
        .await;
    assert_eq!(client.data(&message("small", "ok")).await.code, 250);
    let mails = sink.mails.mails();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].subject.as_deref(), Some("small"));
}

#[tokio::test]
async fn a_handler_failure_is_a_451_and_nothing_counts_as_delivered() {
    let sink = start(config()).await;
    sink.mails.set_failing(true);
    let mut client = Client::in_transaction(sink.address).await;
    let reply = client.data(&message("retry me", "x")).await;
    assert_eq!(reply.code, 451, "{reply:?}");
    assert!(reply.text().starts_with("4.3.0"), "{reply:?}");
    assert!(
        !reply.text().contains("CollectingHandler"),
        "no internals leak"
    );
    assert!(sink.mails.mails().is_empty());

    // The client retries, as a 4xx tells it to, and now it goes through.
    sink.mails.set_failing(false);
    client
        .envelope("a@example.com", &["pilot-abc@localhost"])
        .await;
    assert_eq!(client.data(&message("retry me", "x")).await.code, 250);
    assert_eq!(sink.mails.mails().len(), 1);
}

#[tokio::test]
async fn commands_out_of_sequence_are_refused_with_503() {
    let sink = start(config()).await;
    let (mut client, _) = Client::connect(sink.address).await;
    client.expect("MAIL FROM:<a@example.com>", 503).await;
    client.expect("EHLO client.example", 250).await;
    client.expect("RCPT TO:<pilot-abc@localhost>", 503).await;
    client.expect("DATA", 503).await;
    client.expect("MAIL FROM:<a@example.com>", 250).await;
    client.expect("MAIL FROM:<b@example.com>", 503).await;
    client.expect("DATA", 503).await;
    client.expect("RSET", 250).await;
    client.expect("RCPT TO:<pilot-abc@localhost>", 503).await;
    // A new EHLO also resets the transaction.
    client.expect("MAIL FROM:<a@example.com>", 250).await;
    client.expect("EHLO client.example", 250).await;
    client.expect("RCPT TO:<pilot-abc@localhost>", 503).await;
    assert!(sink.mails.mails().is_empty());
}

#[tokio::test]
async fn a_command_line_over_512_octets_is_a_500_and_the_session_goes_on() {
    let sink = start(config()).await;
    let mut client = Client::greeted(sink.address).await;
    let long = format!("MAIL FROM:<{}@example.com>", "a".repeat(600));
    let reply = client.expect(&long, 500).await;
    assert!(reply.text().contains("too long"), "{reply:?}");
    client.expect("NOOP", 250).await;
    client
        .envelope("a@example.com", &["pilot-abc@localhost"])
        .await;
}

#[tokio::test]
async fn a_message_line_over_1000_octets_is_a_500() {
    let sink = start(SmtpListenConfig {
        max_message_bytes: 100_000,
        ..config()
    })
    .await;
    let mut client = Client::in_transaction(sink.address).await;
    let reply = client.data(&message("long", &"x".repeat(1200))).await;
    assert_eq!(reply.code, 500, "{reply:?}");
    client.expect("NOOP", 250).await;
    assert!(sink.mails.mails().is_empty());
}

#[tokio::test]
async fn leading_dots_are_unstuffed() {
    let sink = start(config()).await;
    let mut client = Client::in_transaction(sink.address).await;
    // As sent: each leading dot doubled, so "." alone is ".." on the wire.
    let body = "..hidden line\r\n..\r\n...two dots";
    assert_eq!(client.data(&message("dots", body)).await.code, 250);
    let mails = sink.mails.mails();
    assert_eq!(mails[0].text, ".hidden line\n.\n..two dots\n");
}

#[tokio::test]
async fn a_bare_line_feed_never_ends_a_message_and_gets_it_refused() {
    let sink = start(config()).await;
    let mut client = Client::in_transaction(sink.address).await;
    client.expect("DATA", 354).await;
    // An SMTP smuggling attempt: a forged second transaction after <LF>.<LF>.
    client
        .write(b"Subject: one\r\n\r\nhi\n.\nMAIL FROM:<ceo@localhost>\r\nRCPT TO:<pilot-def@localhost>\r\nDATA\r\nSubject: forged\r\n\r\nx\r\n")
        .await;
    client.write(b".\r\n").await;
    let reply = client.reply().await;
    assert_eq!(reply.code, 554, "{reply:?}");
    client.expect("NOOP", 250).await;
    assert!(
        sink.mails.mails().is_empty(),
        "neither message is delivered"
    );
}

#[tokio::test]
async fn a_message_without_headers_is_refused_with_554() {
    let sink = start(config()).await;
    let mut client = Client::in_transaction(sink.address).await;
    let reply = client.data("just some text\r\n").await;
    assert_eq!(reply.code, 554, "{reply:?}");
    assert!(sink.mails.mails().is_empty());
}

#[tokio::test]
async fn each_recipient_gets_its_own_delivery() {
    let sink = start(config()).await;
    let mut client = Client::greeted(sink.address).await;
    client
        .envelope(
            "a@example.com",
            &[
                "pilot-abc@localhost",
                "pilot-def@localhost",
                "Pilot-ABC@localhost",
            ],
        )
        .await;
    assert_eq!(client.data(&message("to both", "hello")).await.code, 250);
    let mails = sink.mails.mails();
    let recipients: Vec<_> = mails.iter().map(|mail| mail.recipient.as_str()).collect();
    assert_eq!(
        recipients, MAILBOXES,
        "once each, in order, the duplicate ignored"
    );
    assert!(
        mails
            .iter()
            .all(|mail| mail.subject.as_deref() == Some("to both"))
    );
}

#[tokio::test]
async fn recipients_past_the_limit_get_452() {
    let sink = start(SmtpListenConfig {
        max_recipients: 1,
        ..config()
    })
    .await;
    let mut client = Client::in_transaction(sink.address).await;
    let reply = client.expect("RCPT TO:<pilot-def@localhost>", 452).await;
    assert!(reply.text().starts_with("4.5.3"), "{reply:?}");
    assert_eq!(client.data(&message("one", "x")).await.code, 250);
    assert_eq!(sink.mails.mails().len(), 1);
}

#[tokio::test]
async fn an_idle_client_is_told_421_and_disconnected() {
    let sink = start(SmtpListenConfig {
        idle_timeout_ms: 200,
        ..config()
    })
    .await;
    let mut client = Client::greeted(sink.address).await;
    // Say nothing more; the server gives up on us.
    let reply = client.reply().await;
    assert_eq!(reply.code, 421, "{reply:?}");
    assert!(reply.text().contains("Idle timeout"), "{reply:?}");
    assert!(client.is_closed().await);
}

#[tokio::test]
async fn unknown_and_unoffered_commands_and_vrfy() {
    let sink = start(config()).await;
    let mut client = Client::greeted(sink.address).await;
    client.expect("FROB nicate", 500).await;
    client.expect("STARTTLS", 502).await;
    client.expect("AUTH PLAIN AGFhAGI=", 502).await;
    client.expect("VRFY pilot-abc", 252).await;
    client
        .expect("MAIL FROM:<a@example.com> SMTPUTF8", 555)
        .await;
    client.expect("MAIL FROM:alice@example.com", 501).await;
    client.expect("HELO client.example", 250).await;
    client.expect("QUIT", 221).await;
    assert!(client.is_closed().await);
}

#[tokio::test]
async fn a_client_that_only_wastes_commands_is_disconnected() {
    let sink = start(config()).await;
    let mut client = Client::greeted(sink.address).await; // EHLO counts: 1
    for _ in 0..49 {
        client.expect("NOOP", 250).await;
        client.expect("RCPT TO:<pilot-abc@localhost>", 503).await;
    }
    // 99 so far; a delivered message starts the count again.
    client
        .envelope("a@example.com", &["pilot-abc@localhost"])
        .await;
    assert_eq!(client.data(&message("keepalive", "x")).await.code, 250);
    for _ in 0..100 {
        client.expect("NOOP", 250).await;
    }
    let reply = client.command("NOOP").await;
    assert_eq!(reply.code, 421, "{reply:?}");
    assert!(client.is_closed().await);
}

#[tokio::test]
async fn the_collecting_handler_hands_out_each_mail_once_in_order() {
    let sink = start(config()).await;
    let mails = Arc::clone(&sink.mails);
    // Started before anything is sent: it waits for the second mail.
    let waiter = tokio::spawn(async move { (mails.next_mail().await, mails.next_mail().await) });
    let mut client = Client::greeted(sink.address).await;
    for subject in ["first", "second"] {
        client
            .envelope("a@example.com", &["pilot-abc@localhost"])
            .await;
        assert_eq!(client.data(&message(subject, "x")).await.code, 250);
    }
    let (first, second) = waiter.await.expect("the waiter finishes");
    assert_eq!(first.subject.as_deref(), Some("first"));
    assert_eq!(second.subject.as_deref(), Some("second"));
    assert_eq!(sink.mails.wait_for_mails(2).await.len(), 2);
}

#[tokio::test]
async fn connections_past_the_limit_are_answered_421() {
    let sink = start(SmtpListenConfig {
        max_connections: 1,
        ..config()
    })
    .await;
    // The first session holds the only permit once it has been greeted.
    let first = Client::greeted(sink.address).await;
    let (mut second, reply) = Client::connect(sink.address).await;
    assert_eq!(reply.code, 421, "{reply:?}");
    assert!(second.is_closed().await);
    drop(first);
}

#[tokio::test]
async fn shutdown_says_421_to_waiting_sessions_and_stops_listening() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let address = listener.local_addr().expect("has an address");
    let handler = Arc::new(CollectingHandler::new(MAILBOXES));
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(serve(listener, handler, config(), shutdown.clone()));

    let mut client = Client::greeted(address).await;
    shutdown.cancel();
    let reply = client.reply().await;
    assert_eq!(reply.code, 421, "{reply:?}");
    assert!(client.is_closed().await);
    let served = server.await.expect("the server task ends");
    assert!(served.is_ok());
    assert!(
        TcpStream::connect(address).await.is_err(),
        "no longer listening"
    );
}

#[tokio::test]
async fn an_invalid_configuration_is_refused_before_serving() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let handler = Arc::new(CollectingHandler::new(MAILBOXES));
    let config = SmtpListenConfig {
        domain: "bad domain\r\n".to_owned(),
        ..config()
    };
    let served = serve(listener, handler, config, CancellationToken::new()).await;
    assert!(
        matches!(&served, Err(SmtpError::Config(error)) if error.field == "domain"),
        "{served:?}"
    );
}
