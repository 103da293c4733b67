//! A scripted turn as the ConverseStream event frames FakeBedrock writes, one at a time (an
//! `EventCursor`), with the turn's faults at their event counts.

use std::collections::VecDeque;

use bytes::{BufMut, BytesMut};
use serde::Serialize;
use serde_json::{json, Value};

use super::frame::{write_event, write_exception};
use super::script::{cut_points, Block, Chunking, Turn, Usage};

#[derive(Serialize)]
struct Padded<'a, T: Serialize> {
    #[serde(flatten)]
    event: T,
    /// Real streams pad every payload so that frame sizes leak nothing; clients ignore it.
    p: &'a str,
}

const PADDING: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// What comes next in a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    MessageStart,
    BlockStart,
    BlockDelta,
    BlockSignature,
    /// A cited text's citations, one delta each, after its text.
    BlockCitation,
    BlockStop,
    MessageStop,
    Metadata,
    Done,
}

/// Produces the frames of one ConverseStream response, one event at a time, so that a
/// 200,000-delta stream costs no more memory than a short one.
pub struct EventCursor {
    turn: Turn,
    usage: Usage,
    phase: Phase,
    block: usize,
    /// Cuts of the current block's text or input, and the next delta's index in them.
    cuts: Vec<usize>,
    input_json: String,
    delta: usize,
    /// The next citation delta of a cited text.
    citation: usize,
    pub events_written: usize,
    /// InvokeModelWithResponseStream: the model's own events, each sent in a `chunk`.
    chunks: Option<VecDeque<Value>>,
}

impl EventCursor {
    pub fn new(turn: Turn, prompt: Usage) -> Self {
        let usage = turn.usage(prompt);
        Self {
            turn,
            usage,
            phase: Phase::MessageStart,
            block: 0,
            cuts: Vec::new(),
            input_json: String::new(),
            delta: 0,
            citation: 0,
            events_written: 0,
            chunks: None,
        }
    }

    /// A cursor that sends `events` as InvokeModelWithResponseStream's `chunk` events.
    pub fn chunks(turn: Turn, prompt: Usage, events: VecDeque<Value>) -> Self {
        let mut cursor = Self::new(turn, prompt);
        cursor.chunks = Some(events);
        cursor
    }

    pub fn turn(&self) -> &Turn {
        &self.turn
    }

    pub fn is_done(&self) -> bool {
        self.phase == Phase::Done
    }

    /// Whether the event about to be written is a content delta (delays go between those;
    /// in an InvokeModel stream, between its chunks).
    pub fn next_is_delta(&self) -> bool {
        match &self.chunks {
            Some(rest) => self.events_written > 0 && !rest.is_empty(),
            None => self.phase == Phase::BlockDelta && self.delta > 0,
        }
    }

    fn emit<T: Serialize>(&mut self, out: &mut BytesMut, event_type: &'static str, event: T) {
        let pad = &PADDING[..1 + (self.events_written * 7) % (PADDING.len() - 1)];
        let mut payload = BytesMut::with_capacity(128).writer();
        serde_json::to_writer(&mut payload, &Padded { event, p: pad })
            .expect("events always serialize");
        write_event(out, event_type, payload.into_inner().freeze());
        self.events_written += 1;
    }

