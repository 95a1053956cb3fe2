//! The two signatures every delivery attempt carries, over the exact body bytes sent.
//!
//! * **Pilot5** (the Deliberations document §5): `X-Pilot5-Signature:
//!   t={ts},v1={hex}` where `hex` is HMAC-SHA256 of `"{ts}.{body}"`, keyed with the
//!   secret's text *as printed* (`whsec_…`, every character, as the document's
//!   `verify()` does with `secret.encode()`).
//! * **Standard Webhooks** (standardwebhooks.com): `webhook-signature: v1,{base64}`
//!   of HMAC-SHA256 of `"{id}.{ts}.{body}"`, keyed with the *bytes the base64 after
//!   `whsec_` decodes to*, as the `standardwebhooks` libraries do.
//!
//! One secret, two keys: that is what lets both the document's snippet and the
//! public libraries verify the same request. Each attempt is signed with its own
//! timestamp, so a retry hours later still passes a receiver's 300 s tolerance.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

const SECRET_PREFIX: &str = "whsec_";

/// The signature headers' values for one attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signed {
    /// Unix seconds: `X-Pilot5-Timestamp` and `webhook-timestamp`.
    pub timestamp: i64,
    /// `X-Pilot5-Signature`.
    pub pilot5: String,
    /// `webhook-signature`.
    pub standard: String,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the webhook secret is not whsec_ followed by base64")]
    SecretFormat,
    #[error("the signature header is malformed")]
    Malformed,
    #[error("the timestamp is outside the tolerance")]
    Stale,
    #[error("no signature matches")]
    Mismatch,
}

/// Signs `body` for the event `event_id` at `timestamp` (Unix seconds) with `secret`.
pub fn sign(
    secret: &str,
    event_id: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<Signed, SignatureError> {
    let standard_key = standard_key(secret)?;
    Ok(Signed {
        timestamp,
        pilot5: format!(
            "t={timestamp},v1={}",
            hex::encode(pilot5_mac(secret, timestamp, body).finalize().into_bytes())
        ),
        standard: format!(
            "v1,{}",
            STANDARD.encode(
                standard_mac(&standard_key, event_id, timestamp, body)
                    .finalize()
                    .into_bytes()
            )
        ),
    })
}

/// What a receiver following §5 checks: the `v1` of `signature` is the HMAC of
/// `"{timestamp}.{body}"` keyed with `secret`'s text, and `timestamp` is within
/// `tolerance_secs` of `now_secs`. Timing-safe.
pub fn verify_pilot5(
    secret: &str,
    body: &[u8],
    signature: &str,
    timestamp: &str,
    now_secs: i64,
    tolerance_secs: i64,
) -> Result<(), SignatureError> {
    let ts = fresh(timestamp, now_secs, tolerance_secs)?;
    let v1 = signature
        .split(',')
        .filter_map(|part| part.split_once('='))
        .find(|(name, _)| *name == "v1")
        .map(|(_, value)| value)
        .ok_or(SignatureError::Malformed)?;
    let expected = hex::decode(v1).map_err(|_| SignatureError::Malformed)?;
    pilot5_mac(secret, ts, body)
        .verify_slice(&expected)
        .map_err(|_| SignatureError::Mismatch)
}

/// What a Standard Webhooks receiver checks: one of the space-separated `v1,…`
/// signatures is the HMAC of `"{id}.{timestamp}.{body}"` keyed with the secret's
/// decoded bytes, and `timestamp` is within `tolerance_secs` of `now_secs`.
pub fn verify_standard(
    secret: &str,
    id: &str,
    timestamp: &str,
    signatures: &str,
    body: &[u8],
    now_secs: i64,
    tolerance_secs: i64,
) -> Result<(), SignatureError> {
    let key = standard_key(secret)?;
    let ts = fresh(timestamp, now_secs, tolerance_secs)?;
    let matched = signatures
        .split(' ')
        .filter_map(|sig| sig.strip_prefix("v1,"))
        .filter_map(|b64| STANDARD.decode(b64).ok())
        .any(|expected| {
            standard_mac(&key, id, ts, body)
                .verify_slice(&expected)
                .is_ok()
        });
    matched.then_some(()).ok_or(SignatureError::Mismatch)
}

/// GitHub's `X-Hub-Signature-256: sha256={hex}`: HMAC-SHA256 of the body keyed with
/// the secret's text. No timestamp. Timing-safe.
pub fn verify_github(secret: &str, body: &[u8], header: &str) -> Result<(), SignatureError> {
    let hex_mac = header
        .trim()
        .strip_prefix("sha256=")
        .ok_or(SignatureError::Malformed)?;
    verify_body_hmac(secret, body, hex_mac, BodyEncoding::Hex)
}

/// Stripe's `Stripe-Signature: t={ts},v1={hex}[,v1=…]`: one `v1` is HMAC-SHA256 of
/// `"{ts}.{body}"` keyed with the secret's text (`whsec_…` as Stripe shows it), and
/// `ts` is within `tolerance_secs` of `now_secs`.
pub fn verify_stripe(
    secret: &str,
    body: &[u8],
    header: &str,
    now_secs: i64,
    tolerance_secs: i64,
) -> Result<(), SignatureError> {
    let parts: Vec<(&str, &str)> = header
        .split(',')
        .filter_map(|part| part.trim().split_once('='))
        .collect();
    let ts = parts
        .iter()
        .find(|(name, _)| *name == "t")
        .map(|(_, value)| *value)
        .ok_or(SignatureError::Malformed)?;
    let ts = fresh(ts, now_secs, tolerance_secs)?;
    let matched = parts
        .iter()
        .filter(|(name, _)| *name == "v1")
        .filter_map(|(_, value)| hex::decode(value).ok())
        .any(|expected| pilot5_mac(secret, ts, body).verify_slice(&expected).is_ok());
    matched.then_some(()).ok_or(SignatureError::Mismatch)
}

/// How a plain body HMAC is written in its header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyEncoding {
    Hex,
    Base64,
}

