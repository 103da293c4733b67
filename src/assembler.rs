//! The assembler that builds a streamed reply's finished message from its events as they
//! pass, in Rust, so that Python sees each event once and gets the reply for free.

use std::collections::BTreeMap;

use aws_sdk_bedrockruntime::types as t;
use aws_smithy_types::Document;

use crate::errors::ErrorInfo;
use crate::reply::{ReplyData, Tokens};

#[path = "assembler_blocks.rs"]
mod blocks;
use blocks::{broken, push_result_pieces, push_text, whole, Partial};

/// Where a cut stream stands (`Assembler::cut`).
#[derive(Debug, Clone, PartialEq)]
pub struct Cut {
    /// The answer so far as it can be sent back: whole blocks, and the open text block's
    /// text without its trailing whitespace (which Anthropic's models refuse).
    pub prefill: Vec<t::ContentBlock>,
    /// The message's last block is text: a continuation's text goes on with it.
    pub ends_in_text: bool,
    /// The index of the message's last block (-1: none).
    pub last: i32,
    /// The index the continuation's next new block takes.
    pub next: i32,
    /// The whitespace the last text block ends with, shown already but not in the prefill.
    pub trimmed: String,
    /// The cut attempt's usage, if its metadata came (it rarely does: it comes last).
    pub usage: Option<Tokens>,
    /// The indexes of the blocks dropped unfinished: the continuation streams them again.
    pub dropped: Vec<i32>,
}

/// Builds the finished message from the stream's events, as they pass.
#[derive(Default)]
pub struct Assembler {
    blocks: BTreeMap<i32, Partial>,
    /// The citations of text blocks, from `citation` deltas, by block.
    citations: BTreeMap<i32, Vec<t::Citation>>,
    /// The blocks whose `contentBlockStop` came.
    stopped: std::collections::BTreeSet<i32>,
    stop_reason: Option<String>,
    fields: Option<Document>,
    usage: Option<Tokens>,
    latency_ms: Option<i64>,
    trace: Option<serde_json::Value>,
    served: crate::wire::serving::Served,
}

impl Assembler {
    /// Whether any content block has begun.
    pub fn has_content(&self) -> bool {
        !self.blocks.is_empty()
    }

    /// A text delta of block `index` (what `push` does with one, without the event).
    pub fn push_text(&mut self, index: i32, s: &str) {
        push_text(self.blocks.entry(index), s);
    }

    pub fn push(&mut self, event: &t::ConverseStreamOutput) {
        use t::ConverseStreamOutput as E;
        match event {
            E::ContentBlockStart(e) => match e.start() {
                Some(t::ContentBlockStart::ToolUse(u)) => {
                    self.blocks.insert(
                        e.content_block_index(),
                        Partial::Tool {
                            id: u.tool_use_id().to_owned(),
                            name: u.name().to_owned(),
                            input: String::new(),
                            server: u.r#type() == Some(&t::ToolUseType::ServerToolUse),
                        },
                    );
                }
                Some(t::ContentBlockStart::ToolResult(r)) => {
                    self.blocks.insert(
                        e.content_block_index(),
                        Partial::ToolResult {
                            id: r.tool_use_id().to_owned(),
                            kind: r.r#type().map(str::to_owned),
                            status: r.status().cloned(),
                            content: Vec::new(),
                        },
                    );
                }
                Some(t::ContentBlockStart::Image(i)) => {
                    self.blocks.insert(
                        e.content_block_index(),
                        Partial::Image {
                            format: i.format().clone(),
                            bytes: Vec::new(),
                            s3: None,
                        },
                    );
                }
                _ => {}
            },
            E::ContentBlockDelta(e) => {
                let slot = self.blocks.entry(e.content_block_index());
                match e.delta() {
                    Some(t::ContentBlockDelta::Text(s)) => {
                        push_text(slot, s);
                    }
                    Some(t::ContentBlockDelta::Citation(c)) => {
                        // (a citation may come before the text it cites: the block is text)
                        push_text(slot, "");
                        self.citations
                            .entry(e.content_block_index())
                            .or_default()
                            .push(crate::citation::from_delta(c));
                    }
                    Some(t::ContentBlockDelta::ToolUse(u)) => {
                        if let Partial::Tool { input, .. } = slot.or_insert(Partial::Tool {
                            id: String::new(),
                            name: String::new(),
                            input: String::new(),
                            server: false,
                        }) {
                            input.push_str(u.input());
                        }
                    }
                    Some(t::ContentBlockDelta::ToolResult(pieces)) => {
                        if let Partial::ToolResult { content, .. } =
                            slot.or_insert(Partial::ToolResult {
                                id: String::new(),
                                kind: None,
                                status: None,
                                content: Vec::new(),
                            })
                        {
                            push_result_pieces(content, pieces);
                        }
                    }
                    Some(t::ContentBlockDelta::ReasoningContent(r)) => {
                        if let Partial::Reasoning {
                            text,
                            signature,
                            redacted,
                        } = slot.or_insert(Partial::Reasoning {
                            text: String::new(),
                            signature: None,
                            redacted: None,
                        }) {
                            match r {
                                t::ReasoningContentBlockDelta::Text(s) => text.push_str(s),
                                t::ReasoningContentBlockDelta::Signature(s) => {
                                    signature.get_or_insert_with(String::new).push_str(s)
                                }
                                t::ReasoningContentBlockDelta::RedactedContent(b) => redacted
                                    .get_or_insert_with(Vec::new)
                                    .extend_from_slice(b.as_ref()),
                                _ => {}
                            }
                        }
                    }
                    Some(t::ContentBlockDelta::Image(i)) => {
                        // Note: a delta's `error` is the service's word on the image; the
                        // block keeps what came, and the stop reason says why it ended.
                        if let Partial::Image { bytes, s3, .. } = slot.or_insert(Partial::Image {
                            format: t::ImageFormat::Png,
                            bytes: Vec::new(),
                            s3: None,
                        }) {
                            match i.source() {
                                Some(t::ImageSource::Bytes(b)) => {
                                    bytes.extend_from_slice(b.as_ref())
                                }
                                Some(t::ImageSource::S3Location(l)) => *s3 = Some(l.clone()),
                                _ => {}
                            }
                        }
                    }
                    _ => {}
                }
            }
            E::ContentBlockStop(e) => {
                self.stopped.insert(e.content_block_index());
            }
            E::MessageStop(e) => {
                self.stop_reason = Some(e.stop_reason().as_str().to_owned());
                self.fields = e.additional_model_response_fields().cloned();
            }
            E::Metadata(e) => {
                self.usage = Some(Tokens::from_sdk(e.usage()));
                self.latency_ms = e.metrics().map(|m| m.latency_ms());
                self.trace = e
                    .trace()
                    .and_then(|t| crate::wire::trace::trace(t.guardrail(), t.prompt_router()));
                self.served =
                    crate::wire::serving::Served::new(e.service_tier(), e.performance_config());
            }
            _ => {}
        }
    }