    fn enter_block(&mut self) {
        self.delta = 0;
        self.citation = 0;
        self.cuts = match &self.turn.blocks[self.block] {
            Block::Text(text) | Block::Reasoning { text, .. } | Block::Cited { text, .. } => {
                cut_points(text, self.turn.chunking)
            }
            Block::Redacted(_) => vec![0, 1],
            // Note: an image streams in pieces of whole base64 quanta (4 characters), so
            // that each delta's bytes decode alone, as each of the service's do.
            Block::Image { b64, .. } => {
                let pieces = match self.turn.chunking {
                    Chunking::Words => 1,
                    Chunking::Count(n) => n.max(1),
                };
                let quanta = b64.len() / 4;
                let mut cuts: Vec<usize> = (0..pieces).map(|k| k * quanta / pieces * 4).collect();
                cuts.push(b64.len());
                cuts.dedup();
                if cuts.len() == 1 {
                    cuts.push(0);
                }
                cuts
            }
            // Note: ours: each item of a system tool's result is one delta.
            Block::ToolResult { content, .. } => (0..=content.len().max(1)).collect(),
            Block::ToolUse { input, .. } | Block::ServerToolUse { input, .. } => {
                self.input_json = serde_json::to_string(input).expect("JSON always serializes");
                // Note: tool input streams in equal pieces; "words" of JSON would be odd.
                let chunking = match self.turn.chunking {
                    Chunking::Words => Chunking::Count(1),
                    other => other,
                };
                cut_points(&self.input_json, chunking)
            }
        };
    }

    /// Writes the next event frame into `out`; does nothing once the stream is complete.
    pub fn write_next(&mut self, out: &mut BytesMut) {
        if let Some(events) = &mut self.chunks {
            if let Some(event) = events.pop_front() {
                use base64::Engine;
                let bytes = base64::engine::general_purpose::STANDARD.encode(event.to_string());
                self.emit(out, "chunk", json!({ "bytes": bytes }));
            }
            if self.chunks.as_ref().is_none_or(VecDeque::is_empty) {
                self.phase = Phase::Done;
            }
            return;
        }
        let index = self.block;
        match self.phase {
            Phase::MessageStart => {
                self.emit(out, "messageStart", json!({ "role": "assistant" }));
                self.phase = if self.turn.blocks.is_empty() {
                    Phase::MessageStop
                } else {
                    self.enter_block();
                    Phase::BlockStart
                };
            }
            Phase::BlockStart => {
                // Text and reasoning blocks start with their first delta, as on the real service.
                let start = match &self.turn.blocks[index] {
                    Block::ToolUse { id, name, .. } => {
                        Some(json!({ "toolUse": { "toolUseId": id, "name": name } }))
                    }
                    Block::ServerToolUse { id, name, .. } => Some(json!({
                        "toolUse": { "toolUseId": id, "name": name, "type": "server_tool_use" }
                    })),
                    Block::ToolResult {
                        id, kind, status, ..
                    } => {
                        let mut start = json!({ "toolUseId": id });
                        if let Some(kind) = kind {
                            start["type"] = json!(kind);
                        }
                        if let Some(status) = status {
                            start["status"] = json!(status);
                        }
                        Some(json!({ "toolResult": start }))
                    }
                    Block::Image { format, .. } => Some(json!({ "image": { "format": format } })),
                    _ => None,
                };
                self.phase = Phase::BlockDelta;
                match start {
                    Some(start) => {
                        let event = json!({ "contentBlockIndex": index, "start": start });
                        self.emit(out, "contentBlockStart", event);
                    }
                    None => self.write_next(out),
                }
            }
            Phase::BlockDelta => {
                let (start, end) = (self.cuts[self.delta], self.cuts[self.delta + 1]);
                let delta = match &self.turn.blocks[index] {
                    Block::Text(text) | Block::Cited { text, .. } => {
                        json!({ "text": &text[start..end] })
                    }
                    Block::Reasoning { text, .. } => {
                        json!({ "reasoningContent": { "text": &text[start..end] } })
                    }
                    Block::Redacted(b64) => {
                        json!({ "reasoningContent": { "redactedContent": b64 } })
                    }
                    Block::ToolUse { .. } | Block::ServerToolUse { .. } => {
                        json!({ "toolUse": { "input": &self.input_json[start..end] } })
                    }
                    Block::ToolResult { content, .. } => {
                        json!({ "toolResult": content.get(start..end).unwrap_or_default() })
                    }
                    Block::Image { b64, .. } => {
                        json!({ "image": { "source": { "bytes": &b64[start..end] } } })
                    }
                };
                self.emit(
                    out,
                    "contentBlockDelta",
                    json!({ "contentBlockIndex": index, "delta": delta }),
                );
                self.delta += 1;
                if self.delta + 1 == self.cuts.len() {
                    self.phase = match &self.turn.blocks[index] {
                        Block::Reasoning {
                            signature: Some(_), ..
                        } => Phase::BlockSignature,
                        Block::Cited { citations, .. } if !citations.is_empty() => {
                            Phase::BlockCitation
                        }
                        _ => Phase::BlockStop,
                    };
                }
            }
            Phase::BlockSignature => {
                if let Block::Reasoning {
                    signature: Some(sig),
                    ..
                } = &self.turn.blocks[index]
                {
                    let event = json!({
                        "contentBlockIndex": index,
                        "delta": { "reasoningContent": { "signature": sig } },
                    });
                    self.emit(out, "contentBlockDelta", event);
                }
                self.phase = Phase::BlockStop;
            }
            Phase::BlockCitation => {
                let mut more = false;
                if let Block::Cited { citations, .. } = &self.turn.blocks[index] {
                    let citation = citations[self.citation].clone();
                    self.citation += 1;
                    more = self.citation < citations.len();
                    let event = json!({
                        "contentBlockIndex": index,
                        "delta": { "citation": citation },
                    });
                    self.emit(out, "contentBlockDelta", event);
                }
                if !more {
                    self.phase = Phase::BlockStop;
                }
            }
            Phase::BlockStop => {
                self.emit(
                    out,
                    "contentBlockStop",
                    json!({ "contentBlockIndex": index }),
                );
                self.block += 1;
                self.phase = if self.block < self.turn.blocks.len() {
                    self.enter_block();
                    Phase::BlockStart
                } else {
                    Phase::MessageStop
                };
            }
            Phase::MessageStop => {
                let reason = self.turn.stop_reason().to_owned();
                self.emit(out, "messageStop", json!({ "stopReason": reason }));
                self.phase = Phase::Metadata;
            }
            Phase::Metadata => {
                let mut event = json!({
                    "usage": self.usage.to_json(),
                    "metrics": { "latencyMs": self.turn.latency_ms() },
                });
                if let Some(trace) = &self.turn.trace {
                    event["trace"] = trace.clone();
                }
                for (k, v) in &self.turn.served {
                    event[k] = v.clone();
                }
                self.emit(out, "metadata", event);
                self.phase = Phase::Done;
            }
            Phase::Done => {}
        }
    }

