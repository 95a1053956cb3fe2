//! The connect-time check: a DNS resolver that only ever hands out allowed addresses.
//!
//! Checking a host name's addresses *before* a request and letting the HTTP client
//! resolve it again *to connect* leaves a gap: a name with a short TTL can answer a
//! public address to the check and `127.0.0.1` to the connection (DNS rebinding).
//! [`GuardedResolver`] closes the gap by being the resolver the client connects
//! with: it resolves once, drops every address the policy refuses, and the client
//! can only connect to what is left. If nothing is left, resolution fails with
//! [`OutboundError::ResolvesToNothingAllowed`] and no connection is attempted.
//!
//! The HTTP client never consults a resolver for IP-literal hosts
//! (`http://127.0.0.1/`); those are checked before the request instead (see
//! `target.rs`). Proxies are disabled, since a proxy would resolve names itself.

use std::net::SocketAddr;
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::error::OutboundError;
use crate::policy::OutboundPolicy;

/// Resolves host names with the system resolver and keeps the allowed addresses.
#[derive(Clone, Debug)]
pub struct GuardedResolver {
    policy: Arc<OutboundPolicy>,
}

impl GuardedResolver {
    /// A resolver enforcing `policy`.
    pub fn new(policy: Arc<OutboundPolicy>) -> Self {
        GuardedResolver { policy }
    }

    /// The addresses of `host` that the policy allows (port 0, for the caller to
    /// set), or why there are none.
    pub async fn resolve_allowed(&self, host: &str) -> Result<Vec<SocketAddr>, OutboundError> {
        let dns_error = |message: String| OutboundError::Dns {
            host: host.to_owned(),
            message,
        };
        let resolved: Vec<SocketAddr> = match self.policy.hosts.get(host) {
            Some(fixed) => fixed.iter().map(|ip| SocketAddr::new(*ip, 0)).collect(),
            None => tokio::net::lookup_host((host, 0))
                .await
                .map_err(|e| dns_error(e.to_string()))?
                .collect(),
        };
        if resolved.is_empty() {
            return Err(dns_error("no addresses".to_owned()));
        }
        let allowed: Vec<SocketAddr> = resolved
            .into_iter()
            .filter(|addr| match self.policy.refusal(host, addr.ip()) {
                None => true,
                Some(reason) => {
                    tracing::debug!(host, ip = %addr.ip(), %reason, "outbound address refused");
                    false
                }
            })
            .collect();
        if allowed.is_empty() {
            tracing::info!(
                host,
                "outbound request refused: host resolves only to forbidden addresses"
            );
            return Err(OutboundError::ResolvesToNothingAllowed {
                host: host.to_owned(),
            });
        }
        Ok(allowed)
    }
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let resolver = self.clone();
        Box::pin(async move {
            let addrs = resolver.resolve_allowed(name.as_str()).await?;
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolver(allow_list: &[&str]) -> GuardedResolver {
        let policy = OutboundPolicy::allowing(allow_list).expect("valid entries");
        GuardedResolver::new(Arc::new(policy))
    }

    #[tokio::test]
    async fn localhost_resolves_to_nothing_allowed() {
        let err = resolver(&[])
            .resolve_allowed("localhost")
            .await
            .unwrap_err();
        assert_eq!(
            err,
            OutboundError::ResolvesToNothingAllowed {
                host: "localhost".into()
            }
        );
    }

    #[tokio::test]
    async fn allow_listed_block_keeps_only_its_addresses() {
        let addrs = resolver(&["127.0.0.1/32"])
            .resolve_allowed("localhost")
            .await
            .expect("127.0.0.1 is allowed");
        assert!(!addrs.is_empty());
        assert!(
            addrs
                .iter()
                .all(|a| a.ip() == std::net::Ipv4Addr::LOCALHOST)
        );
    }

    #[tokio::test]
    async fn ip_strings_are_filtered_too() {
        let err = resolver(&[])
            .resolve_allowed("169.254.169.254")
            .await
            .unwrap_err();
        assert!(matches!(
            err,
            OutboundError::ResolvesToNothingAllowed { .. }
        ));
    }

    #[tokio::test]
    async fn the_reqwest_trait_reports_the_typed_error() {
        let name: Name = "localhost".parse().expect("valid name");
        let err = match resolver(&[]).resolve(name).await {
            Ok(addrs) => panic!("resolved to {:?}", addrs.collect::<Vec<_>>()),
            Err(e) => e,
        };
        assert_eq!(
            err.downcast_ref::<OutboundError>(),
            Some(&OutboundError::ResolvesToNothingAllowed {
                host: "localhost".into()
            })
        );
    }
}
