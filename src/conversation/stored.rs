//! A conversation and its store: taking in the store's newer version before a turn (another
//! worker's turns), and writing the conversation as it is (when created, after a reset).

use std::sync::Arc;

use pyo3::prelude::*;

use super::{lock, PyConversationCore, State};
use crate::reply::Tokens;
use crate::store::link::{Snapshot, Stamp};
use crate::store::{Failure, Record};
use crate::turn::machine::Base;

/// A loaded record as history, stamp, usage and model.
pub fn taken(record: Record) -> (Base, Stamp, Tokens, String) {
    let mut base = Base::from(record.messages);
    base.start = record.head.start;
    base.summary = record.head.summary.map(Arc::from);
    let stamp = Stamp {
        version: record.version,
        created: record.created,
        updated: record.updated,
        metadata: Arc::new(record.metadata),
    };
    (base, stamp, record.head.usage.into(), record.head.model_id)
}

/// Takes in the store's version of the conversation (another worker's turns).
pub fn reload(state: &mut State, record: Record) {
    let (history, stamp, usage, model_id) = taken(record);
    state.history = history;
    state.stamp = stamp;
    state.usage = usage;
    state.model_id = model_id;
    state.context = None;
    state.last_reply = None;
}

impl PyConversationCore {
    /// Before a turn: takes in the store's newer version, if another worker wrote one, so
    /// that the turn continues the newest history instead of failing at its commit.
    pub(super) fn refresh(&self, py: Python<'_>) -> PyResult<()> {
        let Some(link) = &self.link else {
            return Ok(());
        };
        let fail = |f: Failure| f.info(&link.name(), &self.id).into_pyerr(py);
        let ours = lock(&self.state).stamp.version;
        match link.version(py)?.map_err(fail)? {
            Some(v) if v == ours => Ok(()),
            Some(_) => match link.load(py)?.map_err(fail)? {
                Some(record) => {
                    reload(&mut lock(&self.state), record);
                    Ok(())
                }
                None => Err(fail(Failure::Conflict { ours, theirs: None })),
            },
            None => Err(fail(Failure::Conflict { ours, theirs: None })),
        }
    }

    /// Writes `history` (from its message `from` on) as the conversation's, with its
    /// current model and usage: a new conversation (all of it), a reset (an empty history)
    /// or a model switch (no message). The conversation takes it once the store has; on a
    /// conflict it takes in the store's version instead.
    pub fn write_as(&self, py: Python<'_>, history: Option<Base>, from: usize) -> PyResult<()> {
        let Some(link) = &self.link else {
            if let Some(history) = history {
                lock(&self.state).history = history;
            }
            return Ok(());
        };
        let write = {
            let state = lock(&self.state);
            let h = history.as_ref().unwrap_or(&state.history);
            let snap = Snapshot {
                model_id: &state.model_id,
                stamp: &state.stamp,
            };
            let added = &h.messages[from.min(h.messages.len())..];
            link.write(
                &snap,
                added,
                h.start,
                h.summary.as_deref(),
                state.usage,
                from,
            )
        };
        let fail = |f: Failure| f.info(&link.name(), &self.id).into_pyerr(py);
        let outcome = match write {
            Ok(w) => link.save(py, w)?,
            Err(f) => Err(f),
        };
        match outcome {
            Ok(written) => {
                let mut state = lock(&self.state);
                if let Some(history) = history {
                    state.history = history;
                }
                state.stamp.version = written.version;
                state.stamp.updated = written.updated;
                Ok(())
            }
            Err(f @ Failure::Conflict { .. }) => {
                if let Ok(Ok(Some(record))) = link.reload(py) {
                    reload(&mut lock(&self.state), record);
                }
                Err(fail(f))
            }
            Err(f) => Err(fail(f)),
        }
    }
}
