//! A conversation and its store: taking in the store's newer version before a turn (another
//! worker's turns), and writing the conversation as it is (when created, after a reset).

use std::sync::{Arc, Mutex};

use pyo3::prelude::*;

use super::{lock, PyConversationCore, State};
use crate::reply::Tokens;
use crate::store::link::{Doubt, Link, Snapshot, Stamp};
use crate::store::record::head_of;
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
        doubts: Vec::new(),
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

/// A write of the conversation as `state` holds it (or with `history` instead), on top of
/// version `base`, from message `from` on.
fn state_write(
    state: &State,
    link: &Link,
    history: Option<&Base>,
    from: usize,
    base: u64,
) -> Result<Write, Failure> {
    let h = history.unwrap_or(&state.history);
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
}

/// Undoes a write reported as failed that landed after all (its answer was lost, the write
/// was not): when the store is one version past the conversation and its head carries the
/// id of one of the conversation's doubted writes, the conversation's own history is
/// written on top. Whether it undid one; errors are the store's.
pub fn undo_landed(py: Python<'_>, state: &Mutex<State>, link: &Link) -> PyResult<bool> {
    let (ours, doubts) = {
        let s = lock(state);
        (s.stamp.version, s.stamp.doubts.clone())
    };
    if doubts.is_empty() {
        return Ok(false);
    }
    let fail = |f: Failure| f.info(&link.name(), &link.id).into_pyerr(py);
    let Some((v, head)) = link.head(py)?.map_err(fail)? else {
        return Ok(false);
    };
    let landed = head_of(&head).is_ok_and(|h| doubts.iter().any(|d| d.marker == h.write));
    if v != ours + 1 || !landed {
        return Ok(false);
    }
    let write = {
        let s = lock(state);
        state_write(&s, link, None, s.history.messages.len(), v)
    };
    // Note: if this write's answer is lost too, it may land later: it holds only what the
    // conversation holds, so taking it in then is right.
    let written = link.save(py, write.map_err(fail)?)?.map_err(fail)?;
    let mut s = lock(state);
    s.stamp.version = written.version;
    s.stamp.updated = written.updated;
    s.stamp.doubts.clear();
    Ok(true)
}

impl PyConversationCore {
    /// Before a turn: takes in the store's newer version, if another worker wrote one, so
    /// that the turn continues the newest history instead of failing at its commit (a
    /// write of its own reported as failed that landed is undone instead).
    pub(super) fn refresh(&self, py: Python<'_>) -> PyResult<()> {
        let Some(link) = &self.link else {
            return Ok(());
        };
        let fail = |f: Failure| f.info(&link.name(), &self.id).into_pyerr(py);
        let ours = lock(&self.state).stamp.version;
        match link.version(py)?.map_err(fail)? {
            Some(v) if v == ours => Ok(()),
            Some(_) if undo_landed(py, &self.state, link)? => Ok(()),
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
    /// current model, usage and metadata: a new conversation (all of it), a reset (an
    /// empty history), a model switch or new metadata (no message). The conversation takes
    /// it once the store has; on a conflict it takes in the store's version instead.
    pub fn write_as(&self, py: Python<'_>, history: Option<Base>, from: usize) -> PyResult<()> {
        let Some(link) = &self.link else {
            if let Some(history) = history {
                lock(&self.state).history = history;
            }
            return Ok(());
        };
        let write = {
            let s = lock(&self.state);
            state_write(&s, link, history.as_ref(), from, s.stamp.version)
        };
        let fail = |f: Failure| f.info(&link.name(), &self.id).into_pyerr(py);
        let write = write.map_err(fail)?;
        let doubt = Doubt::of(&write);
        match link.save(py, write)? {
            Ok(written) => {
                let mut state = lock(&self.state);
                if let Some(history) = history {
                    state.history = history;
                }
                state.stamp.version = written.version;
                state.stamp.updated = written.updated;
                state.stamp.doubts.clear();
                Ok(())
            }
            Err(f @ Failure::Down { .. }) => {
                lock(&self.state).stamp.doubts.push(doubt);
                Err(fail(f))
            }
            Err(f @ Failure::Conflict { .. }) => {
                if !undo_landed(py, &self.state, link).unwrap_or(false) {
                    if let Ok(Ok(Some(record))) = link.reload(py) {
                        reload(&mut lock(&self.state), record);
                    }
                }
                Err(fail(f))
            }
            Err(f) => Err(fail(f)),
        }
    }
}
