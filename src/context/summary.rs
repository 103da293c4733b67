//! The summary request of `Summarizing`: the older turns written out as plain text, with the
//! summary so far, sent to the model (or a cheaper one) with its own system prompt. The
//! summary then travels in the system prompt of later requests, so the messages still start
//! with the user and alternate.

use std::fmt::Write;

use aws_sdk_bedrockruntime::types as t;

use super::policy::SummarySettings;

/// Note: ours. Asks for what the continuing assistant needs, not for a retelling.
pub const DEFAULT_PROMPT: &str = "You condense conversations. Write a summary of the conversation you are given for the assistant that will continue it: keep facts, names, numbers, decisions, tool results that still matter, open questions and the user's preferences; leave out pleasantries. Write the summary only, in the conversation's language.";

/// How the summary reaches later requests: a system block after the conversation's own.
pub fn system_block(summary: &str) -> t::SystemContentBlock {
    t::SystemContentBlock::Text(format!(
        "Summary of the earlier part of this conversation:\n{summary}"
    ))
}

fn document_text(doc: &aws_smithy_types::Document) -> String {
    crate::wire::document::document_to_json(doc).to_string()
}

fn write_block(out: &mut String, block: &t::ContentBlock) {
    let _ = match block {
        t::ContentBlock::Text(s) => writeln!(out, "{s}"),
        t::ContentBlock::ToolUse(u) => writeln!(
            out,
            "[called the tool {} with {}]",
            u.name(),
            document_text(u.input())
        ),
        t::ContentBlock::ToolResult(r) => {
            let _ = write!(out, "[tool result");
            if r.status() == Some(&t::ToolResultStatus::Error) {
                let _ = write!(out, " (error)");
            }
            let _ = write!(out, ":");
            for item in r.content() {
                let _ = match item {
                    t::ToolResultContentBlock::Text(s) => write!(out, " {s}"),
                    t::ToolResultContentBlock::Json(d) => write!(out, " {}", document_text(d)),
                    _ => write!(out, " [attachment]"),
                };
            }
            writeln!(out, "]")
        }
        t::ContentBlock::Image(_) => writeln!(out, "[an image]"),
        t::ContentBlock::Document(d) => writeln!(out, "[a document: {}]", d.name()),
        t::ContentBlock::Video(_) => writeln!(out, "[a video]"),
        t::ContentBlock::Audio(_) => writeln!(out, "[an audio clip]"),
        t::ContentBlock::CitationsContent(c) => {
            writeln!(out, "{}", crate::citation::generated_text(c))
        }
        t::ContentBlock::SearchResult(r) => writeln!(out, "[a search result: {}]", r.title()),
        _ => Ok(()),
    };
}

/// The summary request's one user message: the summary so far and the turns to fold in.
pub fn request_message(previous: Option<&str>, older: &[t::Message]) -> t::Message {
    let mut out = String::new();
    if let Some(previous) = previous {
        let _ = writeln!(out, "The summary so far:\n{previous}\n");
    }
    let _ = writeln!(out, "The conversation to summarise:");
    for message in older {
        let who = match message.role() {
            t::ConversationRole::User => "User",
            _ => "Assistant",
        };
        let _ = write!(out, "\n{who}: ");
        for block in message.content() {
            write_block(&mut out, block);
        }
    }
    t::Message::builder()
        .role(t::ConversationRole::User)
        .content(t::ContentBlock::Text(out))
        .build()
        .expect("role and content are set")
}

pub fn prompt(settings: &SummarySettings) -> Vec<t::SystemContentBlock> {
    vec![t::SystemContentBlock::Text(
        settings
            .prompt
            .clone()
            .unwrap_or_else(|| DEFAULT_PROMPT.to_owned()),
    )]
}

/// A summary takes at most a quarter of the budget (at least 64 tokens, at most 8,192).
pub fn inference(settings: &SummarySettings) -> t::InferenceConfiguration {
    let max = (settings.max_tokens / 4).clamp(64, 8_192) as i32;
    t::InferenceConfiguration::builder().max_tokens(max).build()
}
