//! Tests of the scripted turns: chunking and the frames a turn becomes.

use super::*;

#[test]
fn splits_by_words_and_by_count() {
    assert_eq!(
        split("Hello there, friend!", Chunking::Words),
        vec!["Hello ", "there, ", "friend!"]
    );
    assert_eq!(split("  lead", Chunking::Words), vec!["  lead"]);
    assert_eq!(
        split("Hello there!", Chunking::Count(3)),
        vec!["Hell", "o th", "ere!"]
    );
    assert_eq!(split("héllo", Chunking::Count(2)), vec!["hé", "llo"]);
    assert_eq!(split("ab", Chunking::Count(10)), vec!["a", "b"]);
    assert_eq!(split("", Chunking::Count(3)), vec![""]);
    assert_eq!(split("", Chunking::Words), vec![""]);
}

#[test]
fn stream_events_in_order() {
    let turn = Turn {
        blocks: vec![
            Block::Reasoning {
                text: "think hard".into(),
                signature: Some("sig".into()),
            },
            Block::Text("Hi there".into()),
            Block::ToolUse {
                id: "t1".into(),
                name: "get".into(),
                input: json!({"a": 1}),
            },
        ],
        chunking: Chunking::Count(2),
        ..Turn::default()
    };
    let bytes = all_frames(turn, Usage::default());
    let mut buf = &bytes[..];
    let mut kinds = Vec::new();
    while !buf.is_empty() {
        let msg = aws_smithy_eventstream::frame::read_message_from(&mut buf).unwrap();
        kinds.push(
            msg.headers()[0]
                .value()
                .as_string()
                .unwrap()
                .as_str()
                .to_owned(),
        );
    }
    assert_eq!(
        kinds,
        [
            "messageStart",
            "contentBlockDelta",
            "contentBlockDelta",
            "contentBlockDelta",
            "contentBlockStop",
            "contentBlockDelta",
            "contentBlockDelta",
            "contentBlockStop",
            "contentBlockStart",
            "contentBlockDelta",
            "contentBlockDelta",
            "contentBlockStop",
            "messageStop",
            "metadata",
        ]
    );
}
