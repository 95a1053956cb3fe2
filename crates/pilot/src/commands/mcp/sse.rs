//! A server-sent events parser for the bridge's Streamable HTTP side: bytes in, as they
//! arrive in whatever chunks, the `data` of each complete event out. It follows the
//! HTML event-stream rules the MCP transport relies on: lines end in LF, CRLF or CR
//! (a CRLF split across chunks is one line end), `data` lines of one event are joined
//! by LF, a leading BOM, comments (`:`), `event` and unknown fields are skipped, an
//! event with no or empty data is no event (the bridge has nothing to relay), and an
//! event the stream ends inside is dropped. `id` and `retry` are kept: they are what a
//! client resumes a broken-off stream with (`Last-Event-ID`, after `retry` ms).

#[derive(Debug, Default)]
pub struct SseParser {
    /// The bytes of the line not yet ended.
    line: Vec<u8>,
    /// The current event's data lines, each followed by LF.
    data: String,
    /// The previous chunk ended with CR: an LF starting this one belongs to it.
    after_cr: bool,
    /// Whether the stream's first bytes (and a BOM among them) were seen.
    started: bool,
    /// The last `id` field seen.
    last_event_id: Option<String>,
    /// The last valid `retry` field, in milliseconds.
    retry_ms: Option<u64>,
}

impl SseParser {
    pub fn new() -> Self {
        Self::default()
    }

    /// The last event id the stream gave, to resume it from.
    pub fn last_event_id(&self) -> Option<&str> {
        self.last_event_id.as_deref()
    }

    /// The reconnection delay the stream asked for, in milliseconds.
    pub fn retry_ms(&self) -> Option<u64> {
        self.retry_ms
    }

    /// Readies the parser for a resumed stream: the last event id and retry stay.
    pub fn next_stream(&mut self) {
        *self = SseParser {
            last_event_id: self.last_event_id.take(),
            retry_ms: self.retry_ms,
            ..SseParser::default()
        };
    }

