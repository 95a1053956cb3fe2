//! Idempotency keys, enforced by the operations that accept one (DESIGN §8): a
//! request that carries a key is run at most once per key within the TTL (24 h by
//! default), whatever the transport.
//!
//! The first request claims the key in the store — one row per `(tenant, key)`, so
//! of concurrent requests exactly one runs — and its answer is kept; a later request
//! with the same key and the same fingerprint gets that answer again (a view as the
//! JSON it was, an error as its code and message), marked replayed; the same key
//! with another fingerprint is `idempotency_conflict`. A request that arrives while
//! the first is still running waits for its answer (bounded), then replays it.
//!
//! The fingerprint is what "the same request" means, and the transport says it:
//! the REST surfaces hash method, path and the body's bytes, MCP the tool and its
//! arguments. Operations check the caller's scope *before* the key is looked up, so
//! a caller that may not make the request never learns whether its key is known.
//!
//! Once a request has claimed its key the work runs to its end on a task of its
//! own, even if the caller goes away, so a key is never left claimed with nothing
//! kept. Answers that say "try again" (a short balance, a rate limit, an
//! unavailable dependency, our fault: [`OpError::is_transient`]) are not kept: the
//! key is released so a retry runs afresh.

use std::future::Future;
use std::time::Duration;

use pilot_domain::Principal;
use pilot_domain::deliberation::MAX_IDEMPOTENCY_KEY_CHARS;
use pilot_store::IdempotencyBegin;
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tracing::Instrument;

use crate::answer::{Answer, Replayable};
use crate::error::{ErrorCode, OpError};
use crate::operations::Operations;

/// How long a request waits for an in-flight twin before giving up.
const IN_FLIGHT_WAIT: Duration = Duration::from_secs(10);
/// How often it looks meanwhile.
const IN_FLIGHT_LOOK: Duration = Duration::from_millis(25);
/// Largest answer kept for replay, as JSON.
const MAX_KEPT_BYTES: usize = 256 * 1024;
/// The status the store's ledger records for a kept view. Replays read only the
/// kept JSON: a view under `body`, an error under `error`.
const KEPT_VIEW: u16 = 200;
/// The status recorded for a kept error.
const KEPT_ERROR: u16 = 400;

