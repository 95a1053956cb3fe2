//! A small incremental parser for server-sent events (the `text/event-stream` format
//! both providers stream in).
//!
//! Bytes arrive in chunks that split lines and events anywhere; [`SseParser::push`]
//! keeps the unfinished tail and returns every event completed so far. Lines end in
//! `\n`, `\r\n` or `\r`; `data:` lines of one event are joined with `\n`; comments
//! (`:` lines) and the `id` and `retry` fields are ignored, as this client never
//! reconnects. An event is dispatched at a blank line; a final event without one is
//! dropped, as the format requires, which is how a cut-off stream shows.

/// One dispatched event.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` field, if the event had one.
    pub event: Option<String>,
    pub data: String,
}

#[derive(Debug, Default)]
pub struct SseParser {
    buffer: Vec<u8>,
    event: Option<String>,
    data: String,
    has_data: bool,
}

impl SseParser {
    pub fn new() -> SseParser {
        SseParser::default()
    }

    /// Feeds a chunk; returns the events it completed.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<SseEvent> {
        self.buffer.extend_from_slice(chunk);
        let mut events = Vec::new();
        let mut start = 0;
        while let Some(offset) = self.buffer[start..]
            .iter()
            .position(|&b| b == b'\n' || b == b'\r')
        {
            let end = start + offset;
            let next = if self.buffer[end] == b'\r' {
                match self.buffer.get(end + 1) {
                    // A `\r` last in the buffer may be the first half of `\r\n`.
                    None => break,
                    Some(b'\n') => end + 2,
                    Some(_) => end + 1,
                }
            } else {
                end + 1
            };
            let line = String::from_utf8_lossy(&self.buffer[start..end]).into_owned();
            if let Some(event) = self.line(&line) {
                events.push(event);
            }
            start = next;
        }
        self.buffer.drain(..start);
        events
    }

    /// Bytes held for what has not been dispatched yet: an unfinished line and the
    /// data of an event without its blank line. A caller bounds this, since a peer
    /// that never ends a line or an event would otherwise grow it without end.
    pub fn pending_bytes(&self) -> usize {
        self.buffer.len() + self.data.len()
    }

    fn line(&mut self, line: &str) -> Option<SseEvent> {
        if line.is_empty() {
            let event = self.event.take();
            if !std::mem::take(&mut self.has_data) {
                return None;
            }
            let mut data = std::mem::take(&mut self.data);
            if data.ends_with('\n') {
                data.pop();
            }
            return Some(SseEvent { event, data });
        }
        if line.starts_with(':') {
            return None;
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match field {
            "data" => {
                self.data.push_str(value);
                self.data.push('\n');
                self.has_data = true;
            }
            "event" => self.event = Some(value.to_owned()),
            _ => {}
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(name: Option<&str>, data: &str) -> SseEvent {
        SseEvent {
            event: name.map(str::to_owned),
            data: data.to_owned(),
        }
    }

    #[test]
    fn parses_events_split_anywhere() {
        let stream = b"event: message_start\ndata: {\"a\":1}\n\n: keep-alive\n\ndata: one\ndata: two\r\n\r\ndata:[DONE]\n\n";
        let whole = SseParser::new().push(stream);
        let expected = vec![
            event(Some("message_start"), "{\"a\":1}"),
            event(None, "one\ntwo"),
            event(None, "[DONE]"),
        ];
        assert_eq!(whole, expected);
        // Every split point, including inside `\r\n`, gives the same events.
        for split in 0..stream.len() {
            let mut parser = SseParser::new();
            let mut events = parser.push(&stream[..split]);
            events.extend(parser.push(&stream[split..]));
            assert_eq!(events, expected, "split at {split}");
        }
        // Byte by byte.
        let mut parser = SseParser::new();
        let events: Vec<SseEvent> = stream.iter().flat_map(|b| parser.push(&[*b])).collect();
        assert_eq!(events, expected);
    }

    #[test]
    fn lone_carriage_returns_end_lines_and_unfinished_events_are_dropped() {
        let mut parser = SseParser::new();
        let events = parser.push(b"data: x\r\rid: 7\rretry: 10\rdata: y\r\r");
        // The last `\r` might start a `\r\n`: `y` waits for the next byte.
        assert_eq!(events, vec![event(None, "x")]);
        assert_eq!(parser.push(b"data: cut off"), vec![event(None, "y")]);
        assert!(parser.push(b"\n").is_empty());
    }

    #[test]
    fn pending_bytes_count_an_unfinished_line_and_event() {
        let mut parser = SseParser::new();
        assert!(parser.push(b"data: abc\ndata: de").is_empty());
        // "abc\n" of data, and "data: de" waiting for its line end.
        assert_eq!(parser.pending_bytes(), 4 + 8);
        assert_eq!(parser.push(b"\n\n"), vec![event(None, "abc\nde")]);
        assert_eq!(parser.pending_bytes(), 0);
    }

    #[test]
    fn an_event_name_without_data_is_not_dispatched() {
        let mut parser = SseParser::new();
        assert!(parser.push(b"event: ping\n\n").is_empty());
        assert_eq!(parser.push(b"data: z\n\n"), vec![event(None, "z")]);
    }
}