    /// Feeds the next chunk; returns the data of every event it completed, in order.
    pub fn feed(&mut self, chunk: &[u8]) -> Vec<String> {
        let mut events = Vec::new();
        let mut bytes = chunk;
        if !self.started && !bytes.is_empty() {
            self.line.extend_from_slice(bytes);
            if self.line.len() < 3 && b"\xEF\xBB\xBF".starts_with(&self.line) {
                // Not enough bytes yet to tell a BOM from the stream's first line.
                return events;
            }
            self.started = true;
            let pending = std::mem::take(&mut self.line);
            let rest = pending.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&pending);
            self.scan(rest, &mut events);
            return events;
        }
        if self.after_cr {
            self.after_cr = false;
            if let Some(rest) = bytes.strip_prefix(b"\n") {
                bytes = rest;
            }
        }
        self.scan(bytes, &mut events);
        events
    }

    fn scan(&mut self, mut bytes: &[u8], events: &mut Vec<String>) {
        while let Some(end) = bytes.iter().position(|b| *b == b'\n' || *b == b'\r') {
            self.line.extend_from_slice(&bytes[..end]);
            let line = std::mem::take(&mut self.line);
            self.line_ended(&line, events);
            let cr = bytes[end] == b'\r';
            bytes = &bytes[end + 1..];
            if cr {
                match bytes.first() {
                    Some(b'\n') => bytes = &bytes[1..],
                    Some(_) => {}
                    None => self.after_cr = true,
                }
            }
        }
        self.line.extend_from_slice(bytes);
    }

    fn line_ended(&mut self, line: &[u8], events: &mut Vec<String>) {
        if line.is_empty() {
            if !self.data.is_empty() {
                let mut data = std::mem::take(&mut self.data);
                data.pop(); // the last data line's LF
                if !data.is_empty() {
                    events.push(data);
                }
            }
            return;
        }
        if line[0] == b':' {
            return; // a comment: keep-alives and the like
        }
        let line = String::from_utf8_lossy(line);
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (&*line, ""),
        };
        match field {
            "data" => {
                self.data.push_str(value);
                self.data.push('\n');
            }
            "id" if !value.contains('\0') => {
                self.last_event_id = (!value.is_empty()).then(|| value.to_owned());
            }
            "retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                self.retry_ms = value.parse().ok();
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::SseParser;

    fn all(chunks: &[&[u8]]) -> Vec<String> {
        let mut parser = SseParser::new();
        chunks.iter().flat_map(|chunk| parser.feed(chunk)).collect()
    }

    #[test]
    fn one_event_per_blank_line() {
        assert_eq!(
            all(&[b"data: {\"a\":1}\n\ndata: {\"b\":2}\n\n"]),
            ["{\"a\":1}", "{\"b\":2}"]
        );
    }

    #[test]
    fn events_split_across_chunks_at_every_byte() {
        let stream = b"event: message\nid: 7\ndata: {\"jsonrpc\":\"2.0\"}\n\ndata: x\r\n\r\n";
        for split in 0..stream.len() {
            assert_eq!(
                all(&[&stream[..split], &stream[split..]]),
                ["{\"jsonrpc\":\"2.0\"}", "x"],
                "split at {split}"
            );
        }
        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        assert_eq!(all(&bytes), ["{\"jsonrpc\":\"2.0\"}", "x"]);
    }

    #[test]
    fn crlf_and_cr_end_lines() {
        assert_eq!(
            all(&[b"data: a\r\n\r\ndata: b\r\rdata: c\n\n"]),
            ["a", "b", "c"]
        );
        // A CRLF whose LF starts the next chunk is one line end, not two.
        assert_eq!(all(&[b"data: a\r", b"\ndata: b\r\n", b"\r\n"]), ["a\nb"]);
    }

    #[test]
    fn data_lines_of_one_event_are_joined_by_lf() {
        assert_eq!(
            all(&[b"data: {\"a\":\ndata:1}\ndata\n\n"]),
            ["{\"a\":\n1}\n"]
        );
    }

    #[test]
    fn comments_retry_and_events_without_data_are_skipped() {
        assert_eq!(
            all(&[
                b": keep-alive\n\nretry: 3000\n\nid: 1\ndata:\n\nevent: ping\n\n:x\ndata: y\n\n"
            ]),
            ["y"]
        );
        // `data:` with an empty value: an empty event, nothing to relay.
        assert_eq!(all(&[b"data:\n\n"]), Vec::<String>::new());
    }

    #[test]
    fn only_one_leading_space_is_removed_and_a_bom_is_skipped() {
        assert_eq!(all(&[b"\xEF\xBB", b"\xBFdata:  two\n\n"]), [" two"]);
        assert_eq!(all(&[b"data:x:y\n\n"]), ["x:y"]);
    }

    #[test]
    fn the_last_id_and_retry_are_kept() {
        let mut parser = SseParser::new();
        assert_eq!(
            parser.feed(b"id: ev-1\nretry: 250\ndata:\n\n"),
            Vec::<String>::new()
        );
        assert_eq!(parser.last_event_id(), Some("ev-1"));
        assert_eq!(parser.retry_ms(), Some(250));
        parser.feed(b"retry: soon\nid: ev-2\ndata: x\n\n");
        assert_eq!(parser.last_event_id(), Some("ev-2"));
        assert_eq!(
            parser.retry_ms(),
            Some(250),
            "a retry that is not a number is ignored"
        );
        parser.feed(b"id\n\n");
        assert_eq!(parser.last_event_id(), None, "an empty id resets it");
    }

    #[test]
    fn an_event_cut_off_by_the_end_of_the_stream_is_dropped() {
        assert_eq!(all(&[b"data: whole\n\ndata: cut"]), ["whole"]);
        assert_eq!(all(&[b"data: whole\n\ndata: cut\n"]), ["whole"]);
    }
}
