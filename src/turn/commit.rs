//! A turn's commit: the store's write first (when the conversation has one), then the
//! conversation's state, in one step under its lock.

use std::sync::{Arc, Mutex};

use pyo3::prelude::*;

use super::outcome::{Change, Committed};
use super::state::{lock, reload, undo_landed, State};
use crate::errors::{ErrorInfo, TurnDetail};
use crate::store::link::{Doubt, Link, Snapshot, Written};
use crate::store::Failure;

/// Writes a committed turn to the store, before the conversation takes it. On a
/// conflict the conversation takes in the store's version, so that the turn can simply
/// be sent again; either way the error carries the reply.
pub fn save(
    py: Python<'_>,
    state: &Mutex<State>,
    link: &Link,
    c: &Committed,
    rounds: u32,
) -> Result<Written, Box<ErrorInfo>> {
    let ch = &c.change;
    let write = {
        let state = lock(state);
        let before = Snapshot {
            model_id: &state.model_id,
            stamp: &state.stamp,
        };
        link.write(
            &before,
            &ch.added,
            ch.start,
            ch.summary.as_deref(),
            state.usage + ch.usage,
            state.history.messages.len(),
        )
    };
    let (outcome, doubt) = match write {
        Ok(w) => {
            let doubt = Doubt::of(&w);
            (link.save(py, w), Some(doubt))
        }
        Err(f) => (Ok(Err(f)), None),
    };
    let failure = match outcome {
        Ok(Ok(written)) => {
            lock(state).stamp.doubts.clear();
            return Ok(written);
        }
        Ok(Err(f)) => f,
        Err(err) => return Err(Box::new(ErrorInfo::new("StoreError", err.to_string()))),
    };
    if let (Failure::Down { .. }, Some(doubt)) = (&failure, doubt) {
        // The write may still land (its answer was lost): the next check before a turn
        // undoes it, so that a turn reported as failed is kept nowhere.
        lock(state).stamp.doubts.push(doubt);
    }
    let info = failure.info(&link.name(), &link.id);
    if let Failure::Conflict { .. } = failure {
        // A write of its own reported as failed may be what this one conflicts with: that
        // one is undone; any other is taken in. Note: a conversation that cannot reload
        // keeps its history (still valid, only older); the next turn's check tries again.
        if !undo_landed(py, state, link).unwrap_or(false) {
            if let Ok(Ok(Some(record))) = link.reload(py) {
                reload(&mut lock(state), record);
            }
        }
    }
    Err(Box::new(info.with_detail(TurnDetail {
        rounds,
        messages: ch.added.clone(),
        usage: ch.usage,
        reply: Some(c.reply.clone()),
    })))
}

/// Writes a committed turn into the conversation's state, in one step (under its lock).
pub fn apply(state: &mut State, c: Change) {
    let usage = c.usage;
    let h = &mut state.history;
    let added = c.added.len();
    if added > 0 {
        Arc::make_mut(&mut h.messages).extend(c.added);
        Arc::make_mut(&mut h.tokens).extend(c.tokens);
    }
    h.start = c.start;
    h.summary = c.summary;
    // The last request's prompt covered everything but the reply's message.
    state.context = c
        .stats
        .prompt_tokens
        .map(|p| (p, state.history.messages.len() - 1));
    state.usage = state.usage + usage;
    let m = &mut state.metrics;
    m.turns += 1;
    m.retries += u64::from(c.stats.retries);
    m.summaries += u64::from(c.stats.summaries);
    for (model, tokens) in c.stats.by_model {
        m.add_usage(&model, tokens);
    }
    m.latency.push(c.elapsed);
    if let Some(first) = c.stats.first_token {
        m.first_token.push(first);
    }
    // (the conversation's own tools: a system tool's call and its result, in the model's
    // message, are the service's)
    use aws_sdk_bedrockruntime::types as t;
    for msg in &state.history.messages[state.history.messages.len() - added..] {
        let ours = msg.role() == &t::ConversationRole::User;
        for block in msg.content() {
            match block {
                t::ContentBlock::ToolUse(u)
                    if !crate::wire::server_tools::is_server_tool_use(u) =>
                {
                    m.tool_calls += 1
                }
                t::ContentBlock::ToolResult(r)
                    if ours && r.status() == Some(&t::ToolResultStatus::Error) =>
                {
                    m.tool_errors += 1
                }
                _ => {}
            }
        }
    }
}
