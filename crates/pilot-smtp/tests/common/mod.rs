//! What the integration tests share: a server with a [`CollectingHandler`] on a
//! free port, a raw SMTP client that writes lines and reads replies (over TCP, or
//! TLS after `STARTTLS`), and a test certificate authority.
#![allow(dead_code)] // each test binary uses a different part of it

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use pilot_smtp::{CollectingHandler, SmtpListenConfig, spawn_local};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use tokio::io::{
    AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader, ReadHalf,
    WriteHalf,
};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore, crypto::aws_lc_rs};
use tokio_util::sync::CancellationToken;

/// The local parts the test sink accepts.
pub const MAILBOXES: [&str; 2] = ["pilot-abc", "pilot-def"];

/// A guard against a hung test, not a timing assertion: far longer than anything
/// here takes.
const HANG_GUARD: Duration = Duration::from_secs(20);

/// A running server and its sink; dropping it stops the server.
pub struct Sink {
    pub address: SocketAddr,
    pub mails: Arc<CollectingHandler>,
    shutdown: CancellationToken,
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// A small configuration, so the size tests need little data.
pub fn config() -> SmtpListenConfig {
    SmtpListenConfig {
        max_message_bytes: 4096,
        max_recipients: 3,
        ..SmtpListenConfig::default()
    }
}

pub async fn start(config: SmtpListenConfig) -> Sink {
    let mails = Arc::new(CollectingHandler::new(MAILBOXES));
    let (address, shutdown) = spawn_local(mails.clone(), config)
        .await
        .expect("the test server starts");
    Sink {
        address,
        mails,
        shutdown,
    }
}

/// A reply as the client saw it.
#[derive(Debug)]
pub struct Reply {
    pub code: u16,
    /// The text of every line, after the code and separator.
    pub lines: Vec<String>,
}

impl Reply {
    pub fn text(&self) -> String {
        self.lines.join("\n")
    }
}

/// A byte stream the client talks over: TCP, or TLS over TCP.
pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// A raw SMTP client.
pub struct Client {
    reader: BufReader<ReadHalf<Box<dyn Stream>>>,
    writer: WriteHalf<Box<dyn Stream>>,
}

impl Client {
    fn over(stream: Box<dyn Stream>) -> Client {
        let (reader, writer) = tokio::io::split(stream);
        Client {
            reader: BufReader::new(reader),
            writer,
        }
    }

    /// Connects and returns the client with the server's first reply.
    pub async fn connect(address: SocketAddr) -> (Client, Reply) {
        let stream = TcpStream::connect(address).await.expect("connects");
        let mut client = Client::over(Box::new(stream));
        let greeting = client.reply().await;
        (client, greeting)
    }

    /// After the server's 220 to `STARTTLS`: the TLS handshake, trusting `ca`
    /// for the name `localhost`. The server sends no greeting afterwards.
    pub async fn start_tls(self, ca: &TestCa) -> Client {
        assert!(
            self.reader.buffer().is_empty(),
            "the server sent something after its 220 to STARTTLS"
        );
        let stream = self.reader.into_inner().unsplit(self.writer);
        let name = ServerName::try_from("localhost").expect("a valid name");
        let tls = tokio::time::timeout(HANG_GUARD, ca.connector().connect(name, stream))
            .await
            .expect("the handshake ends")
            .expect("the TLS handshake succeeds");
        Client::over(Box::new(tls))
    }

    /// Connects, checks the 220 greeting and says EHLO.
    pub async fn greeted(address: SocketAddr) -> Client {
        let (mut client, greeting) = Self::connect(address).await;
        assert_eq!(greeting.code, 220, "{greeting:?}");
        client.expect("EHLO test.client", 250).await;
        client
    }

    /// Connects, says EHLO and opens a transaction from `a@example.com` to
    /// `pilot-abc@localhost`.
    pub async fn in_transaction(address: SocketAddr) -> Client {
        let mut client = Self::greeted(address).await;
        client
            .envelope("a@example.com", &["pilot-abc@localhost"])
            .await;
        client
    }

    pub async fn write(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).await.expect("writes");
    }

    /// Sends one command line and returns the reply.
    pub async fn command(&mut self, line: &str) -> Reply {
        self.write(format!("{line}\r\n").as_bytes()).await;
        self.reply().await
    }

    /// Sends one command line and asserts the reply's code.
    pub async fn expect(&mut self, line: &str, code: u16) -> Reply {
        let reply = self.command(line).await;
        assert_eq!(reply.code, code, "{line} → {reply:?}");
        reply
    }

