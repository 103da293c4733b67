//! A conversation and its store: taking in the store's newer version before a turn (another
//! worker's turns), and writing the conversation as it is (when created, after a reset).

use std::sync::Arc;

use pyo3::prelude::*;

use super::PyConversationCore;
use crate::store::link::Doubt;
use crate::store::Failure;
use crate::turn::machine::{Base, Setup};
use crate::turn::state::{lock, reload, state_write, undo_landed};

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
                    self.take_system(py, &record.head.settings)?;
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
                        self.take_system(py, &record.head.settings)?;
                        reload(&mut lock(&self.state), record);
                    }
                }
                Err(fail(f))
            }
            Err(f) => Err(fail(f)),
        }
    }

    /// Takes in the system prompt another worker set (`conv.system_prompt = ...`), kept in
    /// the stored settings as it was given.
    pub(super) fn take_system(&self, py: Python<'_>, stored: &serde_json::Value) -> PyResult<()> {
        let Some(link) = &self.link else {
            return Ok(());
        };
        let theirs = stored
            .get("system_prompt")
            .cloned()
            .unwrap_or(serde_json::Value::Null);
        let mut ours = link.settings.lock().unwrap_or_else(|e| e.into_inner());
        if ours
            .get("system_prompt")
            .unwrap_or(&serde_json::Value::Null)
            == &theirs
        {
            return Ok(());
        }
        let value = crate::wire::json::to_py(py, &theirs)?;
        let mut setup = Setup::clone(&self.setup());
        (setup.system, setup.system_prompt) = if theirs.is_null() {
            (Vec::new(), None)
        } else {
            crate::settings::system_from(&value, "system_prompt")?
        };
        setup.fixed_tokens = setup.estimate_fixed();
        if let serde_json::Value::Object(m) = &mut *ours {
            m.insert("system_prompt".into(), theirs);
        }
        *self.setup.lock().unwrap_or_else(|e| e.into_inner()) = Arc::new(setup);
        Ok(())
    }
}
