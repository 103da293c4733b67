//! Scripted turns: what FakeBedrock answers, and how one answer becomes a Converse response
//! body (its stream's event frames are `cursor.rs`'s).

use std::time::Duration;

use serde_json::{json, Value};

use super::tokens;

/// One content block of a scripted assistant message.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    Text(String),
    ToolUse {
        id: String,
        name: String,
        input: Value,
    },
    Reasoning {
        text: String,
        signature: Option<String>,
    },
    /// Reasoning the provider encrypted, as base64 (Bedrock's `redactedContent`).
    Redacted(String),
    /// An image the model generated: its format and its bytes as base64.
    Image {
        format: String,
        b64: String,
    },
    /// A system tool's call, which the service runs itself (`"type": "server_tool_use"`);
    /// its `ToolResult` follows in the same message, and it ends no turn.
    ServerToolUse {
        id: String,
        name: String,
        input: Value,
    },
    /// A system tool's result (`toolResult` in the assistant's message): its `content`
    /// items (`{"text": ...}` / `{"json": ...}`), `status` and `type`.
    ToolResult {
        id: String,
        kind: Option<String>,
        status: Option<String>,
        content: Vec<Value>,
    },
    /// Text the model cited (`citationsContent`): the text, and its citations (boto3's
    /// shape), streamed as the text's deltas and then one `citation` delta each.
    Cited {
        text: String,
        citations: Vec<Value>,
    },
}

impl Block {
    /// The block in the boto3/JSON shape of a Converse response.
    pub fn to_json(&self) -> Value {
        match self {
            Block::Text(text) => json!({ "text": text }),
            Block::ToolUse { id, name, input } => {
                json!({ "toolUse": { "toolUseId": id, "name": name, "input": input } })
            }
            Block::Reasoning { text, signature } => {
                let mut reasoning = json!({ "text": text });
                if let Some(sig) = signature {
                    reasoning["signature"] = json!(sig);
                }
                json!({ "reasoningContent": { "reasoningText": reasoning } })
            }
            Block::Redacted(b64) => json!({ "reasoningContent": { "redactedContent": b64 } }),
            Block::Image { format, b64 } => {
                json!({ "image": { "format": format, "source": { "bytes": b64 } } })
            }
            Block::ServerToolUse { id, name, input } => json!({
                "toolUse": { "toolUseId": id, "name": name, "input": input, "type": "server_tool_use" }
            }),
            Block::ToolResult {
                id,
                kind,
                status,
                content,
            } => {
                let mut result = json!({ "toolUseId": id, "content": content });
                if let Some(status) = status {
                    result["status"] = json!(status);
                }
                if let Some(kind) = kind {
                    result["type"] = json!(kind);
                }
                json!({ "toolResult": result })
            }
            Block::Cited { text, citations } => json!({
                "citationsContent": { "content": [{ "text": text }], "citations": citations }
            }),
        }
    }
}

/// How a text (or tool input) is cut into deltas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Chunking {
    /// One delta per word, the whitespace after a word going with it (like a real model).
    #[default]
    Words,
    /// This many deltas of about equal size (fewer if the text is shorter).
    Count(usize),
}

/// An error the service answers with instead of a reply.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpError {
    pub code: String,
    pub status: u16,
    pub message: String,
    /// Extra members of the error body (originalStatusCode, resourceName, ...).
    pub extra: Box<serde_json::Map<String, Value>>,
}

/// An exception sent inside a ConverseStream after some events.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamError {
    pub member: &'static str,
    pub code: &'static str,
    pub message: String,
    pub after_events: usize,
}

/// Token usage of a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    pub input: u64,
    pub output: u64,
    /// Cache counts, sent when known (zero included), as the service does when a request
    /// uses prompt caching.
    pub cache_read: Option<u64>,
    pub cache_write: Option<u64>,
    /// `cacheDetails`, when a cache point of the request had a `ttl`: the tokens of
    /// `cache_write` written with a one-hour lifetime (the rest: five minutes).
    pub cache_write_1h: Option<u64>,
}

impl Usage {
    pub fn to_json(self) -> Value {
        let mut usage = json!({
            "inputTokens": self.input,
            "outputTokens": self.output,
            "totalTokens": self.input
                + self.output
                + self.cache_read.unwrap_or(0)
                + self.cache_write.unwrap_or(0),
        });
        if let Some(n) = self.cache_read {
            usage["cacheReadInputTokens"] = json!(n);
        }
        if let Some(n) = self.cache_write {
            usage["cacheWriteInputTokens"] = json!(n);
        }
        if let Some(hour) = self.cache_write_1h {
            // Note: ours: Bedrock documents the entries, not which it sends when a lifetime
            // wrote nothing; FakeBedrock lists those that wrote, in prompt order (1h first).
            let five = self.cache_write.unwrap_or(0).saturating_sub(hour);
            let entries: Vec<Value> = [("1h", hour), ("5m", five)]
                .into_iter()
                .filter(|(_, n)| *n > 0)
                .map(|(ttl, n)| json!({ "ttl": ttl, "inputTokens": n }))
                .collect();
            usage["cacheDetails"] = json!(entries);
        }
        usage
    }
}

