//! A conversation's settings and history, and where its turns begin. The history is a
//! shared snapshot (`Arc`): a turn builds on it without copying it, and a commit appends
//! in place. The public class is `fastconverse.Conversation`, which drives the turns.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use aws_sdk_bedrockruntime::types as t;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};

use crate::errors::ErrorInfo;
use crate::history::{self, unanswered};
use crate::reply::{PyReply, PyUsage, Tokens};
use crate::turn::io::Backend;
use crate::turn::machine::{Machine, Setup};
use crate::turn::py::PyTurn;
use crate::turn::TurnGuard;
use crate::wire::document::document_to_py;
use crate::wire::pyobj::{as_list, py_repr, value_error, Obj};
use crate::wire::{request, response};

/// Orders conversations by their last activity.
static CLOCK: AtomicU64 = AtomicU64::new(0);

pub fn tick() -> u64 {
    CLOCK.fetch_add(1, Ordering::Relaxed) + 1
}

pub struct State {
    pub messages: Arc<Vec<t::Message>>,
    pub model_id: String,
    pub usage: Tokens,
    /// Holds no Python object of its own (a Reply is plain data): no cycle can pass here.
    pub last_reply: Option<Py<PyReply>>,
    pub last_active: u64,
}

pub fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    // Note: no code panics while holding the lock; recover the data if one ever did.
    state.lock().unwrap_or_else(|e| e.into_inner())
}

/// The native half of a conversation: settings, history, usage and the busy flag.
#[pyclass(name = "ConversationCore", module = "fastconverse._core", frozen)]
pub struct PyConversationCore {
    id: String,
    backend: Backend,
    setup: Arc<Setup>,
    state: Arc<Mutex<State>>,
    busy: Arc<AtomicU64>,
}

/// A request's `toolChoice`, as boto3's dict (None: the conversation's own).
fn parse_choice(choice: Option<&Bound<'_, PyAny>>) -> PyResult<Option<t::ToolChoice>> {
    choice
        .filter(|c| !c.is_none())
        .map(|c| request::tool_choice(&Obj::new(c, "tool_choice")?))
        .transpose()
}

impl PyConversationCore {
    pub fn new(
        id: String,
        model_id: String,
        backend: Backend,
        setup: Setup,
        messages: Vec<t::Message>,
    ) -> Self {
        Self {
            id,
            backend,
            setup: Arc::new(setup),
            state: Arc::new(Mutex::new(State {
                messages: Arc::new(messages),
                model_id,
                usage: Tokens::default(),
                last_reply: None,
                last_active: tick(),
            })),
            busy: Arc::new(AtomicU64::new(0)),
        }
    }

    fn turn(&self, guard: TurnGuard, machine: Machine) -> PyTurn {
        PyTurn::new(machine, guard, self.state.clone(), self.backend.clone())
    }

