//! Reading lines from a client without ever holding more than one line's limit.
//!
//! SMTP is line-based: commands may be 512 octets long and message text lines 1000
//! (RFC 5321 §4.5.3.1, both counting the CRLF). A client may send more, or never
//! send a line feed at all; [`LineReader::read_line`] keeps at most `max` bytes of a
//! line, consumes and discards the rest up to the next LF, and reports the line as
//! too long, so the session can answer 500 and go on reading the next line in
//! step with the client.
//!
//! The reader also says whether a line ended with CRLF or a bare LF: the session
//! accepts bare LFs in commands but refuses them in message text (see `data.rs`).

use std::io;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};

/// The longest command line, CRLF included (RFC 5321 §4.5.3.1.4).
pub(crate) const COMMAND_LINE_MAX: usize = 512;
/// The longest line of message text, CRLF included (RFC 5321 §4.5.3.1.6).
pub(crate) const TEXT_LINE_MAX: usize = 1000;

/// How a line that was read ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Line {
    /// The line (with its ending) was longer than the limit; its text was dropped.
    pub(crate) too_long: bool,
    /// The line ended with a LF that had no CR before it.
    pub(crate) bare_lf: bool,
}

/// Why no line could be read.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// The client closed the connection.
    Closed,
    /// No complete line arrived within the idle timeout.
    TimedOut,
    /// The connection failed.
    Io(io::Error),
}

/// A buffered reader of bounded lines.
pub(crate) struct LineReader<R> {
    inner: BufReader<R>,
}

impl<R: AsyncRead + Unpin> LineReader<R> {
    pub(crate) fn new(inner: R) -> Self {
        Self {
            inner: BufReader::new(inner),
        }
    }

    /// The stream underneath, for writing replies.
    pub(crate) fn get_mut(&mut self) -> &mut R {
        self.inner.get_mut()
    }

    /// The stream underneath; anything read into the buffer but not yet returned
    /// as a line is dropped (see `tls.rs` for why that matters).
    pub(crate) fn into_inner(self) -> R {
        self.inner.into_inner()
    }

    /// [`read_line`](Self::read_line), but the whole line must arrive within
    /// `idle`, and a closed connection is an error like the others.
    pub(crate) async fn read_line_within(
        &mut self,
        line: &mut Vec<u8>,
        max: usize,
        idle: Duration,
    ) -> Result<Line, ReadError> {
        match tokio::time::timeout(idle, self.read_line(line, max)).await {
            Ok(Ok(Some(status))) => Ok(status),
            Ok(Ok(None)) => Err(ReadError::Closed),
            Ok(Err(error)) => Err(ReadError::Io(error)),
            Err(_elapsed) => Err(ReadError::TimedOut),
        }
    }

    /// Reads the next line into `line` (cleared first), without its CRLF or LF.
    /// Returns `None` when the client closed the connection, even mid-line.
    ///
    /// Cancel safety: cancelling loses the part of a line read so far, which is
    /// fine because the session closes the connection whenever it cancels a read.
    pub(crate) async fn read_line(
        &mut self,
        line: &mut Vec<u8>,
        max: usize,
    ) -> io::Result<Option<Line>> {
        line.clear();
        // Octets of this line seen so far, including the ones dropped.
        let mut seen: usize = 0;
        // The line's last octet so far, kept even when its text is dropped.
        let mut last: Option<u8> = None;
        loop {
            let available = self.inner.fill_buf().await?;
            if available.is_empty() {
                return Ok(None);
            }
            let (chunk, done) = match available.iter().position(|&byte| byte == b'\n') {
                Some(newline) => (&available[..newline], true),
                None => (available, false),
            };
            let take = chunk.len();
            last = chunk.last().copied().or(last);
            seen = seen.saturating_add(take);
            if seen < max {
                line.extend_from_slice(chunk);
            }
            self.inner.consume(take + usize::from(done));
            if done {
                // `seen + 1` counts the LF itself.
                let too_long = seen.saturating_add(1) > max;
                let bare_lf = last != Some(b'\r');
                if too_long {
                    line.clear();
                } else if !bare_lf {
                    line.pop();
                }
                return Ok(Some(Line { too_long, bare_lf }));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn lines(input: &[u8], max: usize) -> Vec<(String, Line)> {
        let mut reader = LineReader::new(input);
        let mut line = Vec::new();
        let mut out = Vec::new();
        while let Some(status) = reader.read_line(&mut line, max).await.expect("in memory") {
            out.push((String::from_utf8_lossy(&line).into_owned(), status));
        }
        out
    }

    const OK: Line = Line {
        too_long: false,
        bare_lf: false,
    };

    #[tokio::test]
    async fn splits_on_crlf_and_reports_bare_lf() {
        let read = lines(b"NOOP\r\nQUIT\nlast", 512).await;
        let bare = Line {
            bare_lf: true,
            ..OK
        };
        assert_eq!(read, [("NOOP".into(), OK), ("QUIT".into(), bare)]);
    }

    #[tokio::test]
    async fn a_line_over_the_limit_is_dropped_and_the_next_one_read() {
        // 10 octets with CRLF is exactly the limit; 11 is one too many.
        let input = b"12345678\r\n123456789\r\nNOOP\r\n";
        let read = lines(input, 10).await;
        let long = Line {
            too_long: true,
            ..OK
        };
        assert_eq!(
            read,
            [
                ("12345678".into(), OK),
                (String::new(), long),
                ("NOOP".into(), OK)
            ]
        );
    }

    #[tokio::test]
    async fn a_long_line_spanning_many_buffers_is_not_kept() {
        let mut input = vec![b'x'; 100_000];
        input.extend_from_slice(b"\r\nok\r\n");
        let read = lines(&input, 1000).await;
        assert_eq!(read.len(), 2);
        assert!(read[0].1.too_long && read[0].0.is_empty());
        assert_eq!(read[1], ("ok".into(), OK));
    }
}
