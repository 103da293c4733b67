//! A conversation's settings and history, and where its turns begin. The history is a
//! shared snapshot (`Arc`): a turn builds on it without copying it, and a commit appends
//! in place. The public class is `fastconverse.Conversation`, which drives the turns.

mod changes;
mod start;
mod stored;
mod tokens;

pub use crate::turn::state::{lock, reload, taken, tick, undo_landed, State};
pub use start::PyStart;
use tokens::PyTokenCount;

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use aws_sdk_bedrockruntime::types as t;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::context::metrics::{Metrics, PyConversationMetrics};
use crate::history::{self, unanswered};
use crate::reply::{PyReply, PyUsage, Tokens};
use crate::runtime::{self, Bridge, Finisher};
use crate::settings::{parse_choice, TurnSettings};
use crate::store::link::{Link, Stamp};
use crate::turn::io::Backend;
use crate::turn::machine::{Base, Machine, Setup};
use crate::turn::py::PyTurn;
use crate::turn::TurnGuard;
use crate::wire::document::document_to_py;
use crate::wire::response;

/// The native half of a conversation: settings, history, usage and the busy flag.
#[pyclass(name = "ConversationCore", module = "fastconverse._core", frozen)]
pub struct PyConversationCore {
    id: String,
    backend: Backend,
    /// Replaced whole when `use_tools` gives the conversation other tools.
    setup: Mutex<Arc<Setup>>,
    state: Arc<Mutex<State>>,
    busy: Arc<AtomicU64>,
    /// The `select` of a Python memory policy (traversed: it may hold anything).
    select: Option<Py<PyAny>>,
    link: Option<Arc<Link>>,
}

/// Where a new conversation's state comes from: nothing, given messages, or the store.
pub struct Start {
    pub history: Base,
    pub usage: Tokens,
    pub stamp: Stamp,
    pub link: Option<Arc<Link>>,
}

impl PyConversationCore {
    pub fn new(
        id: String,
        model_id: String,
        backend: Backend,
        setup: Setup,
        start: Start,
        select: Option<Py<PyAny>>,
    ) -> Self {
        Self {
            id,
            backend,
            setup: Mutex::new(Arc::new(setup)),
            select,
            link: start.link,
            state: Arc::new(Mutex::new(State {
                history: start.history,
                context: None,
                metrics: Metrics::default(),
                model_id,
                usage: start.usage,
                last_reply: None,
                last_active: tick(),
                stamp: start.stamp,
            })),
            busy: Arc::new(AtomicU64::new(0)),
        }
    }

