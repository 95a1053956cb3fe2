//! The address matrix: every one of these is refused by `send` and by `check_url`
//! under the default policy, before any connection is attempted (an IP literal by the
//! pre-connection check, a name by the resolver), so no packet leaves this machine.

use std::net::IpAddr;
use std::str::FromStr;

use pilot_outbound::{
    GuardedResolver, OutboundClient, OutboundError, OutboundPolicy, OutboundRequest, Reason,
};
use reqwest::dns::{Name, Resolve};

/// URL, the address it denotes, and why that address is refused.
#[rustfmt::skip]
const MATRIX: &[(&str, &str, Reason)] = &[
    ("http://127.0.0.1/", "127.0.0.1", Reason::Loopback),
    ("http://127.1/", "127.0.0.1", Reason::Loopback),
    ("http://2130706433/", "127.0.0.1", Reason::Loopback),
    ("http://0x7f000001/", "127.0.0.1", Reason::Loopback),
    ("http://[::1]/", "::1", Reason::Loopback),
    ("http://[::ffff:127.0.0.1]/", "::ffff:127.0.0.1", Reason::Ipv4Mapped),
    ("http://[::7f00:1]/", "::127.0.0.1", Reason::Ipv4Compatible),
    ("http://169.254.169.254/latest/meta-data", "169.254.169.254", Reason::LinkLocal),
    ("http://10.0.0.1/", "10.0.0.1", Reason::Private),
    ("http://172.16.0.1/", "172.16.0.1", Reason::Private),
    ("http://192.168.1.1/", "192.168.1.1", Reason::Private),
    ("http://100.64.0.1/", "100.64.0.1", Reason::SharedCgnat),
    ("http://[fc00::1]/", "fc00::1", Reason::UniqueLocal),
    ("http://[fe80::1]/", "fe80::1", Reason::LinkLocal),
    ("http://[64:ff9b::7f00:1]/", "64:ff9b::7f00:1", Reason::Nat64),
];

fn client() -> OutboundClient {
    OutboundClient::new(OutboundPolicy::default()).expect("client builds")
}

fn assert_forbidden(url: &str, err: OutboundError, ip: &str, reason: Reason) {
    match err {
        OutboundError::ForbiddenAddress {
            ip: refused,
            reason: why,
            ..
        } => {
            assert_eq!(
                refused,
                IpAddr::from_str(ip).expect("test address"),
                "{url}"
            );
            assert_eq!(why, reason, "{url}");
        }
        other => panic!("{url}: expected a forbidden address, got {other:?}"),
    }
}

#[tokio::test]
async fn send_refuses_the_whole_matrix() {
    let client = client();
    for &(url, ip, reason) in MATRIX {
        for request in [
            OutboundRequest::get(url),
            OutboundRequest::post(url).body("{}"),
        ] {
            let err = client.send(request).await.expect_err(url);
            assert_forbidden(url, err, ip, reason);
        }
    }
}

#[tokio::test]
async fn check_url_refuses_the_whole_matrix() {
    let client = client();
    for &(url, ip, reason) in MATRIX {
        let err = client.check_url(url).await.expect_err(url);
        assert_forbidden(url, err, ip, reason);
    }
}

#[tokio::test]
async fn a_name_resolving_to_loopback_is_refused() {
    let client = client();
    let expected = OutboundError::ResolvesToNothingAllowed {
        host: "localhost".into(),
    };
    for url in ["http://localhost/", "https://LOCALHOST:8443/hook"] {
        assert_eq!(client.check_url(url).await.expect_err(url), expected);
        let err = client.send(OutboundRequest::get(url)).await.expect_err(url);
        assert_eq!(err, expected, "{url}");
    }
    assert_eq!(
        expected.to_string(),
        "localhost resolves only to forbidden addresses (loopback, private, link-local or \
         other special-purpose); outbound requests to it are refused unless the server's \
         outbound allow-list permits them"
    );
}

#[tokio::test]
async fn the_resolver_alone_refuses_localhost() {
    let resolver = GuardedResolver::new(OutboundPolicy::default().into());
    let name = Name::from_str("localhost").expect("valid name");
    let err = match resolver.resolve(name).await {
        Ok(addrs) => panic!("localhost resolved to {:?}", addrs.collect::<Vec<_>>()),
        Err(err) => err,
    };
    assert!(matches!(
        err.downcast_ref::<OutboundError>(),
        Some(OutboundError::ResolvesToNothingAllowed { host }) if host == "localhost"
    ));
}

#[tokio::test]
async fn errors_never_repeat_the_path_or_query() {
    let url = "http://10.0.0.1:8080/services/T000/B000/s3cr3t?token=t0k3n";
    let client = client();
    let err = client.send(OutboundRequest::get(url)).await.expect_err(url);
    let message = err.to_string();
    assert!(message.contains("10.0.0.1"), "{message}");
    assert!(
        !message.contains("s3cr3t") && !message.contains("t0k3n"),
        "{message}"
    );

    let https_only = OutboundClient::new(OutboundPolicy {
        require_https: true,
        ..OutboundPolicy::default()
    })
    .expect("client builds");
    let err = https_only.check_url(url).await.expect_err(url);
    assert_eq!(
        err.to_string(),
        "http://10.0.0.1:8080/…: the `http` scheme is not allowed; use https"
    );
}

#[tokio::test]
async fn check_url_accepts_a_public_address_without_sending() {
    // An IP literal needs no resolution: nothing leaves the machine.
    let url = client()
        .check_url("https://93.184.215.14/hooks/pilot")
        .await
        .expect("a public address is allowed");
    assert_eq!(url.path(), "/hooks/pilot");
}

#[tokio::test]
async fn non_http_schemes_are_refused() {
    let client = client();
    for url in [
        "file:///etc/passwd",
        "gopher://127.0.0.1:25/",
        "ftp://93.184.215.14/",
    ] {
        let err = client.send(OutboundRequest::get(url)).await.expect_err(url);
        assert!(
            matches!(err, OutboundError::SchemeNotAllowed { .. }),
            "{url}: {err:?}"
        );
    }
}
