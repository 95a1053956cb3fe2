//! `[http]`: the body limit, the timeouts, the connection bound and the request-head
//! limits; see `config.default.toml` for what each setting does and why its default
//! is what it is.

use std::time::Duration;

use serde::Deserialize;

/// HTTP settings; see `config.default.toml`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Largest request body accepted, in bytes; larger ones get `413`.
    pub body_limit_bytes: usize,
    /// A request's head must arrive within this, else the connection is closed
    /// (by hyper, with no answer). Also how long an idle keep-alive connection stays.
    pub header_read_timeout_ms: u64,
    /// A request's whole body must arrive within this, counted from its head;
    /// else `408` and the connection is closed.
    pub body_read_timeout_ms: u64,
    /// The response head must be ready within this, else `503`. A streamed body
    /// (server-sent events) goes on past it.
    pub request_timeout_ms: u64,
    /// Connections served at once; further ones wait, unaccepted, in the listen
    /// backlog until one closes.
    pub max_connections: usize,
    /// Longest request target (path and query) in bytes; longer is `414`.
    pub max_uri_bytes: usize,
    /// Most header fields in a request; more is `431`.
    pub max_headers: usize,
    /// Largest total size of a request's header fields in bytes (each counted as
    /// `name: value` and its line end); larger is `431`.
    pub max_header_bytes: usize,
    /// Event streams (`GET /v1/api/deliberations/{id}/events`) one key may hold open
    /// at once, per process; one more is `429`.
    pub max_event_streams_per_key: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            body_limit_bytes: 1024 * 1024,
            header_read_timeout_ms: 20_000,
            body_read_timeout_ms: 30_000,
            request_timeout_ms: 300_000,
            max_connections: 512,
            max_uri_bytes: 8 * 1024,
            max_headers: 100,
            max_header_bytes: 16 * 1024,
            max_event_streams_per_key: 8,
        }
    }
}

/// The longest URI the `http` crate (and so hyper) can represent; longer ones are
/// answered `414` by hyper itself.
const HYPER_MAX_URI_BYTES: usize = u16::MAX as usize - 1;
/// hyper's own default read buffer (8 KiB + 100 × 4 KiB).
const HYPER_DEFAULT_BUF_BYTES: usize = 8192 + 4096 * 100;
/// How far above the application's limits hyper's are set: requests in between
/// reach the application and get its shaped `414`/`431`.
const HYPER_HEADROOM: usize = 4;

impl HttpConfig {
    /// Refuses settings that cannot work.
    pub fn validate(&self) -> Result<(), String> {
        let positive = [
            ("body_limit_bytes", self.body_limit_bytes as u64),
            ("header_read_timeout_ms", self.header_read_timeout_ms),
            ("body_read_timeout_ms", self.body_read_timeout_ms),
            ("request_timeout_ms", self.request_timeout_ms),
            ("max_connections", self.max_connections as u64),
            ("max_headers", self.max_headers as u64),
            (
                "max_event_streams_per_key",
                self.max_event_streams_per_key as u64,
            ),
        ];
        if let Some((name, _)) = positive.iter().find(|(_, value)| *value == 0) {
            return Err(format!("http.{name} must be at least 1"));
        }
        if self.max_connections > tokio::sync::Semaphore::MAX_PERMITS.min(u32::MAX as usize) {
            return Err("http.max_connections is too large".into());
        }
        if !(256..=HYPER_MAX_URI_BYTES / HYPER_HEADROOM).contains(&self.max_uri_bytes) {
            return Err(format!(
                "http.max_uri_bytes must be 256 to {}",
                HYPER_MAX_URI_BYTES / HYPER_HEADROOM
            ));
        }
        if !(1024..=1024 * 1024).contains(&self.max_header_bytes) {
            return Err("http.max_header_bytes must be 1024 to 1048576".into());
        }
        if self.max_headers > 10_000 {
            return Err("http.max_headers must be at most 10000".into());
        }
        Ok(())
    }

    pub fn header_read_timeout(&self) -> Duration {
        Duration::from_millis(self.header_read_timeout_ms)
    }

    pub fn body_read_timeout(&self) -> Duration {
        Duration::from_millis(self.body_read_timeout_ms)
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }

    /// hyper's header-count limit, above the application's.
    pub fn hyper_max_headers(&self) -> usize {
        self.max_headers * HYPER_HEADROOM
    }

    /// hyper's limit on a request head (request line and headers), above the
    /// application's URI and header limits together.
    pub fn hyper_max_head_bytes(&self) -> usize {
        (self.max_uri_bytes + self.max_header_bytes) * HYPER_HEADROOM
    }

    /// hyper's read buffer: its default, or more if the head limit needs it.
    pub fn hyper_max_buf_bytes(&self) -> usize {
        self.hyper_max_head_bytes().max(HYPER_DEFAULT_BUF_BYTES)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_hyper_sits_above_them() {
        let config = HttpConfig::default();
        config.validate().unwrap();
        assert!(config.hyper_max_headers() > config.max_headers);
        assert!(config.hyper_max_head_bytes() > config.max_uri_bytes + config.max_header_bytes);
        assert!(config.hyper_max_buf_bytes() >= config.hyper_max_head_bytes());
    }

    #[test]
    fn unworkable_settings_are_refused() {
        for broken in [
            HttpConfig {
                request_timeout_ms: 0,
                ..HttpConfig::default()
            },
            HttpConfig {
                max_connections: 0,
                ..HttpConfig::default()
            },
            HttpConfig {
                max_uri_bytes: 60_000,
                ..HttpConfig::default()
            },
            HttpConfig {
                max_header_bytes: 10,
                ..HttpConfig::default()
            },
            HttpConfig {
                max_event_streams_per_key: 0,
                ..HttpConfig::default()
            },
        ] {
            assert!(broken.validate().is_err(), "{broken:?}");
        }
    }
}
