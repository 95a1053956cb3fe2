//! How many event streams each key holds open.
//!
//! An event stream (`GET /v1/api/deliberations/{id}/events`) is a connection that
//! stays open for as long as its deliberation runs (up to 15 minutes), looking at
//! the store twice a second. `http.max_event_streams_per_key` bounds how many one key
//! may hold at once, so that one key cannot take all of `http.max_connections` or
//! load the store without end; one stream more is `429 rate_limited`.
//!
//! The count is kept in this process's memory: no store round trip per stream, and
//! nothing to clean up after a crash. Behind N `pilot serve` processes a key may so
//! hold up to N times the limit — still a bound. A [`StreamSlot`] is owned by the
//! stream itself, so it is given back however the stream ends: at its terminal
//! event, at its length limit, or when the client goes away and hyper drops the body.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use pilot_domain::ApiKeyId;

/// The open streams of every key, bounded per key.
#[derive(Debug)]
pub struct StreamSlots {
    per_key: usize,
    open: Mutex<HashMap<ApiKeyId, usize>>,
}

/// One open stream of one key; dropping it gives the slot back.
#[derive(Debug)]
pub struct StreamSlot {
    slots: Arc<StreamSlots>,
    key: ApiKeyId,
}

impl StreamSlots {
    pub fn new(per_key: usize) -> Arc<StreamSlots> {
        Arc::new(StreamSlots {
            per_key,
            open: Mutex::new(HashMap::new()),
        })
    }

    /// How many streams one key may hold.
    pub fn per_key(&self) -> usize {
        self.per_key
    }

    /// A slot for `key`, or `None` when it holds [`per_key`](Self::per_key) already.
    pub fn try_acquire(self: &Arc<Self>, key: ApiKeyId) -> Option<StreamSlot> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let held = open.entry(key).or_insert(0);
        if *held >= self.per_key {
            return None;
        }
        *held += 1;
        Some(StreamSlot {
            slots: Arc::clone(self),
            key,
        })
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut open = self
            .slots
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(held) = open.get_mut(&self.key) {
            *held -= 1;
            if *held == 0 {
                open.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_per_key_and_given_back_on_drop() {
        let slots = StreamSlots::new(2);
        let (a, b) = (ApiKeyId(1), ApiKeyId(2));
        let first = slots.try_acquire(a).unwrap();
        let _second = slots.try_acquire(a).unwrap();
        assert!(slots.try_acquire(a).is_none(), "a third stream for one key");
        let _other = slots.try_acquire(b).expect("another key has its own slots");
        drop(first);
        let _again = slots.try_acquire(a).expect("a slot given back is free");
        assert!(slots.try_acquire(a).is_none());
    }

    #[test]
    fn keys_without_streams_leave_no_entry() {
        let slots = StreamSlots::new(1);
        drop(slots.try_acquire(ApiKeyId(7)).unwrap());
        assert!(slots.open.lock().unwrap().is_empty());
    }
}