    /// The settings turns begin with now.
    pub fn setup(&self) -> Arc<Setup> {
        self.setup.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn turn(&self, py: Python<'_>, guard: TurnGuard, machine: Machine) -> PyTurn {
        let select = self.select.as_ref().map(|s| s.clone_ref(py));
        PyTurn::new(
            machine,
            guard,
            self.state.clone(),
            self.backend.clone(),
            select,
            self.link.clone(),
        )
    }
}

#[pymethods]
impl PyConversationCore {
    /// Checks a turn's input now; the turn begins with `_Start.begin()`.
    #[pyo3(signature = (message, tool_choice = None, inference_config = None, additional_model_request_fields = None, *, model_id = None, additional_model_response_field_paths = None, output = None, system = None, service_tier = None, performance_config = None, request_metadata = None))]
    #[allow(clippy::too_many_arguments)]
    fn prepare(
        slf: Py<Self>,
        message: &Bound<'_, PyAny>,
        tool_choice: Option<&Bound<'_, PyAny>>,
        inference_config: Option<&Bound<'_, PyAny>>,
        additional_model_request_fields: Option<&Bound<'_, PyAny>>,
        model_id: Option<&str>,
        additional_model_response_field_paths: Option<&Bound<'_, PyAny>>,
        output: Option<&Bound<'_, PyAny>>,
        system: Option<&Bound<'_, PyAny>>,
        service_tier: Option<&Bound<'_, PyAny>>,
        performance_config: Option<&Bound<'_, PyAny>>,
        request_metadata: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyStart> {
        let turn = TurnSettings {
            inference_config,
            fields: additional_model_request_fields,
            model_id,
            response_paths: additional_model_response_field_paths,
            output_tool: output,
            system,
            service_tier,
            performance_config,
            request_metadata,
        };
        let input = slf.get().input(message, tool_choice, &turn)?;
        Ok(PyStart::new(slf, input))
    }

    /// Begins a turn that sends `message`: marks the conversation busy and takes the
    /// history it builds on.
    #[pyo3(signature = (message, tool_choice = None, inference_config = None, additional_model_request_fields = None, *, model_id = None, additional_model_response_field_paths = None, output = None, system = None, service_tier = None, performance_config = None, request_metadata = None))]
    #[allow(clippy::too_many_arguments)]
    fn begin(
        &self,
        py: Python<'_>,
        message: &Bound<'_, PyAny>,
        tool_choice: Option<&Bound<'_, PyAny>>,
        inference_config: Option<&Bound<'_, PyAny>>,
        additional_model_request_fields: Option<&Bound<'_, PyAny>>,
        model_id: Option<&str>,
        additional_model_response_field_paths: Option<&Bound<'_, PyAny>>,
        output: Option<&Bound<'_, PyAny>>,
        system: Option<&Bound<'_, PyAny>>,
        service_tier: Option<&Bound<'_, PyAny>>,
        performance_config: Option<&Bound<'_, PyAny>>,
        request_metadata: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyTurn> {
        let turn = TurnSettings {
            inference_config,
            fields: additional_model_request_fields,
            model_id,
            response_paths: additional_model_response_field_paths,
            output_tool: output,
            system,
            service_tier,
            performance_config,
            request_metadata,
        };
        let (user, choice, setup) = self.input(message, tool_choice, &turn)?;
        self.begin_checked(py, user, choice, setup)
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
        let given = history::given_results(results)?;
        let setup = self.setup();
        let guard = TurnGuard::acquire(&self.busy, &self.id).map_err(|e| e.into_pyerr(py))?;
        self.refresh(py)?;
        let state = lock(&self.state);
        let open = unanswered(&state.history.messages[state.history.start..]);
        let (calls, slots) = history::answer_slots(&open, given, &setup.callable)?;
        let machine = Machine::answering(
            setup,
            state.history.clone(),
            state.model_id.clone(),
            calls,
            slots,
            choice,
        );
        drop(state);
        Ok(self.turn(py, guard, machine))
    }

    /// Gives the conversation these tools (boto3 toolSpec dicts; `callable`: those the
    /// loop calls) for this and later turns: later requests still carry the history's tool
    /// blocks, which Bedrock takes only with a toolConfig.
    #[pyo3(signature = (tools, callable, max_tool_rounds, tool_choice = None))]
    fn use_tools(
        &self,
        py: Python<'_>,
        tools: &Bound<'_, PyAny>,
        callable: Vec<String>,
        max_tool_rounds: u32,
        tool_choice: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        self.give_tools(py, tools, callable, max_tool_rounds, tool_choice)
    }

    /// Takes in the store's newer version now, unless a turn is under way (which does so
    /// when it begins); a conversation not in a store has nothing to do.
    fn sync(&self, py: Python<'_>) -> PyResult<()> {
        match TurnGuard::acquire(&self.busy, &self.id) {
            Ok(_guard) => self.refresh(py),
            Err(_) => Ok(()),
        }
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

    /// Replaces the metadata (a dict of JSON values); in a store, written at once.
    fn set_metadata(&self, py: Python<'_>, metadata: &Bound<'_, PyAny>) -> PyResult<()> {
        self.replace_metadata(py, metadata)
    }

    #[setter]
    fn set_model_id(&self, py: Python<'_>, value: Option<String>) -> PyResult<()> {
        self.switch_model(py, value)
    }

    #[getter]
    fn system_prompt(&self) -> Option<String> {
        self.setup().system_prompt.clone()
    }

    /// Sets the system prompt of the next turns (`stored`: its JSON, for a store).
    fn set_system_prompt(
        &self,
        py: Python<'_>,
        value: &Bound<'_, PyAny>,
        stored: &str,
    ) -> PyResult<()> {
        self.replace_system(py, value, stored)
    }

    /// `{"service_tier", "performance_config", "request_metadata"}` of every request.
    #[getter]
    fn serving<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        self.setup().serving.to_py(py)
    }

    #[getter]
    fn guardrail_config<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        self.setup()
            .guardrail
            .as_ref()
            .map(|g| g.to_py(py))
            .transpose()
    }

    #[getter]
    fn inference_config<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        self.setup()
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
        self.setup()
            .fields
            .as_ref()
            .map(|f| document_to_py(py, f))
            .transpose()
    }

    /// The history the next request builds on, as boto3 message dicts (a copy).
    #[getter]
    fn messages<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let (snapshot, start) = {
            let state = lock(&self.state);
            (state.history.messages.clone(), state.history.start)
        };
        response::message_list(py, &snapshot[start..])
    }

