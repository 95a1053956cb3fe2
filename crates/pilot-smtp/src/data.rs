//! Reading the message after `354`: up to the line holding a single `.`.
//!
//! * **Dot-unstuffing.** A client doubles a leading `.` on every text line so that
//!   no line of the message looks like the terminator; the reader removes one.
//! * **Bounded memory.** Bytes are counted as they arrive (after unstuffing, CRLFs
//!   included); once the count passes `max_message_bytes` the buffer is freed and
//!   the rest is read and thrown away up to the terminator, so the client hears
//!   552 in step rather than a reset mid-transfer. A line over 1000 octets is
//!   handled the same way (the reply is then 500).
//! * **No smuggling.** The terminator is only `<CR><LF>.<CR><LF>`. Some servers
//!   also end the data at `<LF>.<LF>` or `<LF>.<CR><LF>`; a message crossing an
//!   MTA that does not could then carry a second, forged message ("SMTP
//!   smuggling"). Here a bare LF never ends the data, and a message containing one
//!   is refused (554) once the real terminator arrives.
//!
//! Every line must arrive within the idle timeout.

use std::time::Duration;

use tokio::io::AsyncRead;

use crate::line::{LineReader, ReadError, TEXT_LINE_MAX};

/// What the client sent between `354` and the terminator.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Data {
    /// The message, dot-unstuffed, lines ending with CRLF.
    Message(Vec<u8>),
    /// Larger than the limit; its bytes were dropped.
    TooBig,
    /// A line was longer than 1000 octets.
    LineTooLong,
    /// A line ended with a bare LF.
    BareLineFeed,
}

/// Reads a message of at most `max_bytes` bytes, each line within `idle`.
pub(crate) async fn read_data<R: AsyncRead + Unpin>(
    reader: &mut LineReader<R>,
    max_bytes: usize,
    idle: Duration,
) -> Result<Data, ReadError> {
    let mut message = Vec::new();
    let mut line = Vec::with_capacity(TEXT_LINE_MAX);
    let mut refused: Option<Data> = None;
    let mut size: usize = 0;
    // Whether the previous line ended with CRLF; the DATA command's line counts.
    let mut after_crlf = true;
    loop {
        let status = reader
            .read_line_within(&mut line, TEXT_LINE_MAX, idle)
            .await?;
        if after_crlf && !status.too_long && !status.bare_lf && line == b"." {
            return Ok(refused.unwrap_or(Data::Message(message)));
        }
        after_crlf = !status.bare_lf;
        if refused.is_some() {
            continue;
        }
        if status.bare_lf {
            refused = Some(Data::BareLineFeed);
        } else if status.too_long {
            refused = Some(Data::LineTooLong);
        } else {
            let text = line.strip_prefix(b".").unwrap_or(&line);
            size = size.saturating_add(text.len() + 2);
            if size > max_bytes {
                refused = Some(Data::TooBig);
            } else {
                message.extend_from_slice(text);
                message.extend_from_slice(b"\r\n");
            }
        }
        if refused.is_some() {
            message = Vec::new();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn read(input: &[u8], max: usize) -> (Data, Vec<u8>) {
        let mut reader = LineReader::new(input);
        let data = read_data(&mut reader, max, Duration::from_secs(5))
            .await
            .expect("terminated");
        // Whatever follows the terminator is left for the next command.
        let mut rest = Vec::new();
        reader.read_line(&mut rest, 512).await.expect("in memory");
        (data, rest)
    }

    #[tokio::test]
    async fn dots_are_unstuffed_and_the_terminator_ends_the_message() {
        let (data, rest) = read(b"Subject: x\r\n\r\n..leading\r\n.\r\nQUIT\r\n", 1000).await;
        assert_eq!(
            data,
            Data::Message(b"Subject: x\r\n\r\n.leading\r\n".to_vec())
        );
        assert_eq!(rest, b"QUIT");
    }

    #[tokio::test]
    async fn an_oversized_message_is_read_to_its_end_and_refused() {
        let (data, rest) = read(b"0123456789\r\n0123456789\r\n.\r\nNOOP\r\n", 15).await;
        assert_eq!(data, Data::TooBig);
        assert_eq!(rest, b"NOOP");
    }

    #[tokio::test]
    async fn a_bare_lf_neither_terminates_nor_is_accepted() {
        // `<LF>.<LF>` and `<LF>.<CR><LF>` are message text; only CRLF.CRLF ends it.
        let input =
            b"Subject: x\r\n\r\nhi\n.\nMAIL FROM:<evil@x>\n.\r\nstill data\r\n.\r\nNOOP\r\n";
        let (data, rest) = read(input, 1000).await;
        assert_eq!(data, Data::BareLineFeed);
        assert_eq!(rest, b"NOOP");
    }

    #[tokio::test]
    async fn a_line_over_1000_octets_is_refused() {
        let mut input = vec![b'x'; 1200];
        input.extend_from_slice(b"\r\n.\r\n");
        let (data, _) = read(&input, 1_000_000).await;
        assert_eq!(data, Data::LineTooLong);
    }
}
