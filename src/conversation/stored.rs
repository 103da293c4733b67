//! A conversation and its store: taking in the store's newer version before a turn (another
//! worker's turns), and writing the conversation as it is (when created, after a reset).

use pyo3::prelude::*;

use super::{lock, PyConversationCore, State};
use crate::store::link::{taken, Snapshot};
use crate::store::{Failure, Record};

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

    /// Writes the conversation as it is (a new conversation, or after a reset): `from` is
    /// the first message the write replaces.
    pub fn write_now(&self, py: Python<'_>, from: usize) -> PyResult<()> {
        let Some(link) = &self.link else {
            return Ok(());
        };
        let write = {
            let state = lock(&self.state);
            let snap = Snapshot {
                model_id: &state.model_id,
                history: &state.history,
                usage: state.usage,
                stamp: &state.stamp,
            };
            let added = &state.history.messages[from..];
            link.write(
                &snap,
                added,
                state.history.start,
                state.history.summary.as_deref(),
                state.usage,
                from,
            )
        };
        let fail = |f: Failure| f.info(&link.name(), &self.id).into_pyerr(py);
        let version = link.save(py, write.map_err(fail)?)?.map_err(fail)?;
        let mut state = lock(&self.state);
        state.stamp.version = version;
        state.stamp.updated = crate::store::now();
        Ok(())
    }
}