    /// Reads one (possibly multi-line) reply.
    pub async fn reply(&mut self) -> Reply {
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            let read = tokio::time::timeout(HANG_GUARD, self.reader.read_line(&mut line))
                .await
                .expect("the server answers")
                .expect("reads");
            assert!(
                read > 0,
                "the server closed the connection; so far {lines:?}"
            );
            assert!(line.ends_with("\r\n"), "reply line without CRLF: {line:?}");
            let code = line.get(..3).and_then(|code| code.parse().ok());
            let code: u16 = code.unwrap_or_else(|| panic!("no reply code in {line:?}"));
            let last = line.as_bytes().get(3) == Some(&b' ');
            lines.push(line.get(4..).unwrap_or_default().trim_end().to_owned());
            if last {
                return Reply { code, lines };
            }
        }
    }

    /// Whether the server has closed the connection (reads end of stream).
    pub async fn is_closed(&mut self) -> bool {
        let mut rest = Vec::new();
        let read = tokio::time::timeout(HANG_GUARD, self.reader.read_to_end(&mut rest)).await;
        matches!(read, Ok(Ok(0)))
    }

    /// Runs MAIL FROM and one RCPT TO per recipient, asserting 250 for each.
    pub async fn envelope(&mut self, from: &str, recipients: &[&str]) {
        self.expect(&format!("MAIL FROM:<{from}>"), 250).await;
        for recipient in recipients {
            self.expect(&format!("RCPT TO:<{recipient}>"), 250).await;
        }
    }

    /// Sends DATA, then `message` (already dot-stuffed, CRLF line ends) and the
    /// terminator, and returns the reply to the message.
    pub async fn data(&mut self, message: &str) -> Reply {
        self.expect("DATA", 354).await;
        self.write(message.as_bytes()).await;
        self.write(b".\r\n").await;
        self.reply().await
    }
}

/// A small well-formed message.
pub fn message(subject: &str, body: &str) -> String {
    format!(
        "From: Alice <alice@example.com>\r\nTo: pilot-abc@localhost\r\n\
         Subject: {subject}\r\nMessage-ID: <{subject}@example.com>\r\n\r\n{body}\r\n"
    )
}

/// A certificate authority made for the test, and a server certificate for
/// `localhost` it signed, written as PEM files in a temporary directory.
pub struct TestCa {
    /// The CA certificate, PEM, for clients to trust.
    pub ca_pem: String,
    ca_der: CertificateDer<'static>,
    /// The server's certificate chain file.
    pub cert_path: PathBuf,
    /// The server's private key file.
    pub key_path: PathBuf,
    _dir: tempfile::TempDir,
}

impl TestCa {
    pub fn new() -> TestCa {
        let ca_key = KeyPair::generate().expect("a CA key");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "Pilot SMTP test CA");
        let ca_cert = ca_params.self_signed(&ca_key).expect("a CA certificate");
        let issuer = Issuer::new(ca_params, ca_key);
        let server_key = KeyPair::generate().expect("a server key");
        let server_params =
            CertificateParams::new(vec!["localhost".to_owned()]).expect("server params");
        let server_cert = server_params
            .signed_by(&server_key, &issuer)
            .expect("a server certificate");
        let dir = tempfile::tempdir().expect("a temporary directory");
        let cert_path = dir.path().join("cert.pem");
        let key_path = dir.path().join("key.pem");
        std::fs::write(&cert_path, server_cert.pem()).expect("writes the certificate");
        std::fs::write(&key_path, server_key.serialize_pem()).expect("writes the key");
        TestCa {
            ca_pem: ca_cert.pem(),
            ca_der: ca_cert.der().clone(),
            cert_path,
            key_path,
            _dir: dir,
        }
    }

    /// `config` with STARTTLS configured with this CA's server certificate.
    pub fn configure(&self, config: SmtpListenConfig) -> SmtpListenConfig {
        SmtpListenConfig {
            tls_cert_path: Some(self.cert_path.clone()),
            tls_key_path: Some(self.key_path.clone()),
            ..config
        }
    }

    fn connector(&self) -> TlsConnector {
        let mut roots = RootCertStore::empty();
        roots.add(self.ca_der.clone()).expect("a valid CA");
        let config = ClientConfig::builder_with_provider(Arc::new(aws_lc_rs::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        TlsConnector::from(Arc::new(config))
    }
}
