//! Event-stream framing of ConverseStream events and in-stream exceptions.
//!
//! Frames are written with `aws-smithy-eventstream`, the same crate the Rust SDK reads them
//! with, so prelude, header encoding and both CRCs are the SDK's own.

use aws_smithy_eventstream::frame::write_message_to;
use aws_smithy_types::event_stream::{Header, HeaderValue, Message};
use bytes::{BufMut, Bytes};

fn string_header(name: &'static str, value: &'static str) -> Header {
    Header::new(name, HeaderValue::String(value.into()))
}

/// Appends one event frame (`:message-type event`) carrying `payload` to `out`.
pub fn write_event(out: &mut dyn BufMut, event_type: &'static str, payload: Bytes) {
    // Header order matters to nobody's parser, but the real service sends this one.
    let message = Message::new(payload)
        .add_header(string_header(":event-type", event_type))
        .add_header(string_header(":content-type", "application/json"))
        .add_header(string_header(":message-type", "event"));
    write_message_to(&message, out).expect("event frames are far below the size limits");
}

/// Appends one in-stream exception frame (`:message-type exception`) to `out`.
///
/// Note: never `:message-type error` — the Rust SDK cannot parse it (WIRE.md).
pub fn write_exception(out: &mut dyn BufMut, member: &'static str, message: &str) {
    let payload = serde_json::to_vec(&serde_json::json!({ "message": message }))
        .expect("a string always serializes");
    let message = Message::new(payload)
        .add_header(string_header(":exception-type", member))
        .add_header(string_header(":content-type", "application/json"))
        .add_header(string_header(":message-type", "exception"));
    write_message_to(&message, out).expect("exception frames are far below the size limits");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn reproduces_the_wire_test_vector_byte_for_byte() {
        let expected = unhex(
            "00000094 00000057 b4ab9aee 0b3a6576656e742d74797065 07 0011 \
             636f6e74656e74426c6f636b44656c7461 0d3a636f6e74656e742d74797065 07 0010 \
             6170706c69636174696f6e2f6a736f6e 0d3a6d6573736167652d74797065 07 0005 \
             6576656e74 7b22636f6e74656e74426c6f636b496e646578223a302c2264656c7461223a7b\
             2274657874223a224869227d7d 1f944657",
        );
        let mut out = Vec::new();
        write_event(
            &mut out,
            "contentBlockDelta",
            Bytes::from_static(br#"{"contentBlockIndex":0,"delta":{"text":"Hi"}}"#),
        );
        assert_eq!(out, expected);
    }

    #[test]
    fn exception_frames_round_trip_through_the_sdk_decoder() {
        let mut out = Vec::new();
        write_exception(&mut out, "throttlingException", "Too many requests");
        let message = aws_smithy_eventstream::frame::read_message_from(&out[..]).unwrap();
        let headers: Vec<(String, String)> = message
            .headers()
            .iter()
            .map(|h| {
                (
                    h.name().as_str().to_owned(),
                    h.value().as_string().unwrap().as_str().to_owned(),
                )
            })
            .collect();
        assert_eq!(
            headers,
            vec![
                (":exception-type".into(), "throttlingException".into()),
                (":content-type".into(), "application/json".into()),
                (":message-type".into(), "exception".into()),
            ]
        );
        assert_eq!(
            &message.payload()[..],
            br#"{"message":"Too many requests"}"#
        );
    }
}