/// A client's idempotency key: 1 to 255 visible characters (HTTP's `VCHAR`, `!` to
/// `~`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(raw: &[u8]) -> Result<IdempotencyKey, OpError> {
        let visible = (1..=MAX_IDEMPOTENCY_KEY_CHARS).contains(&raw.len())
            && raw.iter().all(|b| (b'!'..=b'~').contains(b));
        if !visible {
            return Err(OpError::validation(format!(
                "Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY_CHARS} visible characters \
                 (printable ASCII without spaces or control characters)."
            )));
        }
        Ok(IdempotencyKey(String::from_utf8_lossy(raw).into_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A key with what makes two requests "the same" for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Idempotency {
    pub key: IdempotencyKey,
    /// SHA-256 (hex) over the request as the transport defines it.
    pub fingerprint: String,
}

impl Idempotency {
    /// `key` over a request made of `parts` (hashed in order, each ended by a
    /// newline so that no two different splits hash alike).
    pub fn new(key: IdempotencyKey, parts: &[&[u8]]) -> Idempotency {
        let mut hasher = Sha256::new();
        for part in parts {
            hasher.update(part);
            hasher.update(b"\n");
        }
        Idempotency {
            key,
            fingerprint: hex::encode(hasher.finalize()),
        }
    }

    /// The REST surfaces' fingerprint: method, path and the body's bytes, as the
    /// `Idempotency-Key` layer has always hashed them.
    pub fn of_http(key: IdempotencyKey, method: &str, path: &str, body: &[u8]) -> Idempotency {
        let mut hasher = Sha256::new();
        hasher.update(method.as_bytes());
        hasher.update(b" ");
        hasher.update(path.as_bytes());
        hasher.update(b"\n");
        hasher.update(body);
        Idempotency {
            key,
            fingerprint: hex::encode(hasher.finalize()),
        }
    }
}

/// The store's scope of a key: the tenant.
fn tenant(who: &Principal) -> String {
    format!("{}:{}", who.workspace_id, who.environment.as_str())
}

impl Operations {
    /// Runs `work` at most once for `idempotency` in `who`'s tenant (see the module
    /// docs); without a key, just runs it. The caller has checked `who`'s scope.
    pub(crate) async fn idempotently<T, F>(
        &self,
        who: &Principal,
        idempotency: Option<Idempotency>,
        work: F,
    ) -> Answer<Replayable<T>>
    where
        T: Serialize + Send + Sync + 'static,
        F: Future<Output = Answer<T>> + Send + 'static,
    {
        let Some(Idempotency { key, fingerprint }) = idempotency else {
            return fresh(work.await);
        };
        let scope = tenant(who);
        let store = self.store();
        let deadline = tokio::time::Instant::now() + IN_FLIGHT_WAIT;
        loop {
            let now = self.now();
            let begun = match store
                .idempotency_begin(
                    &scope,
                    key.as_str(),
                    &fingerprint,
                    now,
                    self.idempotency_ttl_ms(),
                )
                .await
            {
                Ok(begun) => begun,
                Err(error) => return Answer::err(error.into()),
            };
            match begun {
                IdempotencyBegin::Started => break,
                IdempotencyBegin::Replay { body, .. } => return replay(body),
                IdempotencyBegin::Conflict => {
                    return Answer::err(OpError::conflict(
                        ErrorCode::IdempotencyConflict,
                        "This Idempotency-Key was already used with a different request.",
                    ));
                }
                IdempotencyBegin::InFlight => {
                    if tokio::time::Instant::now() >= deadline {
                        return Answer::err(OpError::conflict(
                            ErrorCode::IdempotencyConflict,
                            "A request with this Idempotency-Key is still in progress; retry \
                             shortly.",
                        ));
                    }
                    tokio::time::sleep(IN_FLIGHT_LOOK).await;
                }
            }
        }

        // The key is ours: run the work to its end on a task of its own, and keep
        // its answer (or release the key) there too.
        let keeper = self.clone();
        let task = {
            let (scope, key) = (scope.clone(), key.clone());
            tokio::spawn(
                async move {
                    let answer = fresh(work.await);
                    keeper.keep(&scope, &key, &answer).await;
                    answer
                }
                .instrument(tracing::Span::current()),
            )
        };
        match task.await {
            Ok(answer) => answer,
            Err(failed) => {
                self.release(&scope, &key).await;
                match failed.try_into_panic() {
                    Ok(panic) => std::panic::resume_unwind(panic),
                    Err(_) => Answer::err(OpError::internal()),
                }
            }
        }
    }

    /// Keeps `answer` for `key`, or releases the key when the answer is transient or
    /// too large to keep.
    async fn keep<T: Serialize>(&self, scope: &str, key: &IdempotencyKey, answer: &Answer<T>) {
        let (status, kept) = match &answer.result {
            Err(error) if error.is_transient() => return self.release(scope, key).await,
            Err(error) => (
                KEPT_ERROR,
                json!({"error": {"code": error.code.as_str(), "message": error.message}}),
            ),
            Ok(view) => {
                let body = serde_json::to_value(view).unwrap_or(Value::Null);
                if body.to_string().len() > MAX_KEPT_BYTES {
                    tracing::warn!("an answer too large to keep for idempotent replay");
                    return self.release(scope, key).await;
                }
                (KEPT_VIEW, json!({ "body": body }))
            }
        };
        if let Err(error) = self
            .store()
            .idempotency_finish(scope, key.as_str(), status, &kept)
            .await
        {
            tracing::warn!(%error, "could not keep an answer for idempotent replay");
        }
    }

    async fn release(&self, scope: &str, key: &IdempotencyKey) {
        if let Err(error) = self.store().idempotency_abandon(scope, key.as_str()).await {
            tracing::warn!(%error, "could not release an idempotency key");
        }
    }
}

fn fresh<T>(answer: Answer<T>) -> Answer<Replayable<T>> {
    Answer {
        result: answer.result.map(Replayable::Fresh),
        replayed: answer.replayed,
        rate_limit: answer.rate_limit,
    }
}

/// The kept answer again: a view as the JSON it was, an error by its code.
fn replay<T>(kept: Value) -> Answer<Replayable<T>> {
    let result = match kept.get("error") {
        Some(error) => {
            let code = error["code"]
                .as_str()
                .and_then(ErrorCode::parse)
                .unwrap_or(ErrorCode::InvalidRequest);
            let message = error["message"].as_str().unwrap_or_default();
            Err(OpError::new(code, message))
        }
        None => Ok(Replayable::Replayed(
            kept.get("body").cloned().unwrap_or(Value::Null),
        )),
    };
    Answer {
        result,
        replayed: true,
        rate_limit: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_visible_ascii_within_bounds() {
        assert!(IdempotencyKey::parse(b"7c1d-ok_key.1").is_ok());
        for bad in [&b""[..], b"has space", b"tab\there", "é".as_bytes()] {
            assert!(IdempotencyKey::parse(bad).is_err(), "{bad:?}");
        }
        assert!(IdempotencyKey::parse(&[b'a'; 255]).is_ok());
        assert!(IdempotencyKey::parse(&[b'a'; 256]).is_err());
    }

    #[test]
    fn fingerprints_tell_requests_apart() {
        let key = IdempotencyKey::parse(b"k").unwrap();
        let a = Idempotency::of_http(key.clone(), "POST", "/v1/api/deliberations", b"{}");
        let b = Idempotency::of_http(key.clone(), "POST", "/v1/api/deliberations", b"{ }");
        assert_ne!(a.fingerprint, b.fingerprint);
        let split_one = Idempotency::new(key.clone(), &[b"ab", b"c"]);
        let split_two = Idempotency::new(key, &[b"a", b"bc"]);
        assert_ne!(split_one.fingerprint, split_two.fingerprint);
    }
}