/// A plain HMAC-SHA256 of the body keyed with the secret's text, `value` in
/// `encoding` (an optional `sha256=` prefix allowed). Timing-safe.
pub fn verify_body_hmac(
    secret: &str,
    body: &[u8],
    value: &str,
    encoding: BodyEncoding,
) -> Result<(), SignatureError> {
    let value = value.trim();
    let value = value.strip_prefix("sha256=").unwrap_or(value);
    let expected = match encoding {
        BodyEncoding::Hex => hex::decode(value).map_err(|_| SignatureError::Malformed)?,
        BodyEncoding::Base64 => STANDARD
            .decode(value)
            .map_err(|_| SignatureError::Malformed)?,
    };
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(body);
    mac.verify_slice(&expected)
        .map_err(|_| SignatureError::Mismatch)
}

fn pilot5_mac(secret: &str, timestamp: i64, body: &[u8]) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(format!("{timestamp}.").as_bytes());
    mac.update(body);
    mac
}

fn standard_mac(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key");
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    mac
}

fn standard_key(secret: &str) -> Result<Vec<u8>, SignatureError> {
    let encoded = secret
        .strip_prefix(SECRET_PREFIX)
        .ok_or(SignatureError::SecretFormat)?;
    STANDARD
        .decode(encoded)
        .map_err(|_| SignatureError::SecretFormat)
}

