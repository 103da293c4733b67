//! A conversation and its store: taking in the store's newer version before a turn (another
//! worker's turns), and writing the conversation as it is (when created, after a reset).

use std::sync::Arc;

use pyo3::prelude::*;

use super::{lock, PyConversationCore, State};
use crate::reply::Tokens;
use crate::store::link::{Doubt, Snapshot, Stamp};
use crate::store::{Failure, Record, Write};
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
        doubt: None,
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
        let (ours, doubt) = {
            let state = lock(&self.state);
            (state.stamp.version, state.stamp.doubt.clone())
        };
        match link.version(py)?.map_err(fail)? {
            Some(v) if v == ours => Ok(()),
            Some(v)
                if doubt
                    .as_ref()
                    .is_some_and(|d| d.version == v && link.landed(py, d)) =>
            {
                // A write reported as failed landed after all: undo it (write the history
                // as this conversation holds it, on top of it).
                let len = lock(&self.state).history.messages.len();
                match self.write_on(py, None, len, v) {
                    Ok(()) => Ok(()),
                    Err(_) => self.take_in(py),
                }
            }
            Some(_) => self.take_in(py),
            None => Err(fail(Failure::Conflict { ours, theirs: None })),
        }
    }

    /// Takes in the store's version, whatever it is.
    fn take_in(&self, py: Python<'_>) -> PyResult<()> {
        let Some(link) = &self.link else {
            return Ok(());
        };
        let fail = |f: Failure| f.info(&link.name(), &self.id).into_pyerr(py);
        let ours = lock(&self.state).stamp.version;
        match link.load(py)?.map_err(fail)? {
            Some(record) => {
                reload(&mut lock(&self.state), record);
                Ok(())
            }
            None => Err(fail(Failure::Conflict { ours, theirs: None })),
        }
    }

    /// Writes `history` (from its message `from` on) as the conversation's, with its
    /// current model and usage: a new conversation (all of it), a reset (an empty history)
    /// or a model switch (no message). The conversation takes it once the store has; on a
    /// conflict it takes in the store's version instead.
    pub fn write_as(&self, py: Python<'_>, history: Option<Base>, from: usize) -> PyResult<()> {
        let base = lock(&self.state).stamp.version;
        self.write_on(py, history, from, base)
    }

    /// `write_as`, on top of version `base`.
    fn write_on(
        &self,
        py: Python<'_>,
        history: Option<Base>,
        from: usize,
        base: u64,
    ) -> PyResult<()> {
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
            .map(|w| Write { base, ..w })
        };
        let fail = |f: Failure| f.info(&link.name(), &self.id).into_pyerr(py);
        let (outcome, doubt) = match write {
            Ok(w) => {
                let doubt = Doubt::of(&w);
                (link.save(py, w)?, Some(doubt))
            }
            Err(f) => (Err(f), None),
        };
        match outcome {
            Ok(written) => {
                let mut state = lock(&self.state);
                if let Some(history) = history {
                    state.history = history;
                }
                state.stamp.version = written.version;
                state.stamp.updated = written.updated;
                state.stamp.doubt = None;
                Ok(())
            }
            Err(f @ Failure::Down { .. }) => {
                lock(&self.state).stamp.doubt = doubt;
                Err(fail(f))
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
