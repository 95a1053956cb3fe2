//! Pilot's outbound-request guard: HTTP to URLs that users choose, without letting
//! them reach what the server can reach.
//!
//! # The threat
//!
//! `http` pilot steps and webhook deliveries send requests to URLs a tenant wrote.
//! The server sits inside a network the tenant is not part of, so a naive client is
//! a server-side request forgery (SSRF) tool:
//!
//! * **cloud metadata**: `http://169.254.169.254/latest/meta-data/` hands out the
//!   machine's cloud credentials;
//! * **internal services**: databases' HTTP ports, admin panels and Pilot itself on
//!   `127.0.0.1`, `10.x`, `192.168.x`, `fd00::/8`, …, including through spellings
//!   such as `127.1`, `2130706433`, `0x7f000001`, `[::ffff:127.0.0.1]`, `[::7f00:1]`
//!   and `[64:ff9b::7f00:1]`;
//! * **names that lead there**: `localhost`, or any public name whose DNS record
//!   points inside, and **DNS rebinding**, a name that answers a public address
//!   when checked and an internal one when connected to;
//! * **redirects**: a public URL that answers `302 Location: http://127.0.0.1/`;
//! * **proxies**: an `HTTP_PROXY` in the environment resolves names on its side,
//!   where no check runs.
//!
//! # What is checked where
//!
//! | check | where | when |
//! | --- | --- | --- |
//! | scheme `http`/`https` (`https` only if required), no credentials in the URL | `target.rs` | before each hop |
//! | IP-literal host against [`is_forbidden`] | `target.rs` | before each hop |
//! | every resolved address against [`is_forbidden`], refused ones dropped | [`GuardedResolver`] | at connect time |
//! | redirects followed by hand, at most `max_redirects`, each hop re-checked | `redirect.rs`, [`OutboundClient`] | per redirect |
//! | body read up to `max_response_bytes`; one deadline for the whole exchange | `body.rs`, [`OutboundClient`] | per request |
//! | host resolves now to an allowed address | [`OutboundClient::check_url`] | at submit time (`webhook_url`) |
//!
//! The resolver is the client's only resolver and proxies are off, so the address
//! a connection goes to is always one the guard returned: rebinding cannot slip
//! between a check and a connect because they are the same step. A refused address
//! is refused before any packet is sent to it.
//!
//! Which addresses are refused, and why every IPv6 form that embeds an IPv4 address
//! is refused outright, is in [`address`].
//!
//! # The operator's escape hatch
//!
//! [`OutboundPolicy`] is configuration: `allow_list` permits addresses, blocks or
//! host names (a webhook receiver on `localhost` during development), and
//! `allow_private` turns the address check off. Both are for development; see
//! [`policy`](OutboundPolicy) for what each one opens.
//!
//! # Errors
//!
//! [`OutboundError`] messages are written for API users (they appear in run step
//! errors and `422` answers) and never contain a URL's path or query, credentials,
//! header values, or the internal addresses a name resolves to; see [`redacted_url`].

pub mod address;
mod body;
mod cidr;
mod client;
mod error;
mod policy;
mod redirect;
mod request;
mod resolver;
mod target;

pub use address::{Reason, is_forbidden};
pub use cidr::{Cidr, CidrError};
pub use client::OutboundClient;
pub use error::{BuildError, OutboundError, redacted_url};
pub use policy::{AllowEntry, AllowEntryError, OutboundPolicy};
pub use request::{OutboundRequest, OutboundResponse};
pub use resolver::GuardedResolver;

pub use bytes::Bytes;
pub use reqwest::header;
pub use reqwest::{Method, StatusCode};
pub use url::Url;
