//! How a turn begins: its input checked at once, the turn begun under the conversation's
//! busy flag (at once for `send`, when awaited for `send_async`).

use std::sync::{Arc, Mutex};

use aws_sdk_bedrockruntime::types as t;
use pyo3::prelude::*;

use super::{lock, PyConversationCore};
use crate::errors::ErrorInfo;
use crate::history::unanswered;
use crate::turn::machine::{Machine, Setup};
use crate::turn::py::PyTurn;
use crate::turn::TurnGuard;
use crate::wire::pyobj::py_repr;

/// A turn's user message, tool choice and settings.
pub type Input = (t::Message, Option<t::ToolChoice>, Arc<Setup>);

/// A turn's input, checked, waiting to begin (an async turn begins when awaited).
#[pyclass(name = "_Start", module = "fastconverse._core", frozen)]
pub struct PyStart {
    core: Py<PyConversationCore>,
    input: Mutex<Option<Input>>,
}

impl PyStart {
    pub fn new(core: Py<PyConversationCore>, input: Input) -> Self {
        Self {
            core,
            input: Mutex::new(Some(input)),
        }
    }
}

#[pymethods]
impl PyStart {
    /// Begins the turn (once).
    fn begin(&self, py: Python<'_>) -> PyResult<PyTurn> {
        let input = self.input.lock().unwrap_or_else(|e| e.into_inner()).take();
        let (user, choice, setup) = input.ok_or_else(|| {
            pyo3::exceptions::PyRuntimeError::new_err("this turn has already begun")
        })?;
        self.core.get().begin_checked(py, user, choice, setup)
    }
}

impl PyConversationCore {
    pub(super) fn pending_error(open: &[&t::ToolUseBlock]) -> Box<ErrorInfo> {
        let calls: Vec<String> = open
            .iter()
            .map(|u| format!("{} ({})", u.name(), py_repr(u.tool_use_id())))
            .collect();
        Box::new(
            ErrorInfo::new(
                "PendingToolCallsError",
                format!(
                    "the last reply asked for tool results that were not given: {}",
                    calls.join(", ")
                ),
            )
            .with_hint("Answer them with conversation.send_tool_results({tool_use_id: result, ...}) before sending a new message."),
        )
    }

    pub(super) fn begin_checked(
        &self,
        py: Python<'_>,
        user: t::Message,
        choice: Option<t::ToolChoice>,
        setup: Arc<Setup>,
    ) -> PyResult<PyTurn> {
        let guard = TurnGuard::acquire(&self.busy, &self.id).map_err(|e| e.into_pyerr(py))?;
        let before = self.setup();
        self.refresh(py)?;
        let setup = taken_in(setup, &before, self.setup());
        let state = lock(&self.state);
        let open = unanswered(&state.history.messages[state.history.start..]);
        let answers = user
            .content()
            .iter()
            .any(|b| matches!(b, t::ContentBlock::ToolResult(_)));
        if !open.is_empty() && !answers {
            return Err(Self::pending_error(&open).into_pyerr(py));
        }
        let model_id = setup
            .model
            .clone()
            .unwrap_or_else(|| state.model_id.clone());
        let machine = Machine::new(setup, state.history.clone(), model_id, user, choice);
        drop(state);
        Ok(self.turn(py, guard, machine))
    }
}

/// A turn's settings after `refresh` took in another worker's system prompt: the new one,
/// unless the turn has a system prompt of its own (`send(..., system=...)`).
fn taken_in(turn: Arc<Setup>, before: &Arc<Setup>, now: Arc<Setup>) -> Arc<Setup> {
    if Arc::ptr_eq(before, &now) {
        return turn;
    }
    if Arc::ptr_eq(&turn, before) {
        return now;
    }
    if turn.system != before.system {
        return turn;
    }
    let mut own = Setup::clone(&turn);
    own.system = now.system.clone();
    own.system_prompt = now.system_prompt.clone();
    own.fixed_tokens = own.estimate_fixed();
    Arc::new(own)
}

impl PyConversationCore {
    /// A turn's input checked: the user message, its tool choice, and its settings (the
    /// conversation's, with what the turn gives over them). `send` and `send_async` share it.
    pub(super) fn input(
        &self,
        message: &Bound<'_, PyAny>,
        tool_choice: Option<&Bound<'_, PyAny>>,
        turn: &crate::settings::TurnSettings<'_, '_>,
    ) -> PyResult<Input> {
        let user = crate::history::user_message(message)?;
        let choice = crate::settings::parse_choice(tool_choice)?;
        Ok((
            user,
            choice,
            crate::settings::for_turn(&self.setup(), turn)?,
        ))
    }
}