    /// Whether a scripted failure after `k` events is due: after `k` events, and at the
    /// latest before the metadata event (a real stream never fails after it).
    fn failure_due(&self, k: usize) -> bool {
        self.events_written >= k || self.phase == Phase::Metadata
    }

    /// Writes the scripted in-stream exception, if its moment has come; true when written.
    pub fn write_exception_if_due(&mut self, out: &mut BytesMut) -> bool {
        match &self.turn.stream_error {
            Some(err) if self.failure_due(err.after_events) => {
                write_exception(out, err.member, &err.message);
                self.phase = Phase::Done;
                true
            }
            _ => false,
        }
    }

    /// Whether the scripted disconnect is due now.
    pub fn disconnect_due(&self) -> bool {
        self.phase != Phase::Done
            && self
                .turn
                .disconnect_after_events
                .is_some_and(|k| self.failure_due(k))
    }
}

/// Frames of a whole stream in one buffer.
#[cfg(test)]
pub fn all_frames(turn: Turn, prompt: Usage) -> bytes::Bytes {
    let mut cursor = EventCursor::new(turn, prompt);
    let mut out = BytesMut::new();
    while !cursor.is_done() {
        if cursor.write_exception_if_due(&mut out) {
            break;
        }
        cursor.write_next(&mut out);
    }
    out.freeze()
}
