use super::*;
use crate::assembler::Cut;
use aws_sdk_bedrockruntime::types as t;
use t::ConverseStreamOutput as E;

fn cut(ends_in_text: bool, last: i32, next: i32, trimmed: &str) -> Cut {
    Cut {
        prefill: Vec::new(),
        ends_in_text,
        last,
        next,
        trimmed: trimmed.into(),
        usage: None,
        dropped: Vec::new(),
    }
}

fn text(index: i32, s: &str) -> Item {
    Item::Text {
        index,
        text: s.into(),
    }
}

fn shown(item: Option<Item>) -> Option<(i32, String)> {
    match item? {
        Item::Text { index, text } => Some((index, text)),
        Item::Event(e) => match *e {
            E::ContentBlockStart(e) => Some((e.content_block_index, "start".into())),
            E::ContentBlockStop(e) => Some((e.content_block_index, "stop".into())),
            _ => Some((-1, "event".into())),
        },
        _ => None,
    }
}

fn block_stop(index: i32) -> Item {
    Item::Event(Box::new(E::ContentBlockStop(
        t::ContentBlockStopEvent::builder()
            .content_block_index(index)
            .build()
            .unwrap(),
    )))
}

fn message_start() -> Item {
    Item::Event(Box::new(E::MessageStart(
        t::MessageStartEvent::builder()
            .role(t::ConversationRole::Assistant)
            .build()
            .unwrap(),
    )))
}

#[test]
fn prefill_models() {
    for id in [
        "anthropic.claude-3-haiku-20240307-v1:0",
        "us.anthropic.claude-3-5-haiku-20241022-v1:0",
        "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-v2",
        "amazon.nova-pro-v1:0",
        "eu.amazon.nova-lite-v1:0",
    ] {
        assert!(takes_prefill(id), "{id}");
    }
    for id in [
        "meta.llama3-70b-instruct-v1:0",
        "mistral.mistral-large",
        "fake",
        "amazon.titan-text-express-v1",
    ] {
        assert!(!takes_prefill(id), "{id}");
    }
}

#[test]
fn the_continuation_goes_on_with_the_cut_text_without_repeating_whitespace() {
    let mut c = Continuation::new(&cut(true, 2, 3, " \n"));
    assert!(shown(c.map(message_start())).is_none());
    assert!(shown(c.map(text(0, " "))).is_none());
    assert_eq!(shown(c.map(text(0, "\nwhere"))), Some((2, "where".into())));
    // (whitespace after the first new text is the answer's own)
    assert_eq!(shown(c.map(text(0, " \n"))), Some((2, " \n".into())));
    assert_eq!(shown(c.map(block_stop(0))), Some((2, "stop".into())));
    assert_eq!(shown(c.map(text(1, "next"))), Some((3, "next".into())));
}

#[test]
fn a_continuation_that_does_not_repeat_the_whitespace_loses_nothing() {
    let mut c = Continuation::new(&cut(true, 0, 1, " "));
    assert_eq!(shown(c.map(text(0, "two"))), Some((0, "two".into())));
    assert_eq!(shown(c.map(text(0, " "))), Some((0, " ".into())));
}

#[test]
fn a_new_block_first_follows_the_message() {
    let mut c = Continuation::new(&cut(false, 1, 2, ""));
    assert_eq!(shown(c.map(block_stop(0))), Some((2, "stop".into())));
    assert_eq!(shown(c.map(text(1, "after"))), Some((3, "after".into())));

    // text after a message whose last block is a tool use starts a block of its own
    let mut c = Continuation::new(&cut(false, 1, 2, ""));
    assert_eq!(shown(c.map(text(0, "x"))), Some((2, "x".into())));
}

#[test]
fn added_messages_by_model() {
    let prefill = vec![t::ContentBlock::Text("so far".into())];
    let added = added_messages("anthropic.claude-3-haiku", &prefill).unwrap();
    assert_eq!(added.len(), 1);
    assert_eq!(added[0].role(), &t::ConversationRole::Assistant);

    let added = added_messages("meta.llama3", &prefill).unwrap();
    assert_eq!(added.len(), 2);
    assert_eq!(
        added[1].content(),
        &[t::ContentBlock::Text(CONTINUE.into())]
    );

    assert!(added_messages("meta.llama3", &[]).unwrap().is_empty());
    let tool = t::ContentBlock::ToolUse(
        t::ToolUseBlock::builder()
            .tool_use_id("t")
            .name("n")
            .input(aws_smithy_types::Document::Null)
            .build()
            .unwrap(),
    );
    assert!(added_messages("meta.llama3", &[tool]).is_none());
}