fn fresh(timestamp: &str, now_secs: i64, tolerance_secs: i64) -> Result<i64, SignatureError> {
    let ts: i64 = timestamp.parse().map_err(|_| SignatureError::Malformed)?;
    if now_secs.abs_diff(ts) > tolerance_secs.unsigned_abs() {
        return Err(SignatureError::Stale);
    }
    Ok(ts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_inbound_schemes_verify_their_own_and_nothing_else() {
        let body = b"{}";
        let mut mac = HmacSha256::new_from_slice(b"k").unwrap();
        mac.update(body);
        let digest = mac.finalize().into_bytes();
        let hex_mac = hex::encode(digest);
        assert_eq!(
            verify_github("k", body, &format!("sha256={hex_mac}")),
            Ok(())
        );
        assert_eq!(
            verify_github("k", body, &hex_mac),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify_github("j", body, &format!("sha256={hex_mac}")),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_body_hmac("k", body, &STANDARD.encode(digest), BodyEncoding::Base64),
            Ok(())
        );
        assert_eq!(
            verify_body_hmac("k", body, &hex_mac, BodyEncoding::Hex),
            Ok(())
        );

        let signed = sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "e", 1000, body).unwrap();
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let stripe = format!(
            "{},v1={}",
            signed.pilot5.replace(",v1=", ",v1=00,v1="),
            "ff"
        );
        assert_eq!(verify_stripe(secret, body, &stripe, 1100, 300), Ok(()));
        assert_eq!(
            verify_stripe(secret, body, &stripe, 1400, 300),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify_stripe(secret, b"x", &stripe, 1100, 300),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_stripe(secret, body, "v1=00", 1100, 300),
            Err(SignatureError::Malformed)
        );
    }

    /// The Standard Webhooks specification's own example
    /// (github.com/standard-webhooks/standard-webhooks, spec/standard-webhooks.md).
    const SPEC_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const SPEC_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const SPEC_TS: i64 = 1614265330;
    const SPEC_BODY: &[u8] = br#"{"test": 2432232314}"#;
    const SPEC_SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    #[test]
    fn the_standard_signature_is_the_specifications_example() {
        let signed = sign(SPEC_SECRET, SPEC_ID, SPEC_TS, SPEC_BODY).unwrap();
        assert_eq!(signed.standard, SPEC_SIGNATURE);
        verify_standard(
            SPEC_SECRET,
            SPEC_ID,
            &SPEC_TS.to_string(),
            &format!("v1,bm90IGl0 {SPEC_SIGNATURE}"),
            SPEC_BODY,
            SPEC_TS + 299,
            300,
        )
        .unwrap();
    }

    #[test]
    fn the_pilot5_signature_keys_with_the_secret_text() {
        // Computed independently: printf '1745923452.{"a":1}' |
        //   openssl dgst -sha256 -hmac 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'
        let signed = sign(SPEC_SECRET, "evt_x", 1745923452, br#"{"a":1}"#).unwrap();
        assert_eq!(signed.timestamp, 1745923452);
        let expected = {
            let mut mac = HmacSha256::new_from_slice(SPEC_SECRET.as_bytes()).unwrap();
            mac.update(b"1745923452.{\"a\":1}");
            hex::encode(mac.finalize().into_bytes())
        };
        assert_eq!(signed.pilot5, format!("t=1745923452,v1={expected}"));
        verify_pilot5(
            SPEC_SECRET,
            br#"{"a":1}"#,
            &signed.pilot5,
            "1745923452",
            1745923452 - 300,
            300,
        )
        .unwrap();
    }

    #[test]
    fn verification_refuses_what_it_should() {
        let body = br#"{"a":1}"#;
        let signed = sign(SPEC_SECRET, "evt_x", 1000, body).unwrap();
        let pilot5 = |body: &[u8], ts: &str, now| {
            verify_pilot5(SPEC_SECRET, body, &signed.pilot5, ts, now, 300)
        };
        assert_eq!(pilot5(body, "1000", 1301), Err(SignatureError::Stale));
        assert_eq!(
            pilot5(br#"{"a":2}"#, "1000", 1000),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(pilot5(body, "1001", 1000), Err(SignatureError::Mismatch));
        assert_eq!(pilot5(body, "soon", 1000), Err(SignatureError::Malformed));
        let standard = |id: &str, now| {
            verify_standard(SPEC_SECRET, id, "1000", &signed.standard, body, now, 300)
        };
        assert_eq!(standard("evt_x", 1000), Ok(()));
        assert_eq!(standard("evt_y", 1000), Err(SignatureError::Mismatch));
        assert_eq!(standard("evt_x", 699), Err(SignatureError::Stale));
        assert_eq!(
            sign("not-a-secret", "evt_x", 1000, body),
            Err(SignatureError::SecretFormat)
        );
    }
}