    /// Whether the message's `messageStop` arrived (the answer is whole).
    pub fn stopped(&self) -> bool {
        self.stop_reason.is_some()
    }

    /// Where a cut stream stands, for a request that continues it: drops the blocks that
    /// cannot be sent back unfinished (a tool use whose input was cut, reasoning without its
    /// end) and gives the rest as the assistant's prefill (`turn::resume` explains it).
    pub fn cut(&mut self, model_id: &str) -> Cut {
        // (the continuation must end the answer again with its own messageStop)
        self.stop_reason = None;
        let stopped = &self.stopped;
        // (a system tool's call goes back only with its whole result, as the service sent it)
        let answered: std::collections::HashSet<String> = self
            .blocks
            .iter()
            .filter_map(|(index, block)| match block {
                Partial::ToolResult { id, .. } if stopped.contains(index) => Some(id.clone()),
                _ => None,
            })
            .collect();
        let mut dropped = Vec::new();
        self.blocks.retain(|index, block| match block {
            Partial::Text(_) => true,
            Partial::Tool { .. }
            | Partial::ToolResult { .. }
            | Partial::Reasoning { .. }
            | Partial::Image { .. } => {
                let whole = stopped.contains(index)
                    && match block {
                        Partial::Tool {
                            id, server: true, ..
                        } => answered.contains(id),
                        _ => true,
                    };
                if !whole {
                    dropped.push(*index);
                }
                whole
            }
        });
        let next = self.blocks.keys().next_back().map_or(0, |last| last + 1);
        let trimmed = match self.blocks.values().next_back() {
            Some(Partial::Text(text)) => Some(text[text.trim_end().len()..].to_owned()),
            _ => None,
        };
        let count = self.blocks.len();
        let mut prefill = Vec::with_capacity(count);
        for (n, (index, block)) in self.blocks.iter().enumerate() {
            let block = match block {
                Partial::Text(text) => {
                    let text = if n + 1 == count {
                        text.trim_end()
                    } else {
                        text
                    };
                    if text.trim().is_empty() {
                        continue; // (a blank text block is refused)
                    }
                    Partial::Text(text.to_owned())
                }
                // (reasoning goes back only whole, with its signature or redacted)
                Partial::Reasoning {
                    signature: None,
                    redacted: None,
                    ..
                } => continue,
                other => other.clone(),
            };
            let citations = self.citations.get(index).cloned();
            if let Ok(block) = whole(*index, block, citations, model_id) {
                prefill.push(block);
            }
        }
        Cut {
            prefill,
            ends_in_text: trimmed.is_some(),
            last: next - 1,
            next,
            trimmed: trimmed.unwrap_or_default(),
            usage: self.usage.take(),
            dropped,
        }
    }

    /// The finished reply; an error when the stream ended without its closing events or a
    /// tool input is not valid JSON.
    pub fn finish(
        self,
        model_id: &str,
        request_id: Option<String>,
    ) -> Result<ReplyData, Box<ErrorInfo>> {
        let Some(stop_reason) = self.stop_reason else {
            return Err(broken(
                model_id,
                "the stream ended before its messageStop event".into(),
            ));
        };
        let mut content = Vec::with_capacity(self.blocks.len());
        let mut citations = self.citations;
        for (index, block) in self.blocks {
            content.push(whole(index, block, citations.remove(&index), model_id)?);
        }
        let message = t::Message::builder()
            .role(t::ConversationRole::Assistant)
            .set_content(Some(content))
            .build()
            .map_err(|e| broken(model_id, e.to_string()))?;
        Ok(ReplyData {
            message,
            stop_reason,
            usage: self.usage.unwrap_or_default(),
            latency_ms: self.latency_ms,
            request_id,
            model_id: model_id.to_owned(),
            fields: self.fields,
            turn: None,
            output: None,
            grounding: None,
            served: self.served,
            trace: self.trace.map(std::sync::Arc::new),
            retries: Vec::new(),
        })
    }
}

#[cfg(test)]
#[path = "assembler_tests.rs"]
mod tests;