/// One scripted turn: a reply, or a failure, and its timing.
#[derive(Debug, Clone, Default)]
pub struct Turn {
    pub blocks: Vec<Block>,
    pub chunking: Chunking,
    /// Defaults to `tool_use` when the turn uses a tool, `end_turn` otherwise.
    pub stop_reason: Option<String>,
    /// Overrides the usage computed by the token rule.
    pub usage: Option<Usage>,
    pub latency_ms: Option<u64>,
    pub http_error: Option<HttpError>,
    pub stream_error: Option<StreamError>,
    pub disconnect_after_events: Option<usize>,
    pub first_byte_delay: Duration,
    pub delta_delay: Duration,
    /// A guardrail trace, sent only when the request enabled `guardrailConfig.trace`.
    pub trace: Option<Value>,
    /// The request's `serviceTier` and `performanceConfig`, answered back (the response's
    /// fields of those names; Bedrock's echo is documented, its values for a request that
    /// set neither are not, so FakeBedrock then sends neither: ours).
    pub served: serde_json::Map<String, Value>,
}

impl Turn {
    pub fn stop_reason(&self) -> &str {
        match &self.stop_reason {
            Some(reason) => reason,
            None if self
                .blocks
                .iter()
                .any(|b| matches!(b, Block::ToolUse { .. })) =>
            {
                "tool_use"
            }
            None => "end_turn",
        }
    }

    pub fn content_json(&self) -> Vec<Value> {
        self.blocks.iter().map(Block::to_json).collect()
    }

    /// The usage to report, given the prompt's usage as the token rule computed it.
    pub fn usage(&self, prompt: Usage) -> Usage {
        self.usage.unwrap_or(Usage {
            output: tokens::output_tokens(&self.content_json()),
            ..prompt
        })
    }

    pub fn latency_ms(&self) -> u64 {
        self.latency_ms
            .unwrap_or(1 + self.first_byte_delay.as_millis() as u64)
    }

    /// The body of a Converse response for this turn.
    pub fn converse_response(&self, prompt: Usage) -> Value {
        let mut body = json!({
            "output": { "message": { "role": "assistant", "content": self.content_json() } },
            "stopReason": self.stop_reason(),
            "usage": self.usage(prompt).to_json(),
            "metrics": { "latencyMs": self.latency_ms() },
        });
        if let Some(trace) = &self.trace {
            body["trace"] = trace.clone();
        }
        for (k, v) in &self.served {
            body[k] = v.clone();
        }
        body
    }
}

/// Byte offsets that cut `text` into deltas.
pub(super) fn cut_points(text: &str, chunking: Chunking) -> Vec<usize> {
    let mut cuts = vec![0];
    match chunking {
        Chunking::Words => {
            let (mut in_space, mut seen_word) = (false, false);
            for (i, c) in text.char_indices() {
                let space = c.is_whitespace();
                if in_space && !space && seen_word {
                    cuts.push(i);
                }
                seen_word |= !space;
                in_space = space;
            }
        }
        Chunking::Count(n) => {
            let chars = text.chars().count();
            let n = n.clamp(1, chars.max(1));
            let mut boundaries = text.char_indices().map(|(i, _)| i);
            let mut taken = 0;
            for k in 1..n {
                let target = k * chars / n;
                let offset = boundaries.nth(target - taken).unwrap_or(text.len());
                taken = target + 1;
                cuts.push(offset);
            }
        }
    }
    cuts.push(text.len());
    cuts.dedup();
    if cuts.len() == 1 {
        // An empty text still gets one (empty) delta, as a real model sends for `{}` input.
        cuts.push(0);
    }
    cuts
}

/// Pieces of `text` cut by [`cut_points`].
#[cfg(test)]
pub fn split(text: &str, chunking: Chunking) -> Vec<&str> {
    cut_points(text, chunking)
        .windows(2)
        .map(|w| &text[w[0]..w[1]])
        .collect()
}

#[cfg(test)]
pub use super::cursor::all_frames;
pub use super::cursor::EventCursor;

#[cfg(test)]
#[path = "script_tests.rs"]
mod tests;
