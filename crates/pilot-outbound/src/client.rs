//! [`OutboundClient`]: the only way Pilot sends a request to a URL a user chose.
//!
//! One `send` goes through, in order:
//!
//! 1. the URL parses (or [`OutboundError::InvalidUrl`], without quoting it);
//! 2. the pre-connection check of `target.rs`: scheme, credentials, IP literals;
//! 3. the request, on a `reqwest` client built so that it cannot step around the
//!    guard: [`GuardedResolver`] as its resolver (addresses filtered after DNS, at
//!    connect time), no proxy (not even from `HTTP_PROXY`, since a proxy resolves
//!    names itself), redirects off, no automatic retries, no `Referer`;
//! 4. on a redirect, the next hop from `redirect.rs`, and back to step 2 for it, up
//!    to the policy's `max_redirects`;
//! 5. the body, read up to `max_response_bytes` by `body.rs`.
//!
//! One deadline covers all of it: the policy's `timeout_ms`, or a request's shorter
//! one.

use std::sync::Arc;
use std::time::Duration;

use url::Url;

use crate::body::{self, BodyError, Oversize};
use crate::error::{BuildError, OutboundError, redacted_url};
use crate::policy::OutboundPolicy;
use crate::redirect::{self, Hop};
use crate::request::{OutboundRequest, OutboundResponse};
use crate::resolver::GuardedResolver;
use crate::target::{self, Target};

const USER_AGENT: &str = concat!("Pilot/", env!("CARGO_PKG_VERSION"));

/// An HTTP client that refuses special-purpose addresses however they are reached.
/// Cheap to clone; clones share connections.
#[derive(Clone, Debug)]
pub struct OutboundClient {
    http: reqwest::Client,
    policy: Arc<OutboundPolicy>,
    resolver: GuardedResolver,
}

impl OutboundClient {
    /// A client enforcing `policy`.
    pub fn new(policy: OutboundPolicy) -> Result<Self, BuildError> {
        if policy.allow_private {
            tracing::warn!(
                "outbound.allow_private is on: http steps and webhooks can reach loopback, \
                 private networks and cloud metadata; use it for development only"
            );
        }
        let policy = Arc::new(policy);
        let resolver = GuardedResolver::new(Arc::clone(&policy));
        let http = reqwest::Client::builder()
            .dns_resolver(resolver.clone())
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .retry(reqwest::retry::never())
            .referer(false)
            .user_agent(USER_AGENT)
            .build()
            .map_err(BuildError)?;
        Ok(OutboundClient {
            http,
            policy,
            resolver,
        })
    }

    /// The policy this client enforces.
    pub fn policy(&self) -> &OutboundPolicy {
        &self.policy
    }

    /// Validates a URL that will be called later (a `webhook_url` at submit time):
    /// scheme, no credentials, and a host that is an allowed address or resolves
    /// now to at least one. Sends nothing. The connect-time check still runs when
    /// the URL is used, since DNS can change in between.
    pub async fn check_url(&self, url: &str) -> Result<Url, OutboundError> {
        let url = target::parse(url)?;
        if let Target::Name(host) = target::check(&self.policy, &url)? {
            let deadline = self.policy.timeout();
            tokio::time::timeout(deadline, self.resolver.resolve_allowed(&host))
                .await
                .map_err(|_| OutboundError::Dns {
                    host: host.clone(),
                    message: format!("no answer within {} ms", deadline.as_millis()),
                })??;
        }
        Ok(url)
    }

    /// Sends `request`; a body longer than `max_response_bytes` is cut there and
    /// the response marked `truncated`.
    pub async fn send(&self, request: OutboundRequest) -> Result<OutboundResponse, OutboundError> {
        self.exchange(request, Oversize::Truncate).await
    }

    /// Sends `request`; a body longer than `max_response_bytes` is
    /// [`OutboundError::BodyTooLarge`].
    pub async fn send_strict(
        &self,
        request: OutboundRequest,
    ) -> Result<OutboundResponse, OutboundError> {
        self.exchange(request, Oversize::Fail).await
    }