    fn pending_error(open: &[&t::ToolUseBlock]) -> Box<ErrorInfo> {
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
}

/// A turn's input, checked, waiting to begin (an async turn begins when awaited).
#[pyclass(name = "_Start", module = "fastconverse._core", frozen)]
pub struct PyStart {
    core: Py<PyConversationCore>,
    input: Mutex<Option<(t::Message, Option<t::ToolChoice>)>>,
}

#[pymethods]
impl PyStart {
    /// Begins the turn (once).
    fn begin(&self, py: Python<'_>) -> PyResult<PyTurn> {
        let input = self.input.lock().unwrap_or_else(|e| e.into_inner()).take();
        let (user, choice) = input.ok_or_else(|| {
            pyo3::exceptions::PyRuntimeError::new_err("this turn has already begun")
        })?;
        self.core.get().begin_checked(py, user, choice)
    }
}

impl PyConversationCore {
    fn begin_checked(
        &self,
        py: Python<'_>,
        user: t::Message,
        choice: Option<t::ToolChoice>,
    ) -> PyResult<PyTurn> {
        let guard = TurnGuard::acquire(&self.busy, &self.id).map_err(|e| e.into_pyerr(py))?;
        let state = lock(&self.state);
        let open = unanswered(&state.messages);
        let answers = user
            .content()
            .iter()
            .any(|b| matches!(b, t::ContentBlock::ToolResult(_)));
        if !open.is_empty() && !answers {
            return Err(Self::pending_error(&open).into_pyerr(py));
        }
        let machine = Machine::new(
            self.setup.clone(),
            state.messages.clone(),
            state.model_id.clone(),
            user,
            choice,
        );
        drop(state);
        Ok(self.turn(guard, machine))
    }
}

#[pymethods]
impl PyConversationCore {
    /// Checks a turn's input now; the turn begins with `_Start.begin()`.
    #[pyo3(signature = (message, tool_choice = None))]
    fn prepare(
        slf: Py<Self>,
        message: &Bound<'_, PyAny>,
        tool_choice: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyStart> {
        let user = history::user_message(message)?;
        let choice = parse_choice(tool_choice)?;
        Ok(PyStart {
            core: slf,
            input: Mutex::new(Some((user, choice))),
        })
    }

    /// Begins a turn that sends `message`: marks the conversation busy and takes the
    /// history it builds on.
    #[pyo3(signature = (message, tool_choice = None))]
    fn begin(
        &self,
        py: Python<'_>,
        message: &Bound<'_, PyAny>,
        tool_choice: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyTurn> {
        let user = history::user_message(message)?;
        let choice = parse_choice(tool_choice)?;
        self.begin_checked(py, user, choice)
    }

    /// Begins a turn that answers the open tool uses: `results` maps tool use ids to
    /// `toolResult` block dicts; the calls it leaves out must have a function (the turn
    /// runs them first). Checked under the turn's guard, before any tool runs.
    #[pyo3(signature = (results, tool_choice = None))]
    fn begin_results(
        &self,
        py: Python<'_>,
        results: &Bound<'_, PyDict>,
        tool_choice: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyTurn> {
        let choice = parse_choice(tool_choice)?;
        let mut given: HashMap<String, t::ContentBlock> = HashMap::new();
        for (key, value) in results.iter() {
            let id: String = key.extract().map_err(|_| {
                pyo3::exceptions::PyTypeError::new_err(format!(
                    "results: expected str tool use ids as keys, got {}",
                    key.get_type()
                        .name()
                        .map(|n| n.to_string())
                        .unwrap_or_default()
                ))
            })?;
            let block = request::content_block(&value, &format!("results[{}]", py_repr(&id)))?;
            given.insert(id, block);
        }
        let guard = TurnGuard::acquire(&self.busy, &self.id).map_err(|e| e.into_pyerr(py))?;
        let state = lock(&self.state);
        let open = unanswered(&state.messages);
        if open.is_empty() {
            return Err(value_error(
                "results",
                "the last reply asked for no tools; there is nothing to answer",
            ));
        }
        let waiting = || {
            open.iter()
                .map(|c| py_repr(c.tool_use_id()))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut unknown: Vec<&String> = given
            .keys()
            .filter(|id| !open.iter().any(|c| c.tool_use_id() == id.as_str()))
            .collect();
        unknown.sort();
        if let Some(id) = unknown.first() {
            return Err(value_error(
                "results",
                format!(
                    "{} is not a tool use waiting for a result; waiting: {}",
                    py_repr(id),
                    waiting()
                ),
            ));
        }
        let missing: Vec<String> = open
            .iter()
            .filter(|c| {
                !given.contains_key(c.tool_use_id()) && !self.setup.callable.contains(c.name())
            })
            .map(|c| format!("{} ({})", c.name(), py_repr(c.tool_use_id())))
            .collect();
        if !missing.is_empty() {
            return Err(value_error(
                "results",
                format!("missing the results of {}", missing.join(", ")),
            ));
        }
        let calls: Vec<t::ToolUseBlock> = open.iter().map(|c| (*c).clone()).collect();
        let slots = calls
            .iter()
            .map(|c| given.remove(c.tool_use_id()))
            .collect();
        let machine = Machine::answering(
            self.setup.clone(),
            state.messages.clone(),
            state.model_id.clone(),
            calls,
            slots,
            choice,
        );
        drop(state);
        Ok(self.turn(guard, machine))
    }

    #[getter]
    fn id(&self) -> &str {
        &self.id
    }

    /// The model of the next turn; assign to switch models mid-conversation.
    #[getter]
    fn model_id(&self) -> String {
        lock(&self.state).model_id.clone()
    }

    #[setter]
    fn set_model_id(&self, value: Option<String>) -> PyResult<()> {
        match value {
            Some(v) if !v.trim().is_empty() => {
                lock(&self.state).model_id = v;
                Ok(())
            }
            _ => Err(PyValueError::new_err(
                "model_id: expected a non-empty model id or inference profile",
            )),
        }
    }

    #[getter]
    fn system_prompt(&self) -> Option<&str> {
        self.setup.system_prompt.as_deref()
    }

    #[getter]
    fn inference_config<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        self.setup
            .inference
            .as_ref()
            .map(|c| response::inference_config(py, c))
            .transpose()
    }

    #[getter]
    fn additional_model_request_fields<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.setup
            .fields
            .as_ref()
            .map(|f| document_to_py(py, f))
            .transpose()
    }

    /// The history as boto3 message dicts (a copy: changing it changes nothing here).
    #[getter]
    fn messages<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let snapshot = lock(&self.state).messages.clone();
        response::message_list(py, &snapshot)
    }

    #[getter]
    fn usage(&self) -> PyUsage {
        PyUsage(lock(&self.state).usage)
    }

    #[getter]
    fn last_reply(&self, py: Python<'_>) -> Option<Py<PyReply>> {
        lock(&self.state)
            .last_reply
            .as_ref()
            .map(|r| r.clone_ref(py))
    }

    fn __traverse__(&self, visit: pyo3::PyVisit<'_>) -> Result<(), pyo3::PyTraverseError> {
        if let Ok(state) = self.state.try_lock() {
            if let Some(reply) = &state.last_reply {
                visit.call(reply)?;
            }
        }
        Ok(())
    }

    #[getter]
    fn busy(&self) -> bool {
        self.busy.load(Ordering::Acquire) != 0
    }

    #[getter]
    fn last_active(&self) -> u64 {
        lock(&self.state).last_active
    }

    /// Forgets the history (and the last reply); usage keeps counting.
    fn reset(&self, py: Python<'_>) -> PyResult<()> {
        let _guard = TurnGuard::acquire(&self.busy, &self.id).map_err(|e| e.into_pyerr(py))?;
        let mut state = lock(&self.state);
        state.messages = Arc::new(Vec::new());
        state.last_reply = None;
        state.last_active = tick();
        Ok(())
    }

    /// The tool uses of the last reply that wait for results, as `toolUse` dicts.
    #[getter]
    fn pending_tool_calls<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let snapshot = lock(&self.state).messages.clone();
        let list = PyList::empty(py);
        for u in unanswered(&snapshot) {
            let block = t::ContentBlock::ToolUse(u.clone());
            list.append(response::content_block(py, &block)?.get_item("toolUse")?)?;
        }
        Ok(list)
    }

