//! What changes a conversation outside a turn: its tools, its metadata, its model, a
//! reset. Each takes the conversation's busy flag like a turn; in a store, each is written
//! at once (a change the store refuses is not made).

use std::sync::Arc;

use aws_sdk_bedrockruntime::types as t;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use super::{lock, tick, PyConversationCore, State};
use crate::turn::machine::{Base, Setup};
use crate::turn::TurnGuard;

impl PyConversationCore {
    /// Makes a change (`change` returns how to take it back) and writes it to the store
    /// at once. A write the store refuses takes the change back, unless the conversation
    /// took in the store's version meanwhile (a conflict): that version stands.
    fn switched(
        &self,
        py: Python<'_>,
        change: impl FnOnce(&mut State) -> Box<dyn FnOnce(&mut State)>,
    ) -> PyResult<()> {
        let (undo, version, len) = {
            let mut state = lock(&self.state);
            let undo = change(&mut state);
            (undo, state.stamp.version, state.history.messages.len())
        };
        self.write_as(py, None, len).inspect_err(|_| {
            let mut state = lock(&self.state);
            if state.stamp.version == version {
                undo(&mut state);
            }
        })
    }

    /// Gives the conversation these tools for this and later turns.
    pub(super) fn give_tools(
        &self,
        py: Python<'_>,
        tools: &Bound<'_, PyAny>,
        callable: Vec<String>,
        max_tool_rounds: u32,
        tool_choice: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let _guard = TurnGuard::acquire(&self.busy, &self.id).map_err(|e| e.into_pyerr(py))?;
        let mut setup = Setup::clone(&self.setup());
        crate::settings::add_tools(
            &mut setup,
            Some(tools),
            callable,
            max_tool_rounds,
            tool_choice,
        )?;
        setup.fixed_tokens = setup.estimate_fixed();
        if let Some(link) = &self.link {
            let names = setup.tools.iter().flatten().filter_map(|t| match t {
                t::Tool::ToolSpec(spec) => Some(spec.name().to_owned()),
                _ => None,
            });
            let choice = tool_choice
                .filter(|c| !c.is_none())
                .map(|c| crate::wire::document::py_to_document(c, "tool_choice"))
                .transpose()?
                .map(|d| crate::wire::document::document_to_json(&d));
            link.set_tools(names.collect(), choice, max_tool_rounds);
        }
        *self.setup.lock().unwrap_or_else(|e| e.into_inner()) = Arc::new(setup);
        Ok(())
    }

    pub(super) fn replace_metadata(
        &self,
        py: Python<'_>,
        metadata: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        if metadata.is_none() {
            return Err(pyo3::exceptions::PyTypeError::new_err(
                "metadata: expected a dict of JSON values (an empty dict clears it), got None",
            ));
        }
        let metadata = Arc::new(crate::wire::json::object_from_py(
            Some(metadata),
            "metadata",
        )?);
        let _guard = TurnGuard::acquire(&self.busy, &self.id).map_err(|e| e.into_pyerr(py))?;
        if self.link.is_none() {
            lock(&self.state).stamp.metadata = metadata;
            return Ok(());
        }
        self.refresh(py)?;
        self.switched(py, |state| {
            let before = std::mem::replace(&mut state.stamp.metadata, metadata);
            Box::new(move |state: &mut State| state.stamp.metadata = before)
        })
    }

    /// A new system prompt for the next turns (None: none); `stored`: its JSON, as the
    /// store keeps it. In a store it is written at once; a change the store refuses is not
    /// made. Refused while a turn is under way (`ConversationBusyError`).
    pub(super) fn replace_system(
        &self,
        py: Python<'_>,
        value: &Bound<'_, PyAny>,
        stored: &str,
    ) -> PyResult<()> {
        let (system, text) = if value.is_none() {
            (Vec::new(), None)
        } else {
            crate::settings::system_from(value, "system_prompt")?
        };
        let stored: serde_json::Value = serde_json::from_str(stored)
            .map_err(|e| PyValueError::new_err(format!("system_prompt: not JSON: {e}")))?;
        let before = self.setup();
        let mut setup = Setup::clone(&before);
        (setup.system, setup.system_prompt) = (system, text);
        setup.fixed_tokens = setup.estimate_fixed();
        // (refused during a turn, like a reset: a change made then would be lost if the
        // turn ended without a commit and another worker's prompt were taken in)
        let _guard = TurnGuard::acquire(&self.busy, &self.id).map_err(|e| e.into_pyerr(py))?;
        let Some(link) = &self.link else {
            *self.setup.lock().unwrap_or_else(|e| e.into_inner()) = Arc::new(setup);
            return Ok(());
        };
        self.refresh(py)?;
        let swap = |stored: serde_json::Value| {
            let mut settings = link.settings.lock().unwrap_or_else(|e| e.into_inner());
            match &mut *settings {
                serde_json::Value::Object(m) => m.insert("system_prompt".into(), stored),
                _ => None,
            }
        };
        let old = swap(stored);
        *self.setup.lock().unwrap_or_else(|e| e.into_inner()) = Arc::new(setup);
        self.switched(py, |_| Box::new(|_: &mut State| {}))
            .inspect_err(|_| {
                swap(old.unwrap_or(serde_json::Value::Null));
                *self.setup.lock().unwrap_or_else(|e| e.into_inner()) = before.clone();
            })
    }

    pub(super) fn switch_model(&self, py: Python<'_>, value: Option<String>) -> PyResult<()> {
        let model = match value {
            Some(v) if !v.trim().is_empty() => v,
            _ => {
                return Err(PyValueError::new_err(
                    "model_id: expected a non-empty model id or inference profile",
                ))
            }
        };
        // In a store, the switch is written at once (a turn under way writes it with its
        // commit); a switch the store refuses is not made.
        let guard = TurnGuard::acquire(&self.busy, &self.id).ok();
        if self.link.is_none() || guard.is_none() {
            lock(&self.state).model_id = model;
            return Ok(());
        }
        self.refresh(py)?;
        self.switched(py, |state| {
            let before = std::mem::replace(&mut state.model_id, model);
            Box::new(move |state: &mut State| state.model_id = before)
        })
    }

    /// Forgets the history (and the last reply); usage keeps counting.
    pub(super) fn forget(&self, py: Python<'_>) -> PyResult<()> {
        let _guard = TurnGuard::acquire(&self.busy, &self.id).map_err(|e| e.into_pyerr(py))?;
        self.refresh(py)?;
        // The store first: a reset it refuses leaves the conversation as it was.
        self.write_as(py, Some(Base::default()), 0)?;
        let mut state = lock(&self.state);
        state.context = None;
        state.last_reply = None;
        state.last_active = tick();
        Ok(())
    }
}