    async fn exchange(
        &self,
        request: OutboundRequest,
        oversize: Oversize,
    ) -> Result<OutboundResponse, OutboundError> {
        let url = target::parse(&request.url)?;
        let shown = redacted_url(&url);
        let deadline = deadline(self.policy.timeout(), request.timeout);
        let follow = request.follow_redirects;
        let hop = Hop {
            method: request.method,
            url,
            headers: request.headers,
            body: request.body,
        };
        tokio::time::timeout(deadline, self.follow(hop, oversize, follow))
            .await
            .unwrap_or_else(|_| {
                Err(OutboundError::Timeout {
                    url: shown,
                    timeout_ms: u64::try_from(deadline.as_millis()).unwrap_or(u64::MAX),
                })
            })
    }

    async fn follow(
        &self,
        mut hop: Hop,
        oversize: Oversize,
        follow: bool,
    ) -> Result<OutboundResponse, OutboundError> {
        let first = redacted_url(&hop.url);
        let mut redirects = 0;
        loop {
            target::check(&self.policy, &hop.url)?;
            let response = self.send_hop(&hop).await?;
            let status = response.status();
            if !follow {
                return self.read(hop.url, response, oversize).await;
            }
            let Some(next) = redirect::target(&hop.url, status, response.headers()) else {
                return self.read(hop.url, response, oversize).await;
            };
            let next = next?;
            if redirects == self.policy.max_redirects {
                return Err(OutboundError::TooManyRedirects {
                    url: first,
                    max: self.policy.max_redirects,
                });
            }
            redirects += 1;
            tracing::debug!(from = %redacted_url(&hop.url), to = %redacted_url(&next), %status, "following redirect");
            hop = hop.redirected(status, next);
        }
    }

    async fn send_hop(&self, hop: &Hop) -> Result<reqwest::Response, OutboundError> {
        let mut request = self
            .http
            .request(hop.method.clone(), hop.url.clone())
            .headers(hop.headers.clone());
        if let Some(body) = &hop.body {
            request = request.body(body.clone());
        }
        request.send().await.map_err(|e| from_reqwest(e, &hop.url))
    }

    async fn read(
        &self,
        url: Url,
        response: reqwest::Response,
        oversize: Oversize,
    ) -> Result<OutboundResponse, OutboundError> {
        let status = response.status();
        let headers = response.headers().clone();
        let limit = self.policy.max_response_bytes;
        let (body, truncated) =
            body::read(response, limit, oversize)
                .await
                .map_err(|e| match e {
                    BodyError::TooLarge => OutboundError::BodyTooLarge {
                        url: redacted_url(&url),
                        limit,
                    },
                    BodyError::Read(e) => from_reqwest(e, &url),
                })?;
        Ok(OutboundResponse {
            status,
            headers,
            body,
            truncated,
            url,
        })
    }
}

/// The policy's timeout, or the request's when it is shorter.
fn deadline(policy: Duration, request: Option<Duration>) -> Duration {
    request.map_or(policy, |r| r.min(policy))
}

/// Turns a `reqwest` error into ours: the guard's own refusal when the resolver
/// caused it, otherwise the innermost cause's words with a redacted URL.
fn from_reqwest(err: reqwest::Error, url: &Url) -> OutboundError {
    let err = err.without_url();
    let mut cause: &(dyn std::error::Error + 'static) = &err;
    loop {
        if let Some(refusal) = cause.downcast_ref::<OutboundError>() {
            return refusal.clone();
        }
        match cause.source() {
            Some(inner) => cause = inner,
            None => break,
        }
    }
    let url = redacted_url(url);
    let message = cause.to_string();
    if err.is_connect() {
        OutboundError::Connect { url, message }
    } else {
        OutboundError::Http { url, message }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_may_shorten_the_deadline_but_not_extend_it() {
        let policy = Duration::from_secs(10);
        assert_eq!(deadline(policy, None), policy);
        assert_eq!(
            deadline(policy, Some(Duration::from_secs(1))),
            Duration::from_secs(1)
        );
        assert_eq!(deadline(policy, Some(Duration::from_secs(60))), policy);
    }
}
