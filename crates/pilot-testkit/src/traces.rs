//! [`capture`]: the spans and events a test's code emits, to assert on what it logs.
//!
//! The collector is the thread's default subscriber while the returned guard lives,
//! so it sees only what runs on the test's thread: use it from `#[test]` or a
//! current-thread `#[tokio::test]` (the default), where spawned tasks run on that
//! thread too. Other tests running in parallel are not seen.
//!
//! tracing caches, per callsite, whether any subscriber is interested in it. A
//! callsite first reached by another test's thread, while no subscriber existed,
//! could be cached as "never" and stay so even under this collector — a span or
//! event silently missing, now and then. So the first capture also installs a
//! global subscriber that is interested in everything and keeps nothing: no callsite
//! is ever cached as "never". Tests that capture still do best in a test binary of
//! their own (no other test's threads racing the first registration of a callsite).
//!
//! ```ignore
//! let (traces, _guard) = pilot_testkit::traces::capture();
//! do_work().await;
//! let span = traces.span("job").expect("a span per job");
//! assert_eq!(span.field("job.kind"), Some("noop"));
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::DefaultGuard;
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

/// A span as it was opened (and later recorded into).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpanRecord {
    pub name: String,
    /// Every field with a value, as `Display` or `Debug` rendered it.
    pub fields: BTreeMap<String, String>,
}

impl SpanRecord {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }
}

/// An event, with the spans it happened in, outermost first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventRecord {
    pub message: String,
    pub level: tracing::Level,
    pub fields: BTreeMap<String, String>,
    pub spans: Vec<SpanRecord>,
}

impl EventRecord {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }

    /// The innermost span of that name this event happened in.
    pub fn within(&self, name: &str) -> Option<&SpanRecord> {
        self.spans.iter().rev().find(|span| span.name == name)
    }
}

#[derive(Default)]
struct Recorded {
    spans: Vec<SpanRecord>,
    events: Vec<(EventRecord, Vec<usize>)>,
}

/// What was captured so far (see the module docs).
#[derive(Clone, Default)]
pub struct Traces {
    recorded: Arc<Mutex<Recorded>>,
}

impl Traces {
    /// Every span opened, in order.
    pub fn spans(&self) -> Vec<SpanRecord> {
        self.recorded.lock().unwrap().spans.clone()
    }

    /// The spans named `name`, in the order they were opened.
    pub fn spans_named(&self, name: &str) -> Vec<SpanRecord> {
        self.spans()
            .into_iter()
            .filter(|s| s.name == name)
            .collect()
    }

    /// The first span named `name`.
    pub fn span(&self, name: &str) -> Option<SpanRecord> {
        self.spans_named(name).into_iter().next()
    }

    /// Every event, in order, each with its spans as they are now.
    pub fn events(&self) -> Vec<EventRecord> {
        let recorded = self.recorded.lock().unwrap();
        recorded
            .events
            .iter()
            .map(|(event, scope)| EventRecord {
                spans: scope.iter().map(|&i| recorded.spans[i].clone()).collect(),
                ..event.clone()
            })
            .collect()
    }

    /// The events whose message is `message`.
    pub fn events_saying(&self, message: &str) -> Vec<EventRecord> {
        self.events()
            .into_iter()
            .filter(|event| event.message == message)
            .collect()
    }
}

/// Starts capturing on this thread; capturing stops when the guard is dropped.
pub fn capture() -> (Traces, DefaultGuard) {
    static INTERESTED_EVERYWHERE: std::sync::Once = std::sync::Once::new();
    INTERESTED_EVERYWHERE.call_once(|| {
        // Another global subscriber set first (a test that logs) is just as good.
        let _ = tracing::subscriber::set_global_default(tracing_subscriber::registry());
        tracing::callsite::rebuild_interest_cache();
    });
    let traces = Traces::default();
    let subscriber = tracing_subscriber::registry().with(Collector {
        recorded: traces.recorded.clone(),
    });
    (traces, tracing::subscriber::set_default(subscriber))
}

struct Collector {
    recorded: Arc<Mutex<Recorded>>,
}

/// Where a span's record lives, kept in the span's extensions.
struct Index(usize);

impl<S> Layer<S> for Collector
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        let mut recorded = self.recorded.lock().unwrap();
        recorded.spans.push(SpanRecord {
            name: attrs.metadata().name().to_owned(),
            fields: fields.values,
        });
        let index = recorded.spans.len() - 1;
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(Index(index));
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let Some(&Index(index)) = span.extensions().get::<Index>() else {
            return;
        };
        let mut fields = Fields::default();
        values.record(&mut fields);
        self.recorded.lock().unwrap().spans[index]
            .fields
            .extend(fields.values);
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let message = fields.values.remove("message").unwrap_or_default();
        let scope = ctx
            .event_scope(event)
            .map(|scope| {
                scope
                    .from_root()
                    .filter_map(|span| span.extensions().get::<Index>().map(|i| i.0))
                    .collect()
            })
            .unwrap_or_default();
        self.recorded.lock().unwrap().events.push((
            EventRecord {
                message,
                level: *event.metadata().level(),
                fields: fields.values,
                spans: Vec::new(),
            },
            scope,
        ));
    }
}

#[derive(Default)]
struct Fields {
    values: BTreeMap<String, String>,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.values
            .insert(field.name().to_owned(), value.to_owned());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.values
            .insert(field.name().to_owned(), format!("{value:?}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_events_and_their_nesting_are_captured() {
        let (traces, _guard) = capture();
        let outer = tracing::info_span!("outer", who = "me", late = tracing::field::Empty);
        outer.in_scope(|| {
            tracing::info_span!("inner", n = 2).in_scope(|| {
                tracing::warn!(count = 3, "something happened");
            });
        });
        outer.record("late", 7);
        let events = traces.events_saying("something happened");
        assert_eq!(events.len(), 1);
        let event = &events[0];
        assert_eq!(event.level, tracing::Level::WARN);
        assert_eq!(event.field("count"), Some("3"));
        let names: Vec<&str> = event.spans.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["outer", "inner"]);
        assert_eq!(event.within("outer").unwrap().field("who"), Some("me"));
        assert_eq!(traces.span("outer").unwrap().field("late"), Some("7"));
        assert_eq!(traces.span("inner").unwrap().field("n"), Some("2"));
    }
}
