//! The notification stream: `GET /v1/notifications/stream` as server-sent
//! events (the WHATWG `text/event-stream` framing: `event:`/`data:` fields,
//! `:` comments as keep-alives, a blank line ends an event).

use crate::api_client::{transport, ClientError};
use countersign_api::Notification;
use std::time::Duration;

/// The server closes a stream after ten minutes; a little more than that.
pub const STREAM_TIMEOUT: Duration = Duration::from_secs(11 * 60);
/// A line longer than this is not a notification: the stream is refused.
const MAX_LINE: usize = 64 * 1024;

/// Reads `notification` events one by one.
pub struct NotificationStream {
    response: reqwest::Response,
    parser: Parser,
}

impl std::fmt::Debug for NotificationStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NotificationStream").finish_non_exhaustive()
    }
}

impl NotificationStream {
    pub(crate) fn new(response: reqwest::Response) -> NotificationStream {
        NotificationStream {
            response,
            parser: Parser::default(),
        }
    }

    /// The next notification; `None` when the server ended the stream.
    pub async fn next(&mut self) -> Option<Result<Notification, ClientError>> {
        loop {
            match self.parser.next_event() {
                Ok(Some(event)) if event.name == "notification" => {
                    return Some(serde_json::from_str(&event.data).map_err(|e| ClientError::Unexpected {
                        status: 200,
                        detail: format!("notification event: {e}"),
                    }));
                }
                Ok(Some(_)) => continue, // other event types are not ours to read
                Ok(None) => {}
                Err(detail) => return Some(Err(ClientError::Unexpected { status: 200, detail })),
            }
            match self.response.chunk().await {
                Ok(Some(bytes)) => self.parser.feed(&bytes),
                Ok(None) => return None,
                Err(e) => return Some(Err(transport(e))),
            }
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
struct Event {
    name: String,
    data: String,
}

#[derive(Default)]
struct Parser {
    buf: Vec<u8>,
    name: String,
    data: Vec<String>,
}

impl Parser {
    fn feed(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete event in the buffer, if any.
    fn next_event(&mut self) -> Result<Option<Event>, String> {
        while let Some(end) = self.buf.iter().position(|b| *b == b'\n' || *b == b'\r') {
            // CRLF is one line end; a lone CR or LF is one too.
            let skip = if self.buf[end] == b'\r' && self.buf.get(end + 1) == Some(&b'\n') {
                2
            } else if self.buf[end] == b'\r' && end + 1 == self.buf.len() {
                return Ok(None); // the LF may still be on its way
            } else {
                1
            };
            let line: Vec<u8> = self.buf.drain(..end + skip).take(end).collect();
            let line = String::from_utf8(line).map_err(|_| "the event stream is not UTF-8".to_owned())?;
            if line.is_empty() {
                if self.data.is_empty() {
                    self.name.clear();
                    continue;
                }
                let name = if self.name.is_empty() {
                    "message".to_owned()
                } else {
                    std::mem::take(&mut self.name)
                };
                let data = std::mem::take(&mut self.data).join("\n");
                return Ok(Some(Event { name, data }));
            }
            if line.starts_with(':') {
                continue;
            }
            let (field, value) = line
                .split_once(':')
                .map(|(f, v)| (f, v.strip_prefix(' ').unwrap_or(v)))
                .unwrap_or((line.as_str(), ""));
            match field {
                "event" => self.name = value.to_owned(),
                "data" => self.data.push(value.to_owned()),
                _ => {} // id, retry: not used
            }
        }
        if self.buf.len() > MAX_LINE {
            return Err(format!("an event stream line is longer than {MAX_LINE} bytes"));
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(chunks: &[&str]) -> Vec<Event> {
        let mut p = Parser::default();
        let mut out = Vec::new();
        for c in chunks {
            p.feed(c.as_bytes());
            while let Some(e) = p.next_event().unwrap() {
                out.push(e);
            }
        }
        out
    }

    #[test]
    fn events_split_anywhere_arrive_whole() {
        let stream =
            ": keep-alive\n\nevent: notification\ndata: {\"a\":1}\n\nevent:notification\r\ndata: x\r\ndata: y\r\n\r\n";
        let whole = events(&[stream]);
        assert_eq!(
            whole,
            vec![
                Event {
                    name: "notification".into(),
                    data: "{\"a\":1}".into()
                },
                Event {
                    name: "notification".into(),
                    data: "x\ny".into()
                }
            ]
        );
        for cut in 0..stream.len() {
            assert_eq!(events(&[&stream[..cut], &stream[cut..]]), whole, "cut at {cut}");
        }
    }

    #[test]
    fn an_event_without_a_name_is_a_message_and_comments_are_skipped() {
        assert_eq!(
            events(&["data: 1\n\n:comment\n\n"]),
            vec![Event {
                name: "message".into(),
                data: "1".into()
            }]
        );
    }

    #[test]
    fn an_endless_line_is_refused() {
        let mut p = Parser::default();
        p.feed(&vec![b'a'; MAX_LINE + 1]);
        assert!(p.next_event().is_err());
    }
}