    fn __len__(&self) -> usize {
        lock(&self.state).messages.len()
    }
}

/// `create_conversation`'s arguments, checked.
pub fn setup_from(
    system_prompt: Option<&Bound<'_, PyAny>>,
    inference_config: Option<&Bound<'_, PyAny>>,
    fields: Option<&Bound<'_, PyAny>>,
) -> PyResult<Setup> {
    let mut setup = Setup::default();
    if let Some(sp) = system_prompt.filter(|s| !s.is_none()) {
        if let Ok(text) = sp.cast::<PyString>() {
            let text = text.to_cow()?.into_owned();
            if text.trim().is_empty() {
                return Err(value_error(
                    "system_prompt",
                    "must not be blank (pass None for no system prompt)",
                ));
            }
            setup.system = vec![t::SystemContentBlock::Text(text.clone())];
            setup.system_prompt = Some(text);
        } else {
            setup.system = as_list(sp, "system_prompt")?
                .iter()
                .enumerate()
                .map(|(i, b)| request::system_block(b, &format!("system_prompt[{i}]")))
                .collect::<PyResult<_>>()?;
            let text: Vec<&str> = setup
                .system
                .iter()
                .filter_map(|b| match b {
                    t::SystemContentBlock::Text(s) => Some(s.as_str()),
                    _ => None,
                })
                .collect();
            setup.system_prompt = (!text.is_empty()).then(|| text.join("\n"));
        }
    }
    if let Some(c) = inference_config.filter(|c| !c.is_none()) {
        setup.inference = Some(request::inference_config(&Obj::new(
            c,
            "inference_config",
        )?)?);
    }
    if let Some(f) = fields.filter(|f| !f.is_none()) {
        setup.fields = Some(crate::wire::document::py_to_document(
            f,
            "additional_model_request_fields",
        )?);
    }
    Ok(setup)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyConversationCore>()?;
    m.add_class::<PyStart>()
}