    /// Everything said in the conversation, including what its memory policy no longer sends.
    #[getter]
    fn transcript<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let snapshot = lock(&self.state).history.messages.clone();
        response::message_list(py, &snapshot)
    }

    /// The summary of the turns `Summarizing` folded away, or None.
    #[getter]
    fn summary(&self) -> Option<String> {
        lock(&self.state)
            .history
            .summary
            .as_deref()
            .map(str::to_owned)
    }

    /// The size of the next request's prompt without a new message: exact from the last
    /// reply's input and cache tokens, plus the estimate of what was appended since.
    #[getter]
    fn context_tokens(&self) -> u64 {
        let state = lock(&self.state);
        let h = &state.history;
        match state.context {
            Some((prompt, covered)) if covered <= h.tokens.len() => {
                prompt
                    + h.tokens[covered..]
                        .iter()
                        .map(|&n| u64::from(n))
                        .sum::<u64>()
            }
            _ => tokens::estimate(&self.setup(), h),
        }
    }

    /// The next request's prompt size from Bedrock's CountTokens (without a new message);
    /// where the model cannot count, the estimate, marked `exact=False`.
    fn count_tokens(&self, py: Python<'_>) -> PyResult<PyTokenCount> {
        match self.count_future() {
            Err(estimate) => Ok(estimate),
            Ok(fut) => runtime::wait(py, fut)?.map_err(|e| e.into_pyerr(py)),
        }
    }

    /// `count_tokens` as an awaitable.
    fn count_tokens_async(&self) -> Bridge {
        match self.count_future() {
            Err(estimate) => Bridge::value(Python::attach(|py| {
                Py::new(py, estimate).map(|c| c.into_any())
            })),
            Ok(fut) => Bridge::spawn(async move {
                let out = fut.await;
                Box::new(move |py: Python<'_>| match out {
                    Ok(count) => Ok(Py::new(py, count)?.into_any()),
                    Err(e) => Err(e.into_pyerr(py)),
                }) as Finisher
            }),
        }
    }

    /// Tokens by model id (summaries under the model that wrote them), as `Usage` objects.
    #[getter]
    fn usage_by_model<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let by_model = lock(&self.state).metrics.by_model.clone();
        let d = PyDict::new(py);
        for (model, tokens) in by_model {
            d.set_item(model, PyUsage(tokens))?;
        }
        Ok(d)
    }

    #[getter]
    fn metrics(&self) -> PyConversationMetrics {
        let state = lock(&self.state);
        state
            .metrics
            .snapshot(state.usage, state.history.messages.len())
    }

    /// Where cache points go: a list of "system", "tools", "history".
    #[getter]
    fn cache(&self) -> Vec<String> {
        self.setup().cache.names()
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
        if let Some(select) = &self.select {
            visit.call(select)?;
        }
        if let Ok(state) = self.state.try_lock() {
            if let Some(reply) = &state.last_reply {
                visit.call(reply)?;
            }
        }
        Ok(())
    }

    #[getter]
    fn busy(&self) -> bool {
        crate::turn::TurnGuard::is_busy(&self.busy)
    }

    /// `(version, created, updated, metadata, messages)`: what a store knows of it
    /// (version 0: not stored), and how many messages the transcript has.
    #[getter]
    fn stamp<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, pyo3::types::PyTuple>> {
        let (stamp, count) = {
            let state = lock(&self.state);
            (state.stamp.clone(), state.history.messages.len())
        };
        let metadata = serde_json::Value::Object((*stamp.metadata).clone());
        let metadata = crate::wire::json::to_py(py, &metadata)?;
        (stamp.version, stamp.created, stamp.updated, metadata, count).into_pyobject(py)
    }

    /// The store the conversation is written to, described (None: memory only).
    #[getter]
    fn store(&self) -> Option<String> {
        self.link.as_ref().map(|l| l.name())
    }

    #[getter]
    fn last_active(&self) -> u64 {
        lock(&self.state).last_active
    }

    /// Forgets the history (and the last reply); usage keeps counting.
    fn reset(&self, py: Python<'_>) -> PyResult<()> {
        self.forget(py)
    }

    /// The tool uses of the last reply that wait for results, as `toolUse` dicts.
    #[getter]
    fn pending_tool_calls<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let snapshot = lock(&self.state).history.messages.clone();
        let list = PyList::empty(py);
        for u in unanswered(&snapshot) {
            let block = t::ContentBlock::ToolUse(u.clone());
            list.append(response::content_block(py, &block)?.get_item("toolUse")?)?;
        }
        Ok(list)
    }

    fn __len__(&self) -> usize {
        let state = lock(&self.state);
        state.history.messages.len() - state.history.start
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyConversationCore>()?;
    m.add_class::<PyTokenCount>()?;
    m.add_class::<PyStart>()
}
