//! Streams that resume. When a conversation's stream fails after some of the answer was
//! shown (a throttle, a 5xx, a cut connection, a read timeout, an in-stream error), the turn
//! asks again with the answer so far as the start of the assistant's message (a prefill, on
//! models that take one; otherwise followed by a user message asking to continue), and the
//! reader goes on with the new text only: one answer, nothing shown twice.
//!
//! The answer so far comes from the stream's `Assembler` (`Assembler::cut`), which also says
//! where the continuation's blocks go: its first block goes on with the cut text block when
//! both are text, later ones follow the message's blocks. `Continuation` renumbers the new
//! stream's events so, and drops what the reader saw already: the second `messageStart`, and
//! the whitespace the prefill left out (Anthropic's models refuse a prefill ending in it)
//! when the continuation repeats it.

use aws_sdk_bedrockruntime::types as t;

use super::io::Resumer;
use crate::assembler::{Assembler, Cut};
use crate::context::estimate::block_tokens;
use crate::errors::ErrorInfo;
use crate::events::PyResumed;
use crate::exchange::Retry;
use crate::reply::{ReplyData, Tokens};
use crate::stream::{Item, Pump};

/// What a model is asked when it takes no prefill: the cut answer comes before it.
pub const CONTINUE: &str = "Your previous answer was cut off. Continue it exactly where it \
stopped: do not repeat anything, and add no preamble.";

/// Whether a model continues an assistant message that ends the request (an assistant
/// prefill): Anthropic's Claude models (`anthropic.` in the id, also inside inference
/// profiles such as `us.anthropic.` and ARNs) and Amazon Nova (`amazon.nova`). Other models
/// get the cut answer as a whole assistant message and a user message asking to continue.
pub fn takes_prefill(model_id: &str) -> bool {
    let id = model_id.to_ascii_lowercase();
    id.contains("anthropic.") || id.contains("amazon.nova")
}

/// Failures a stream resumes after: those worth another try (the pump's own list) and a
/// model's in-stream error.
pub fn resumable(info: &ErrorInfo) -> bool {
    crate::stream::transient(info) || info.code.as_deref() == Some("ModelStreamErrorException")
}

fn message(role: t::ConversationRole, content: Vec<t::ContentBlock>) -> t::Message {
    t::Message::builder()
        .role(role)
        .set_content(Some(content))
        .build()
        .expect("role and content are set")
}

/// The messages a resumed request adds after the cut one's: none when nothing can be sent
/// back (the request is made again as it was); None when the stream cannot resume (a model
/// without prefill, whose cut answer holds a call of its tools: it would need its result first).
pub fn added_messages(model_id: &str, prefill: &[t::ContentBlock]) -> Option<Vec<t::Message>> {
    if prefill.is_empty() {
        return Some(Vec::new());
    }
    let answer = message(t::ConversationRole::Assistant, prefill.to_vec());
    if takes_prefill(model_id) {
        return Some(vec![answer]);
    }
    // (a system tool's call came with its result: that answer can go back as it is)
    if prefill.iter().any(|b| {
        matches!(b, t::ContentBlock::ToolUse(u) if !crate::wire::server_tools::is_server_tool_use(u))
    }) {
        return None;
    }
    let ask = message(
        t::ConversationRole::User,
        vec![t::ContentBlock::Text(CONTINUE.to_owned())],
    );
    Some(vec![answer, ask])
}

/// Renumbers a continuation's events onto the message assembled so far.
#[derive(Debug, Clone, PartialEq)]
pub struct Continuation {
    ends_in_text: bool,
    last: i32,
    next: i32,
    /// Whitespace shown already that the continuation's first text may repeat.
    trim: String,
    /// Whether the continuation's block 0 goes on with the message's last block (known at
    /// its first event).
    merged: Option<bool>,
}

impl Continuation {
    pub fn new(cut: &Cut) -> Self {
        Self {
            ends_in_text: cut.ends_in_text,
            last: cut.last,
            next: cut.next,
            trim: cut.trimmed.clone(),
            merged: None,
        }
    }

    /// The message's index of the continuation's block `k`; `text`: the event is text.
    pub fn index(&mut self, k: i32, text: bool) -> i32 {
        let merged = *self
            .merged
            .get_or_insert(k == 0 && text && self.ends_in_text);
        match (merged, k) {
            (true, 0) => self.last,
            (true, k) => self.next + k - 1,
            (false, k) => self.next + k,
        }
    }

