//! A webhook pilot's optional sender verification: a scheme and a secret (sealed
//! under the master key, never shown), checked on each `POST` before anything is
//! read or queued. A bad or missing signature is `401`.
//!
//! | scheme | header(s) | signed | key |
//! |---|---|---|---|
//! | `pilot5` | `X-Pilot5-Signature: t=…,v1={hex}` (+ `X-Pilot5-Timestamp`) | `"{t}.{body}"` | the secret's text |
//! | `standard-webhooks` | `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,{base64}` | `"{id}.{t}.{body}"` | the base64 after `whsec_`, decoded |
//! | `github` | `X-Hub-Signature-256: sha256={hex}` | the body | the secret's text |
//! | `stripe` | `Stripe-Signature: t=…,v1={hex}` | `"{t}.{body}"` | the secret's text |
//! | `hmac-sha256` | `header` (required), `encoding` `hex` (default) or `base64` | the body | the secret's text |
//!
//! Schemes with a timestamp refuse one more than `toleranceSecs` (default 300) from
//! now.

use pilot_domain::MasterKey;
use pilot_domain::webhook::signature::{
    self, BodyEncoding, verify_body_hmac, verify_github, verify_pilot5, verify_standard,
    verify_stripe,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::webhook_body::WebhookRequest;
use crate::error::OpError;

/// The tolerance when none is given: five minutes, as the senders document.
const DEFAULT_TOLERANCE_SECS: i64 = 300;

/// `webhookVerification` in a pilot's `PATCH`: how its URL checks senders.
#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct WebhookVerificationBody {
    /// `pilot5`, `standard-webhooks`, `github`, `stripe` or `hmac-sha256`.
    pub scheme: String,
    /// The shared secret (for `standard-webhooks`, `whsec_` and base64). Write-only.
    #[schema(min_length = 1, max_length = 1024)]
    pub secret: String,
    /// `hmac-sha256` only: the header holding the signature.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    /// `hmac-sha256` only: `hex` (default) or `base64`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
    /// Schemes with a timestamp: the most it may differ from now (1–86400, default 300).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tolerance_secs: Option<i64>,
}

/// What the store keeps: the body with its secret sealed.
#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
struct Stored {
    scheme: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    header: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    encoding: Option<String>,
    tolerance_secs: i64,
    secret_sealed: String,
}

/// Checks `body` and seals it for the store; `422` naming what is wrong.
pub(crate) fn seal(
    body: &WebhookVerificationBody,
    master_key: &MasterKey,
) -> Result<String, OpError> {
    let invalid = |m: &str| OpError::validation(format!("webhookVerification: {m}"));
    if body.secret.is_empty() || body.secret.len() > 1024 {
        return Err(invalid("secret must be 1 to 1024 characters"));
    }
    let tolerance_secs = body.tolerance_secs.unwrap_or(DEFAULT_TOLERANCE_SECS);
    if !(1..=86_400).contains(&tolerance_secs) {
        return Err(invalid("toleranceSecs must be 1 to 86400"));
    }
    let is_hmac = body.scheme == "hmac-sha256";
    match body.scheme.as_str() {
        "pilot5" | "github" | "stripe" | "hmac-sha256" => {}
        "standard-webhooks" => {
            signature::sign(&body.secret, "check", 0, b"")
                .map_err(|_| invalid("a standard-webhooks secret is whsec_ followed by base64"))?;
        }
        _ => {
            return Err(invalid(
                "scheme must be pilot5, standard-webhooks, github, stripe or hmac-sha256",
            ));
        }
    }
    if !is_hmac && (body.header.is_some() || body.encoding.is_some()) {
        return Err(invalid(
            "header and encoding are for the hmac-sha256 scheme only",
        ));
    }
    if is_hmac {
        let header = body.header.as_deref().unwrap_or_default();
        if header.is_empty()
            || header.len() > 128
            || !header
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(invalid("hmac-sha256 needs header, a header name"));
        }
        if !matches!(body.encoding.as_deref(), None | Some("hex" | "base64")) {
            return Err(invalid("encoding must be hex or base64"));
        }
    }
    let stored = Stored {
        scheme: body.scheme.clone(),
        header: body.header.clone(),
        encoding: is_hmac.then(|| body.encoding.clone().unwrap_or_else(|| "hex".into())),
        tolerance_secs,
        secret_sealed: master_key.seal(&body.secret),
    };
    Ok(serde_json::to_string(&stored).expect("serializable"))
}

/// The stored verification without its secret, as `GET` shows it.
pub(crate) fn view(stored: &str) -> Option<serde_json::Value> {
    let stored: Stored = serde_json::from_str(stored).ok()?;
    let mut view =
        serde_json::json!({"scheme": stored.scheme, "toleranceSecs": stored.tolerance_secs});
    if let Some(header) = stored.header {
        view["header"] = header.into();
    }
    if let Some(encoding) = stored.encoding {
        view["encoding"] = encoding.into();
    }
    Some(view)
}

/// Whether `request` is signed as `stored` asks; `401` if not.
pub(crate) fn verify(
    stored: &str,
    master_key: &MasterKey,
    request: &WebhookRequest,
    now_secs: i64,
) -> Result<(), OpError> {
    let refused =
        || OpError::unauthenticated("The webhook signature is missing or does not match.");
    let stored: Stored = serde_json::from_str(stored).map_err(|_| OpError::internal())?;
    let secret = master_key
        .open(&stored.secret_sealed)
        .map_err(|_| OpError::internal())?;
    let header = |name: &str| request.header(name).ok_or_else(refused);
    let body = &request.body;
    let tolerance = stored.tolerance_secs;
    let checked = match stored.scheme.as_str() {
        "pilot5" => verify_pilot5(
            &secret,
            body,
            header("x-pilot5-signature")?,
            &pilot5_timestamp(request).ok_or_else(refused)?,
            now_secs,
            tolerance,
        ),
        "standard-webhooks" => verify_standard(
            &secret,
            header("webhook-id")?,
            header("webhook-timestamp")?,
            header("webhook-signature")?,
            body,
            now_secs,
            tolerance,
        ),
        "github" => verify_github(&secret, body, header("x-hub-signature-256")?),
        "stripe" => verify_stripe(
            &secret,
            body,
            header("stripe-signature")?,
            now_secs,
            tolerance,
        ),
        "hmac-sha256" => {
            let encoding = match stored.encoding.as_deref() {
                Some("base64") => BodyEncoding::Base64,
                _ => BodyEncoding::Hex,
            };
            verify_body_hmac(
                &secret,
                body,
                header(stored.header.as_deref().unwrap_or_default())?,
                encoding,
            )
        }
        _ => return Err(OpError::internal()),
    };
    checked.map_err(|_| refused())
}

/// `X-Pilot5-Timestamp`, else the `t=` of `X-Pilot5-Signature`.
fn pilot5_timestamp(request: &WebhookRequest) -> Option<String> {
    if let Some(ts) = request.header("x-pilot5-timestamp") {
        return Some(ts.to_owned());
    }
    request
        .header("x-pilot5-signature")?
        .split(',')
        .filter_map(|part| part.split_once('='))
        .find(|(name, _)| *name == "t")
        .map(|(_, value)| value.to_owned())
}
