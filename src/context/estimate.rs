//! The token estimate: one function, used for budgets and `context_tokens`, documented in the
//! README so that users can reason about it. It is the reference tutorial's rule (about four
//! characters per token) made to cover every content block:
//!
//! - text (message, system, reasoning, guard content, cited text, a search result's source,
//!   title and texts): characters / 4, rounded up;
//! - JSON (tool-use input, tool-result json, a tool's spec): the length of its compact JSON / 4;
//! - an image, a video or an audio clip: 1,600 (a picture of about 1.15 megapixels, as
//!   Anthropic's models count it; for audio, whose cost depends on its length, the figure is
//!   ours); a document: its text / 4, or its bytes / 4 when it is binary;
//! - every message adds 4 (role and framing); cache points cost nothing.
//!
//! Each message is estimated once, when it enters the history: a conversation keeps one
//! figure per message, so a budget never re-reads the history.

use aws_sdk_bedrockruntime::types as t;
use aws_smithy_types::{Document, Number};

/// Tokens of a picture, a video or an audio clip.
pub const MEDIA_TOKENS: u64 = 1_600;
/// Tokens of a message's framing (its role and separators).
pub const MESSAGE_TOKENS: u64 = 4;

fn chars(text: &str) -> u64 {
    (text.chars().count() as u64).div_ceil(4)
}

/// The length of a document's compact JSON (without building it).
fn json_len(doc: &Document) -> u64 {
    fn quoted(s: &str) -> u64 {
        s.len() as u64 + 2
    }
    match doc {
        Document::Object(map) => {
            2 + map
                .iter()
                .map(|(k, v)| quoted(k) + 1 + json_len(v))
                .sum::<u64>()
                + map.len().saturating_sub(1) as u64
        }
        Document::Array(items) => {
            2 + items.iter().map(json_len).sum::<u64>() + items.len().saturating_sub(1) as u64
        }
        Document::Number(Number::PosInt(n)) => n.to_string().len() as u64,
        Document::Number(Number::NegInt(n)) => n.to_string().len() as u64,
        Document::Number(Number::Float(f)) => f.to_string().len() as u64,
        Document::String(s) => quoted(s),
        Document::Bool(true) => 4,
        Document::Bool(false) => 5,
        Document::Null => 4,
    }
}

pub fn json_tokens(doc: &Document) -> u64 {
    json_len(doc).div_ceil(4)
}

fn document_tokens(doc: &t::DocumentBlock) -> u64 {
    match doc.source() {
        Some(t::DocumentSource::Text(text)) => chars(text),
        Some(t::DocumentSource::Bytes(b)) => (b.as_ref().len() as u64).div_ceil(4),
        Some(t::DocumentSource::Content(parts)) => parts
            .iter()
            .map(|p| match p {
                t::DocumentContentBlock::Text(s) => chars(s),
                _ => 0,
            })
            .sum(),
        _ => 0,
    }
}

fn result_tokens(item: &t::ToolResultContentBlock) -> u64 {
    match item {
        t::ToolResultContentBlock::Text(s) => chars(s),
        t::ToolResultContentBlock::Json(d) => json_tokens(d),
        t::ToolResultContentBlock::Image(_) | t::ToolResultContentBlock::Video(_) => MEDIA_TOKENS,
        t::ToolResultContentBlock::Document(d) => document_tokens(d),
        t::ToolResultContentBlock::SearchResult(r) => search_result_tokens(r),
        _ => 0,
    }
}

fn search_result_tokens(r: &t::SearchResultBlock) -> u64 {
    chars(r.source()) + chars(r.title()) + r.content().iter().map(|c| chars(c.text())).sum::<u64>()
}

/// Tokens of one content block.
pub fn block_tokens(block: &t::ContentBlock) -> u64 {
    match block {
        t::ContentBlock::Text(s) => chars(s),
        t::ContentBlock::Image(_) | t::ContentBlock::Video(_) | t::ContentBlock::Audio(_) => {
            MEDIA_TOKENS
        }
        t::ContentBlock::Document(d) => document_tokens(d),
        t::ContentBlock::ToolUse(u) => 1 + chars(u.name()) + json_tokens(u.input()),
        t::ContentBlock::ToolResult(r) => 1 + r.content().iter().map(result_tokens).sum::<u64>(),
        t::ContentBlock::ReasoningContent(t::ReasoningContentBlock::ReasoningText(r)) => {
            chars(r.text())
        }
        t::ContentBlock::ReasoningContent(t::ReasoningContentBlock::RedactedContent(b)) => {
            (b.as_ref().len() as u64).div_ceil(4)
        }
        t::ContentBlock::GuardContent(t::GuardrailConverseContentBlock::Text(g)) => chars(g.text()),
        t::ContentBlock::GuardContent(_) => MEDIA_TOKENS,
        t::ContentBlock::SearchResult(r) => search_result_tokens(r),
        t::ContentBlock::CitationsContent(c) => c
            .content()
            .iter()
            .map(|g| match g {
                t::CitationGeneratedContent::Text(s) => chars(s),
                _ => 0,
            })
            .sum(),
        _ => 0,
    }
}

/// The estimate of one message: its blocks plus its framing.
pub fn message_tokens(message: &t::Message) -> u64 {
    MESSAGE_TOKENS + message.content().iter().map(block_tokens).sum::<u64>()
}

/// The estimate of a system prompt.
pub fn system_tokens(system: &[t::SystemContentBlock]) -> u64 {
    system
        .iter()
        .map(|b| match b {
            t::SystemContentBlock::Text(s) => chars(s),
            t::SystemContentBlock::GuardContent(t::GuardrailConverseContentBlock::Text(g)) => {
                chars(g.text())
            }
            _ => 0,
        })
        .sum()
}

/// The estimate of a request's tools.
pub fn tools_tokens(tools: &[t::Tool]) -> u64 {
    tools
        .iter()
        .map(|tool| match tool {
            t::Tool::ToolSpec(spec) => {
                let schema = match spec.input_schema() {
                    Some(t::ToolInputSchema::Json(d)) => json_tokens(d),
                    _ => 0,
                };
                8 + chars(spec.name()) + spec.description().map(chars).unwrap_or(0) + schema
            }
            _ => 0,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn json_length_matches_serde() {
        let mut map = HashMap::new();
        map.insert("city".to_owned(), Document::String("Paris".into()));
        map.insert(
            "days".to_owned(),
            Document::Array(vec![
                Document::Number(Number::PosInt(1)),
                Document::Number(Number::NegInt(-20)),
                Document::Bool(true),
                Document::Null,
            ]),
        );
        let doc = Document::Object(map);
        let json = serde_json::json!({"city": "Paris", "days": [1, -20, true, null]});
        assert_eq!(
            json_len(&doc),
            serde_json::to_string(&json).unwrap().len() as u64
        );
    }

    #[test]
    fn text_is_four_characters_a_token() {
        let m = t::Message::builder()
            .role(t::ConversationRole::User)
            .content(t::ContentBlock::Text("abcdefghi".into()))
            .build()
            .unwrap();
        assert_eq!(message_tokens(&m), MESSAGE_TOKENS + 3);
    }
}