    /// `text` of the message's block `index` without the whitespace shown already.
    pub fn strip<'a>(&mut self, index: i32, text: &'a str) -> &'a str {
        if self.trim.is_empty() || index != self.last || self.merged != Some(true) {
            return text;
        }
        let same: usize = text
            .chars()
            .zip(self.trim.chars())
            .take_while(|(a, b)| a == b)
            .map(|(a, _)| a.len_utf8())
            .sum();
        if same == text.len() {
            self.trim.drain(..same);
        } else {
            self.trim.clear();
        }
        &text[same..]
    }

    /// The continuation's `item` as the reader and the assembler take it; None when it
    /// holds nothing new (the repeated `messageStart`, whitespace shown already).
    pub fn map(&mut self, item: Item) -> Option<Item> {
        use t::ConverseStreamOutput as E;
        match item {
            Item::Text { index, text } => {
                let index = self.index(index, true);
                let kept = self.strip(index, &text);
                if kept.is_empty() {
                    return None;
                }
                let text = if kept.len() == text.len() {
                    text
                } else {
                    kept.to_owned()
                };
                Some(Item::Text { index, text })
            }
            Item::Event(mut event) => {
                match &mut *event {
                    E::MessageStart(_) => return None,
                    E::ContentBlockStart(e) => {
                        e.content_block_index = self.index(e.content_block_index, false);
                    }
                    E::ContentBlockDelta(e) => {
                        let text = matches!(e.delta, Some(t::ContentBlockDelta::Text(_)));
                        e.content_block_index = self.index(e.content_block_index, text);
                    }
                    E::ContentBlockStop(e) => {
                        e.content_block_index = self.index(e.content_block_index, false);
                    }
                    _ => {}
                }
                Some(Item::Event(event))
            }
            other => Some(other),
        }
    }
}

/// A stream's resumes: how many are left, the continuation under way, and what the cut
/// attempts used.
pub struct Resuming {
    resumer: Resumer,
    left: u32,
    attempt: u32,
    continuation: Option<Continuation>,
    /// The cut attempts' usage: their metadata if it came, else estimated (the request's
    /// input, and the output shown).
    spent: Tokens,
    /// The estimated input of the request under way.
    input: u64,
    /// The estimated output shown before the request under way.
    shown: u64,
    retries: Vec<Retry>,
}

impl Resuming {
    pub fn new(resumer: Resumer, tries: u32) -> Self {
        let input = resumer.input_estimate();
        Self {
            resumer,
            left: tries,
            attempt: 0,
            continuation: None,
            spent: Tokens::default(),
            input,
            shown: 0,
            retries: Vec::new(),
        }
    }

    /// `item` as the message so far takes it (see `Continuation::map`).
    pub fn map(&mut self, item: Item) -> Option<Item> {
        match &mut self.continuation {
            Some(c) => c.map(item),
            None => Some(item),
        }
    }

    /// Starts the request that continues the answer `assembler` holds, after `info` cut
    /// it: its pump and the reader's `Resumed` event; None when the stream cannot resume.
    pub fn start(
        &mut self,
        assembler: &mut Assembler,
        model_id: &str,
        info: &ErrorInfo,
    ) -> Option<(Pump, PyResumed)> {
        if self.left == 0 || !resumable(info) {
            return None;
        }
        let cut = assembler.cut(model_id);
        let added = added_messages(model_id, &cut.prefill)?;
        self.left -= 1;
        self.attempt += 1;
        let shown: u64 = cut.prefill.iter().map(block_tokens).sum();
        self.spent = self.spent
            + cut.usage.unwrap_or(Tokens {
                input: self.input as i64,
                output: shown.saturating_sub(self.shown) as i64,
                total: (self.input + shown.saturating_sub(self.shown)) as i64,
                cache_read: None,
                cache_write: None,
                cache_details: None,
            });
        self.shown = shown;
        self.input = self.resumer.input_estimate()
            + added
                .iter()
                .flat_map(|m| m.content())
                .map(block_tokens)
                .sum::<u64>();
        let reason = info.code.clone().unwrap_or_else(|| info.class.to_owned());
        // (the SDK's retries of the attempt that was cut, then its resume)
        self.retries.extend(info.retries.iter().cloned());
        self.retries.push(Retry {
            reason: reason.clone(),
            waited: std::time::Duration::ZERO,
        });
        self.continuation = Some(Continuation::new(&cut));
        let pump = self.resumer.start(added);
        let event = PyResumed {
            reason,
            message: info.message.clone(),
            attempt: self.attempt,
            restarted: cut.dropped.clone(),
        };
        Some((pump, event))
    }

    /// Adds what the cut attempts used, and their resumes, to the finished reply.
    pub fn settle(&self, reply: &mut ReplyData) {
        if self.attempt > 0 {
            reply.usage = reply.usage + self.spent;
            let mut retries = self.retries.clone();
            retries.append(&mut reply.retries);
            reply.retries = retries;
        }
    }

    /// A stream cut after its `messageStop` lost only its metadata: the answer is whole and
    /// is not resumed (the model could add to a finished answer). Its usage is estimated as
    /// a cut attempt's; then `settle`.
    pub fn settle_unmetered(&self, reply: &mut ReplyData) {
        if reply.usage == Tokens::default() {
            let shown: u64 = reply.message.content().iter().map(block_tokens).sum();
            let output = shown.saturating_sub(self.shown);
            reply.usage = Tokens {
                input: self.input as i64,
                output: output as i64,
                total: (self.input + output) as i64,
                ..Tokens::default()
            };
        }
        self.settle(reply);
    }

    /// Adds the resumes made to the failure that ended the stream.
    pub fn settle_failure(&self, info: &mut ErrorInfo) {
        let mut retries = self.retries.clone();
        retries.append(&mut info.retries);
        info.retries = retries;
    }
}

#[cfg(test)]
#[path = "resume_tests.rs"]
mod tests;
