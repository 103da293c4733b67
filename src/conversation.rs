//! `Conversation`: the history of one chat, and its turns (sync, async and streamed).
//!
//! Note: a turn works on a copy of the history and commits the user message and the reply
//! together, under one lock, only once the reply is complete and in the caller's hands; an
//! error, a cut stream, a cancelled task, Ctrl-C or an abandoned stream commit nothing.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use aws_sdk_bedrockruntime::operation::RequestId;
use aws_sdk_bedrockruntime::types as t;
use aws_smithy_types::Document;
use pyo3::exceptions::{PyStopAsyncIteration, PyStopIteration, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};

use crate::errors::{self, ErrorInfo};
use crate::events::{self, Assembler};
use crate::reply::{PyReply, PyUsage, ReplyData, Tokens};
use crate::runtime;
use crate::stream::{self, Item, Pump, PumpOptions, Started};
use crate::wire::document::document_to_py;
use crate::wire::pyobj::{as_list, py_repr, value_error, Obj};
use crate::wire::request;
use crate::wire::response;

/// What a conversation needs of its client (cheap to clone: the SDK client is an Arc).
#[derive(Clone)]
pub struct Backend {
    pub sdk: aws_sdk_bedrockruntime::Client,
    pub read_timeout: Duration,
    pub max_attempts: u32,
}

/// Orders conversations by their last activity.
static CLOCK: AtomicU64 = AtomicU64::new(0);

pub fn tick() -> u64 {
    CLOCK.fetch_add(1, Ordering::Relaxed) + 1
}

/// Settings fixed at creation.
pub struct Setup {
    pub system_prompt: Option<String>,
    pub system: Vec<t::SystemContentBlock>,
    pub inference: Option<t::InferenceConfiguration>,
    pub fields: Option<Document>,
    /// The tools of every request (toolConfig.tools), when the conversation has tools.
    pub tools: Option<Vec<t::Tool>>,
    /// The Python side of the tool loop (`fastconverse._toolloop.ToolBox`).
    pub toolbox: Option<Py<PyAny>>,
}

struct State {
    messages: Vec<t::Message>,
    model_id: String,
    usage: Tokens,
    last_reply: Option<Py<PyReply>>,
    last_active: u64,
}

/// Marks a conversation busy for the length of one turn; dropping it ends the turn. The
/// busy flag holds the turn's number, so that a late release of an ended turn cannot free
/// the conversation from under the next one.
struct TurnGuard {
    busy: Arc<AtomicU64>,
    turn: u64,
}

static TURNS: AtomicU64 = AtomicU64::new(0);

impl TurnGuard {
    fn acquire(busy: &Arc<AtomicU64>, id: &str) -> Result<Self, Box<ErrorInfo>> {
        let turn = TURNS.fetch_add(1, Ordering::Relaxed) + 1;
        busy.compare_exchange(0, turn, Ordering::AcqRel, Ordering::Acquire)
            .map(|_| Self {
                busy: busy.clone(),
                turn,
            })
            .map_err(|_| {
                Box::new(ErrorInfo::new(
                    "ConversationBusyError",
                    format!(
                        "conversation {} is already in a turn; turns of one conversation cannot overlap",
                        py_repr(id)
                    ),
                ))
            })
    }

    /// Ends the turn now, from another thread (the task holding the guard may be dropped
    /// later, as when a cancelled await aborts it).
    fn releaser(&self) -> impl FnOnce() + Send + 'static {
        let (busy, turn) = (self.busy.clone(), self.turn);
        move || {
            let _ = busy.compare_exchange(turn, 0, Ordering::AcqRel, Ordering::Acquire);
        }
    }
}

impl Drop for TurnGuard {
    fn drop(&mut self) {
        let _ = self
            .busy
            .compare_exchange(self.turn, 0, Ordering::AcqRel, Ordering::Acquire);
    }
}

/// A multi-turn conversation with one model at a time; create it with
/// `ConverseClient.create_conversation`.
#[pyclass(name = "Conversation", module = "fastconverse._core", frozen)]
pub struct PyConversation {
    id: String,
    backend: Backend,
    setup: Arc<Setup>,
    state: Arc<Mutex<State>>,
    busy: Arc<AtomicU64>,
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    // Note: no code panics while holding the lock; recover the data if one ever did.
    state.lock().unwrap_or_else(|e| e.into_inner())
}

/// Bedrock rejects blank text anywhere in the history.
fn check_text(message: &t::Message, path: &str) -> PyResult<()> {
    for (i, block) in message.content().iter().enumerate() {
        if let t::ContentBlock::Text(text) = block {
            if text.trim().is_empty() {
                return Err(value_error(
                    &format!("{path}.content[{i}].text"),
                    "must not be blank (Bedrock rejects blank text)",
                ));
            }
        }
    }
    if message.content().is_empty() {
        return Err(value_error(
            &format!("{path}.content"),
            "must hold at least one content block",
        ));
    }
    Ok(())
}

/// What `send` and `stream` take: text, a list of content blocks, or a user message dict.
fn user_message(input: &Bound<'_, PyAny>) -> PyResult<t::Message> {
    let message = if let Ok(text) = input.cast::<PyString>() {
        let text = text.to_cow()?.into_owned();
        if text.trim().is_empty() {
            return Err(value_error(
                "message",
                "must not be blank (Bedrock rejects blank text)",
            ));
        }
        t::Message::builder()
            .role(t::ConversationRole::User)
            .content(t::ContentBlock::Text(text))
            .build()
            .map_err(|e| value_error("message", e))?
    } else if input.cast::<PyDict>().is_ok() {
        let message = request::message(input, "message")?;
        if message.role() != &t::ConversationRole::User {
            return Err(value_error(
                "message.role",
                format!(
                    "a turn sends a 'user' message (the reply is the assistant's), got {:?}",
                    message.role().as_str()
                ),
            ));
        }
        message
    } else if input.cast::<PyList>().is_ok() || input.cast::<pyo3::types::PyTuple>().is_ok() {
        let content = as_list(input, "message")?
            .iter()
            .enumerate()
            .map(|(i, b)| request::content_block(b, &format!("message[{i}]")))
            .collect::<PyResult<Vec<_>>>()?;
        if content.is_empty() {
            return Err(value_error(
                "message",
                "must hold at least one content block",
            ));
        }
        t::Message::builder()
            .role(t::ConversationRole::User)
            .set_content(Some(content))
            .build()
            .map_err(|e| value_error("message", e))?
    } else {
        return Err(PyTypeError::new_err(format!(
            "message: expected a str, a list of content blocks or a message dict, got {}",
            input.get_type().name()?
        )));
    };
    check_text(&message, "message")?;
    Ok(message)
}

/// A history given at creation must be one Bedrock accepts as it is.
pub fn initial_history(messages: &Bound<'_, PyAny>) -> PyResult<Vec<t::Message>> {
    let list = as_list(messages, "messages")?;
    let mut out = Vec::with_capacity(list.len());
    for (i, m) in list.iter().enumerate() {
        let path = format!("messages[{i}]");
        let message = request::message(m, &path)?;
        let expected = if i % 2 == 0 {
            t::ConversationRole::User
        } else {
            t::ConversationRole::Assistant
        };
        if message.role() != &expected {
            return Err(value_error(
                &format!("{path}.role"),
                format!(
                    "expected {:?}: a history starts with a user message and alternates",
                    expected.as_str()
                ),
            ));
        }
        check_text(&message, &path)?;
        out.push(message);
    }
    if out.len() % 2 == 1 {
        return Err(value_error(
            "messages",
            "must end with an assistant message (the next turn adds the user's)",
        ));
    }
    Ok(out)
}

/// The reply as it goes into the history: blank text blocks (a model may end on one)
/// would make every later request fail, so they are left out. None when nothing is left.
fn for_history(message: &t::Message) -> Option<t::Message> {
    let content: Vec<_> = message
        .content()
        .iter()
        .filter(|b| !matches!(b, t::ContentBlock::Text(s) if s.trim().is_empty()))
        .cloned()
        .collect();
    if content.is_empty() {
        return None;
    }
    t::Message::builder()
        .role(t::ConversationRole::Assistant)
        .set_content(Some(content))
        .build()
        .ok()
}

/// Messages as boto3 message dicts.
fn message_list<'py>(py: Python<'py>, messages: &[t::Message]) -> PyResult<Bound<'py, PyList>> {
    let list = PyList::empty(py);
    for m in messages {
        list.append(response::message(py, m)?)?;
    }
    Ok(list)
}

/// One turn: the history it builds on and the messages it adds (the user's, and with tools
/// the model's tool uses and their results), committed together when the turn completes.
struct Turn {
    model_id: String,
    /// The history and this turn's messages: what the next request sends.
    messages: Vec<t::Message>,
    /// This turn's messages, from the user's on.
    pending: Vec<t::Message>,
    tool_config: Option<t::ToolConfiguration>,
    /// Tokens of the turn's requests so far.
    usage: Tokens,
    /// The reply of the turn's last request.
    last: Option<ReplyData>,
    guard: TurnGuard,
    state: Arc<Mutex<State>>,
}

impl Turn {
    fn push(&mut self, message: t::Message) {
        self.messages.push(message.clone());
        self.pending.push(message);
    }

    /// Takes in the reply of one request: its tokens, and its message unless it is blank.
    fn record(&mut self, reply: &ReplyData) {
        self.usage = self.usage + reply.usage;
        if let Some(answer) = for_history(&reply.message) {
            self.push(answer);
        }
        self.last = Some(reply.clone());
    }

    /// Appends the turn's messages to the history, in one step, and returns its reply with
    /// the tokens of all its requests. A turn whose last reply was blank adds no message.
    fn finish(mut self, py: Python<'_>) -> PyResult<Py<PyReply>> {
        let Some(mut reply) = self.last.take() else {
            return Err(pyo3::exceptions::PyRuntimeError::new_err(
                "the turn has no reply yet",
            ));
        };
        reply.usage = self.usage;
        let reply = Py::new(py, PyReply(reply))?;
        let complete = self
            .pending
            .last()
            .is_some_and(|m| m.role() == &t::ConversationRole::Assistant);
        let mut state = lock(&self.state);
        if complete {
            state.messages.append(&mut self.pending);
        }
        state.usage = state.usage + self.usage;
        state.last_reply = Some(reply.clone_ref(py));
        state.last_active = tick();
        drop(state);
        drop(self.guard);
        Ok(reply)
    }

    /// A turn of one request: its reply completes it.
    fn commit(mut self, py: Python<'_>, reply: ReplyData) -> PyResult<Py<PyReply>> {
        self.record(&reply);
        self.finish(py)
    }

    /// The request's tool configuration: the conversation's tools, with this choice.
    fn choose(&mut self, setup: &Setup, choice: Option<t::ToolChoice>) {
        self.tool_config = setup.tools.as_ref().map(|tools| {
            t::ToolConfiguration::builder()
                .set_tools(Some(tools.clone()))
                .set_tool_choice(choice)
                .build()
                .expect("tools are set")
        });
    }
}

/// The `toolUse` blocks of the history's last message when it is the model's and nobody
/// answered them yet.
fn unanswered(messages: &[t::Message]) -> Vec<&t::ToolUseBlock> {
    match messages.last() {
        Some(m) if m.role() == &t::ConversationRole::Assistant => m
            .content()
            .iter()
            .filter_map(|b| match b {
                t::ContentBlock::ToolUse(u) => Some(u),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn answers_tools(message: &t::Message) -> bool {
    message
        .content()
        .iter()
        .any(|b| matches!(b, t::ContentBlock::ToolResult(_)))
}

macro_rules! with_setup {
    ($fluent:expr, $setup:expr, $turn:expr) => {
        $fluent
            .model_id($turn.model_id.clone())
            .set_messages(Some($turn.messages.clone()))
            .set_system(if $setup.system.is_empty() {
                None
            } else {
                Some($setup.system.clone())
            })
            .set_inference_config($setup.inference.clone())
            .set_additional_model_request_fields($setup.fields.clone())
            .set_tool_config($turn.tool_config.clone())
    };
}

impl PyConversation {
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
                messages,
                model_id,
                usage: Tokens::default(),
                last_reply: None,
                last_active: tick(),
            })),
            busy: Arc::new(AtomicU64::new(0)),
        }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn last_active(&self) -> u64 {
        lock(&self.state).last_active
    }

    fn starter(&self) -> Starter {
        Starter {
            id: self.id.clone(),
            busy: self.busy.clone(),
            state: self.state.clone(),
            setup: self.setup.clone(),
            backend: self.backend.clone(),
        }
    }
}

/// What starting a turn needs, detached from the Python object (an async turn starts when
/// it is first awaited).
struct Starter {
    id: String,
    busy: Arc<AtomicU64>,
    state: Arc<Mutex<State>>,
    setup: Arc<Setup>,
    backend: Backend,
}

impl Starter {
    /// Marks the conversation busy and takes the history the turn builds on.
    fn begin(&self, user: t::Message) -> Result<Turn, Box<ErrorInfo>> {
        let guard = TurnGuard::acquire(&self.busy, &self.id)?;
        let state = lock(&self.state);
        let open = unanswered(&state.messages);
        if !open.is_empty() && !answers_tools(&user) {
            let calls: Vec<String> = open
                .iter()
                .map(|u| format!("{} ({})", u.name(), py_repr(u.tool_use_id())))
                .collect();
            return Err(Box::new(
                ErrorInfo::new(
                    "PendingToolCallsError",
                    format!(
                        "the last reply asked for tool results that were not given: {}",
                        calls.join(", ")
                    ),
                )
                .with_hint("Answer them with conversation.send_tool_results({tool_use_id: result, ...}) before sending a new message."),
            ));
        }
        let mut messages = Vec::with_capacity(state.messages.len() + 3);
        messages.extend(state.messages.iter().cloned());
        let mut turn = Turn {
            model_id: state.model_id.clone(),
            messages,
            pending: Vec::with_capacity(3),
            tool_config: None,
            usage: Tokens::default(),
            last: None,
            guard,
            state: self.state.clone(),
        };
        drop(state);
        turn.push(user);
        turn.choose(&self.setup, None);
        Ok(turn)
    }

    /// Streams one request; its reply goes to `sink`.
    fn stream(
        &self,
        fluent: aws_sdk_bedrockruntime::operation::converse_stream::builders::ConverseStreamFluentBuilder,
        model: String,
        sink: Sink,
    ) -> PyReplyStream {
        let model_id = model.clone();
        let restart: stream::Restart = Box::new(move || {
            let fluent = fluent.clone();
            let model = model.clone();
            Box::pin(async move {
                let out = fluent
                    .send()
                    .await
                    .map_err(|e| errors::from_sdk(&e).with_model(Some(&model)))?;
                let request_id = out.request_id().map(str::to_owned);
                Ok(Started {
                    receiver: out.stream,
                    request_id,
                })
            })
        });
        let pump = Pump::spawn(
            None,
            Some(restart),
            PumpOptions {
                idle_timeout: self.backend.read_timeout,
                model_id: model_id.clone(),
                max_attempts: self.backend.max_attempts,
            },
        );
        PyReplyStream::over_pump(StreamShared {
            pump: Arc::new(pump),
            side: Mutex::new(Side {
                assembler: Assembler::default(),
                sink: Some(sink),
                reply: None,
            }),
            model_id,
        })
    }

    fn converse_future(
        &self,
        turn: &Turn,
    ) -> impl std::future::Future<Output = Result<ReplyData, ErrorInfo>> + Send + 'static {
        let fluent = with_setup!(self.backend.sdk.converse(), self.setup, turn);
        let model = turn.model_id.clone();
        async move {
            let out = fluent
                .send()
                .await
                .map_err(|e| errors::from_sdk(&e).with_model(Some(&model)))?;
            let request_id = out.request_id().map(str::to_owned);
            let message = match out.output {
                Some(t::ConverseOutput::Message(m)) => m,
                _ => {
                    return Err(
                        ErrorInfo::new("ConverseError", "the response carried no message")
                            .with_model(Some(&model)),
                    )
                }
            };
            Ok(ReplyData {
                message,
                stop_reason: out.stop_reason.as_str().to_owned(),
                usage: Tokens::from_sdk(out.usage.as_ref()),
                latency_ms: out.metrics.map(|m| m.latency_ms),
                request_id,
                model_id: model,
                fields: out.additional_model_response_fields,
            })
        }
    }
}

fn inference_dict<'py>(
    py: Python<'py>,
    c: &t::InferenceConfiguration,
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    if let Some(n) = c.max_tokens() {
        d.set_item("maxTokens", n)?;
    }
    // Note: f32 -> f64 through the decimal text, so 0.7 reads back as 0.7.
    let widen = |f: f32| f.to_string().parse::<f64>().unwrap_or(f as f64);
    if let Some(f) = c.temperature() {
        d.set_item("temperature", widen(f))?;
    }
    if let Some(f) = c.top_p() {
        d.set_item("topP", widen(f))?;
    }
    if !c.stop_sequences().is_empty() {
        d.set_item("stopSequences", c.stop_sequences())?;
    }
    Ok(d)
}

#[pymethods]
impl PyConversation {
    #[getter(id)]
    fn get_id(&self) -> &str {
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

    /// boto3's `inferenceConfig` dict of every turn, or None.
    #[getter]
    fn inference_config<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        self.setup
            .inference
            .as_ref()
            .map(|c| inference_dict(py, c))
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
        let messages = lock(&self.state).messages.clone();
        message_list(py, &messages)
    }

    /// Tokens of all turns so far, summed.
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

    /// Whether a turn is in progress (a `send`, or a stream not yet finished or closed).
    #[getter]
    fn busy(&self) -> bool {
        self.busy.load(Ordering::Acquire) != 0
    }

    /// Forgets the history (and the last reply); usage keeps counting.
    fn reset(&self, py: Python<'_>) -> PyResult<()> {
        let _guard = TurnGuard::acquire(&self.busy, &self.id).map_err(|e| e.into_pyerr(py))?;
        let mut state = lock(&self.state);
        state.messages.clear();
        state.last_reply = None;
        state.last_active = tick();
        Ok(())
    }

    fn __len__(&self) -> usize {
        lock(&self.state).messages.len()
    }

    fn __repr__(&self) -> String {
        let state = lock(&self.state);
        format!(
            "Conversation(id={}, model_id={}, messages={})",
            py_repr(&self.id),
            py_repr(&state.model_id),
            state.messages.len()
        )
    }

    /// Sends one user turn and waits for the whole reply (GIL released, Ctrl-C aware).
    /// With tools, the model's tool uses are answered by calling them until it replies.
    #[pyo3(signature = (message, *, tool_choice=None))]
    fn send(
        &self,
        py: Python<'_>,
        message: &Bound<'_, PyAny>,
        tool_choice: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let user = user_message(message)?;
        if let Some(toolbox) = self.toolbox(py, tool_choice)? {
            let turn = PyTurn::new(self.starter(), user);
            return toolbox
                .call_method1("send", (turn, tool_choice))
                .map(Bound::unbind);
        }
        let starter = self.starter();
        let turn = starter.begin(user).map_err(|e| e.into_pyerr(py))?;
        let fut = starter.converse_future(&turn);
        let reply = runtime::block_on(py, fut)?.map_err(|e| e.into_pyerr(py))?;
        Ok(turn.commit(py, reply)?.into_any())
    }

    /// `send` as an awaitable; cancelling the awaiting task aborts the request.
    #[pyo3(signature = (message, *, tool_choice=None))]
    fn send_async<'py>(
        &self,
        py: Python<'py>,
        message: &Bound<'py, PyAny>,
        tool_choice: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let user = user_message(message)?;
        if let Some(toolbox) = self.toolbox(py, tool_choice)? {
            let turn = PyTurn::new(self.starter(), user);
            return toolbox.call_method1("send_async", (turn, tool_choice));
        }
        let starter = self.starter();
        // The turn begins when awaited, on the awaiting thread: overlapping awaits are
        // refused in the order they happen, and an unawaited call holds nothing.
        runtime::awaitable(py, move |py| {
            let turn = starter.begin(user).map_err(|e| e.into_pyerr(py))?;
            let fut = starter.converse_future(&turn);
            let on_cancel = turn.guard.releaser();
            let fut = async move {
                let reply = fut.await;
                Python::attach(|py| {
                    let reply = reply.map_err(|e| e.into_pyerr(py))?;
                    Ok(turn.commit(py, reply)?.into_any())
                })
            };
            Ok((fut, Some(Box::new(on_cancel) as runtime::OnCancel)))
        })
    }

    /// Sends one user turn and streams the reply: iterate with `for` or `async for`.
    /// With tools, the stream goes on through the tool calls to the model's answer.
    #[pyo3(signature = (message, *, tool_choice=None))]
    fn stream(
        &self,
        py: Python<'_>,
        message: &Bound<'_, PyAny>,
        tool_choice: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyReplyStream> {
        let user = user_message(message)?;
        if let Some(toolbox) = self.toolbox(py, tool_choice)? {
            let turn = Py::new(py, PyTurn::new(self.starter(), user))?;
            turn.get().begin(py)?;
            let inner = toolbox.call_method1("stream", (turn, tool_choice))?;
            return Ok(PyReplyStream {
                source: Source::Loop(inner.unbind()),
                model_id: self.model_id(),
            });
        }
        let starter = self.starter();
        let mut turn = starter.begin(user).map_err(|e| e.into_pyerr(py))?;
        turn.choose(&self.setup, None);
        let fluent = with_setup!(self.backend.sdk.converse_stream(), self.setup, turn);
        let model = turn.model_id.clone();
        Ok(starter.stream(fluent, model, Sink::Commit(Box::new(turn))))
    }

    /// Answers the tool uses of the last reply and sends the results as the next turn;
    /// tools with a function that `results` leaves out are called. Returns the next reply.
    #[pyo3(signature = (results, *, tool_choice=None))]
    fn send_tool_results<'py>(
        slf: &Bound<'py, Self>,
        results: &Bound<'py, PyAny>,
        tool_choice: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        slf.get()
            .require_toolbox(slf.py())?
            .call_method1("send_tool_results", (slf, results, tool_choice))
    }

    /// `send_tool_results` as an awaitable.
    #[pyo3(signature = (results, *, tool_choice=None))]
    fn send_tool_results_async<'py>(
        slf: &Bound<'py, Self>,
        results: &Bound<'py, PyAny>,
        tool_choice: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        slf.get()
            .require_toolbox(slf.py())?
            .call_method1("send_tool_results_async", (slf, results, tool_choice))
    }

    /// The tool uses of the last reply that wait for results (`send_tool_results`), as
    /// `{"toolUseId", "name", "input"}` dicts; empty when none wait.
    #[getter]
    fn pending_tool_calls<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let state = lock(&self.state);
        let list = PyList::empty(py);
        for u in unanswered(&state.messages) {
            let block = t::ContentBlock::ToolUse(u.clone());
            list.append(response::content_block(py, &block)?.get_item("toolUse")?)?;
        }
        Ok(list)
    }

    /// The conversation's tools (`Tool` objects), in the order given.
    #[getter]
    fn tools<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        match &self.setup.toolbox {
            Some(toolbox) => Ok(toolbox.bind(py).getattr("tools")?.cast_into::<PyList>()?),
            None => Ok(PyList::empty(py)),
        }
    }

    /// Calls, errors and seconds per tool name, over this conversation's tool calls.
    #[getter]
    fn tool_metrics<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        match &self.setup.toolbox {
            Some(toolbox) => toolbox.bind(py).call_method0("metrics"),
            None => Ok(PyDict::new(py).into_any()),
        }
    }
}

impl PyConversation {
    /// The tool loop of a conversation with tools; a `tool_choice` without tools is an error.
    fn toolbox<'py>(
        &self,
        py: Python<'py>,
        tool_choice: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        match &self.setup.toolbox {
            Some(toolbox) => Ok(Some(toolbox.bind(py).clone())),
            None if tool_choice.is_some_and(|c| !c.is_none()) => Err(value_error(
                "tool_choice",
                "this conversation has no tools; pass tools=[...] to create_conversation",
            )),
            None => Ok(None),
        }
    }

    fn require_toolbox<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.toolbox(py, None)?.ok_or_else(|| {
            value_error(
                "results",
                "this conversation has no tools; pass tools=[...] to create_conversation",
            )
        })
    }
}

/// Where a stream's reply goes: the history (a turn of one request), or the tool loop's
/// turn, which has more requests to make.
enum Sink {
    Commit(Box<Turn>),
    Round(Arc<Mutex<Slot>>),
}

struct Side {
    assembler: Assembler,
    /// Taken when the stream ends, either way.
    sink: Option<Sink>,
    reply: Option<Py<PyReply>>,
}

struct StreamShared {
    pump: Arc<Pump>,
    side: Mutex<Side>,
    model_id: String,
}

enum Step {
    Yield(Py<PyAny>),
    Skip,
    Stop,
}

impl StreamShared {
    fn side(&self) -> MutexGuard<'_, Side> {
        self.side.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Turns one pumped item into what the iterator does next.
    fn step(&self, py: Python<'_>, item: Item) -> PyResult<Step> {
        match item {
            Item::Event(event) => {
                self.side().assembler.push(&event);
                Ok(match events::to_py(py, event)? {
                    Some(obj) => Step::Yield(obj),
                    None => Step::Skip,
                })
            }
            Item::End { request_id } => {
                let mut side = self.side();
                let Some(sink) = side.sink.take() else {
                    return Ok(Step::Stop);
                };
                let assembler = std::mem::take(&mut side.assembler);
                drop(side);
                let reply = assembler
                    .finish(&self.model_id, request_id)
                    .map_err(|e| e.into_pyerr(py))?;
                let reply = match sink {
                    Sink::Commit(turn) => turn.commit(py, reply)?,
                    Sink::Round(slot) => {
                        let mut slot = lock_slot(&slot);
                        match &mut *slot {
                            Slot::Active(turn) => turn.record(&reply),
                            _ => return Err(ended()),
                        }
                        drop(slot);
                        Py::new(py, PyReply(reply))?
                    }
                };
                self.side().reply = Some(reply);
                Ok(Step::Stop)
            }
            Item::Failed(info) => {
                // Ending the turn releases the conversation; the history stays as it was.
                self.side().sink = None;
                Err(info.into_pyerr(py))
            }
        }
    }

    fn close(&self) {
        self.pump.close();
        self.side().sink = None;
    }

    fn done(&self) -> bool {
        self.pump.is_done() || self.side().sink.is_none()
    }

    fn reply(&self, py: Python<'_>) -> PyResult<Py<PyReply>> {
        self.side()
            .reply
            .as_ref()
            .map(|r| r.clone_ref(py))
            .ok_or_else(|| {
                pyo3::exceptions::PyRuntimeError::new_err(if self.done() {
                    "the stream ended without a reply: it failed or was closed (the history is unchanged)"
                } else {
                    "the stream is not finished: read it to the end (or call until_done()) first"
                })
            })
    }

    fn next(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        loop {
            let item = stream::next_blocking(py, &self.pump)?;
            match self.step(py, item)? {
                Step::Yield(obj) => return Ok(obj),
                Step::Skip => continue,
                Step::Stop => return Err(PyStopIteration::new_err(())),
            }
        }
    }

    fn anext<'py>(self: &Arc<Self>, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        while let Some(item) = self.pump.try_next() {
            match self.step(py, item) {
                Ok(Step::Yield(obj)) => return runtime::ready(py, Ok(obj)),
                Ok(Step::Skip) => continue,
                Ok(Step::Stop) => {
                    return runtime::ready(py, Err(PyStopAsyncIteration::new_err(())))
                }
                Err(err) => return runtime::ready(py, Err(err)),
            }
        }
        let shared = self.clone();
        runtime::spawn(py, async move {
            loop {
                let item = shared.pump.next().await;
                let step = Python::attach(|py| shared.step(py, item))?;
                match step {
                    Step::Yield(obj) => return Ok(obj),
                    Step::Skip => continue,
                    Step::Stop => return Err(PyStopAsyncIteration::new_err(())),
                }
            }
        })
    }
}

/// What a `ReplyStream` reads: one request's events, or (with tools) the tool loop's
/// stream, which is Python (`fastconverse._toolloop.LoopStream`) and is delegated to.
enum Source {
    Pump(Arc<StreamShared>),
    Loop(Py<PyAny>),
}

/// The reply of `Conversation.stream`, as typed events: `for` and `async for` both work.
/// Once it is exhausted, `reply` is the finished `Reply` and the turn is in the history.
#[pyclass(name = "ReplyStream", module = "fastconverse._core", frozen)]
pub struct PyReplyStream {
    source: Source,
    model_id: String,
}

impl PyReplyStream {
    fn over_pump(shared: StreamShared) -> Self {
        let model_id = shared.model_id.clone();
        Self {
            source: Source::Pump(Arc::new(shared)),
            model_id,
        }
    }
}

#[pymethods]
impl PyReplyStream {
    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        match &self.source {
            Source::Pump(shared) => shared.next(py),
            Source::Loop(inner) => Ok(inner.call_method0(py, "__next__")?),
        }
    }

    fn __aiter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __anext__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        match &self.source {
            Source::Pump(shared) => shared.anext(py),
            Source::Loop(inner) => inner.bind(py).call_method0("__anext__"),
        }
    }

    /// The finished reply; an error until the stream was read to its end.
    #[getter]
    fn reply(&self, py: Python<'_>) -> PyResult<Py<PyReply>> {
        match &self.source {
            Source::Pump(shared) => shared.reply(py),
            Source::Loop(inner) => Ok(inner.getattr(py, "reply")?.extract(py)?),
        }
    }

    /// Whether the stream ended (completed, failed or closed).
    #[getter]
    fn done(&self, py: Python<'_>) -> PyResult<bool> {
        match &self.source {
            Source::Pump(shared) => Ok(shared.done()),
            Source::Loop(inner) => inner.getattr(py, "done")?.extract(py),
        }
    }

    /// Reads the rest of the stream and returns the finished reply.
    fn until_done(&self, py: Python<'_>) -> PyResult<Py<PyReply>> {
        loop {
            match self.__next__(py) {
                Ok(_) => continue,
                Err(err) if err.is_instance_of::<PyStopIteration>(py) => return self.reply(py),
                Err(err) => return Err(err),
            }
        }
    }

    /// Stops the stream and closes its connection; the turn is dropped (history unchanged
    /// unless the stream had already finished).
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        match &self.source {
            Source::Pump(shared) => shared.close(),
            Source::Loop(inner) => {
                inner.call_method0(py, "close")?;
            }
        }
        Ok(())
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __exit__(
        &self,
        py: Python<'_>,
        _t: Option<&Bound<'_, PyAny>>,
        _v: Option<&Bound<'_, PyAny>>,
        _tb: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        self.close(py)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "ReplyStream(model_id={}, done={})",
            py_repr(&self.model_id),
            if self.done(py)? { "True" } else { "False" }
        ))
    }
}

/// The state of a tool-loop turn.
enum Slot {
    /// Not begun: the user message it will send.
    Ready(t::Message),
    Active(Box<Turn>),
    Ended,
}

fn lock_slot(slot: &Mutex<Slot>) -> MutexGuard<'_, Slot> {
    slot.lock().unwrap_or_else(|e| e.into_inner())
}

/// A request's `toolChoice`, as boto3's dict (None: the model's default).
fn parse_choice(choice: Option<&Bound<'_, PyAny>>) -> PyResult<Option<t::ToolChoice>> {
    choice
        .filter(|c| !c.is_none())
        .map(|c| request::tool_choice(&Obj::new(c, "tool_choice")?))
        .transpose()
}

fn ended() -> PyErr {
    pyo3::exceptions::PyRuntimeError::new_err("the turn has ended")
}

/// One turn of the tool loop, driven from Python (`fastconverse._toolloop`): its requests,
/// the tool results it adds between them, and its commit. Dropping it, or `abandon()`,
/// ends the turn with the history unchanged.
#[pyclass(name = "_Turn", module = "fastconverse._core", frozen)]
pub struct PyTurn {
    starter: Starter,
    slot: Arc<Mutex<Slot>>,
}

impl PyTurn {
    fn new(starter: Starter, user: t::Message) -> Self {
        Self {
            starter,
            slot: Arc::new(Mutex::new(Slot::Ready(user))),
        }
    }

    /// Runs `f` on the active turn.
    fn with_turn<R>(&self, f: impl FnOnce(&mut Turn) -> R) -> PyResult<R> {
        match &mut *lock_slot(&self.slot) {
            Slot::Active(turn) => Ok(f(turn)),
            _ => Err(ended()),
        }
    }

    /// The turn's next request, made with this tool choice.
    fn prepare(
        &self,
        choice: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<impl std::future::Future<Output = Result<ReplyData, ErrorInfo>> + Send + 'static>
    {
        let choice = parse_choice(choice)?;
        self.with_turn(|turn| {
            turn.choose(&self.starter.setup, choice);
            self.starter.converse_future(turn)
        })
    }

    fn record(&self, py: Python<'_>, reply: ReplyData) -> PyResult<Py<PyReply>> {
        self.with_turn(|turn| turn.record(&reply))?;
        Py::new(py, PyReply(reply))
    }
}

#[pymethods]
impl PyTurn {
    /// Starts the turn: marks the conversation busy and takes its history.
    fn begin(&self, py: Python<'_>) -> PyResult<()> {
        let mut slot = lock_slot(&self.slot);
        let Slot::Ready(user) = &*slot else {
            return Err(pyo3::exceptions::PyRuntimeError::new_err(
                "the turn has already begun",
            ));
        };
        let turn = self
            .starter
            .begin(user.clone())
            .map_err(|e| e.into_pyerr(py))?;
        *slot = Slot::Active(Box::new(turn));
        Ok(())
    }

    /// Makes one request and returns its reply (GIL released, Ctrl-C aware).
    #[pyo3(signature = (tool_choice=None))]
    fn request(
        &self,
        py: Python<'_>,
        tool_choice: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyReply>> {
        let fut = self.prepare(tool_choice)?;
        let reply = runtime::block_on(py, fut)?.map_err(|e| e.into_pyerr(py))?;
        self.record(py, reply)
    }

    /// `request` as an awaitable.
    #[pyo3(signature = (tool_choice=None))]
    fn request_async<'py>(
        slf: Py<Self>,
        py: Python<'py>,
        tool_choice: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let fut = slf.get().prepare(tool_choice)?;
        runtime::spawn(py, async move {
            let reply = fut.await;
            Python::attach(|py| {
                let reply = reply.map_err(|e| e.into_pyerr(py))?;
                Ok(slf.get().record(py, reply)?.into_any())
            })
        })
    }

    /// Makes one request and streams its reply; at its end the reply joins the turn.
    #[pyo3(signature = (tool_choice=None))]
    fn stream(&self, tool_choice: Option<&Bound<'_, PyAny>>) -> PyResult<PyReplyStream> {
        let choice = parse_choice(tool_choice)?;
        let (fluent, model) = self.with_turn(|turn| {
            turn.choose(&self.starter.setup, choice);
            (
                with_setup!(
                    self.starter.backend.sdk.converse_stream(),
                    self.starter.setup,
                    turn
                ),
                turn.model_id.clone(),
            )
        })?;
        Ok(self
            .starter
            .stream(fluent, model, Sink::Round(self.slot.clone())))
    }

    /// Adds the user message that answers the last reply's tool uses.
    fn add_results(&self, content: &Bound<'_, PyAny>) -> PyResult<()> {
        let blocks = as_list(content, "content")?
            .iter()
            .enumerate()
            .map(|(i, b)| request::content_block(b, &format!("content[{i}]")))
            .collect::<PyResult<Vec<_>>>()?;
        let message = t::Message::builder()
            .role(t::ConversationRole::User)
            .set_content(Some(blocks))
            .build()
            .map_err(|e| value_error("content", e))?;
        check_text(&message, "tool results")?;
        self.with_turn(|turn| turn.push(message))
    }

    /// Appends the turn's messages to the history and returns its reply.
    fn commit(&self, py: Python<'_>) -> PyResult<Py<PyReply>> {
        let mut slot = lock_slot(&self.slot);
        match std::mem::replace(&mut *slot, Slot::Ended) {
            Slot::Active(turn) => {
                drop(slot);
                turn.finish(py)
            }
            _ => Err(ended()),
        }
    }

    /// Ends the turn without changing the history (nothing happens after `commit`).
    fn abandon(&self) {
        let old = std::mem::replace(&mut *lock_slot(&self.slot), Slot::Ended);
        drop(old);
    }

    /// The messages the turn has added so far, as boto3 message dicts.
    #[getter]
    fn messages<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let pending = match &*lock_slot(&self.slot) {
            Slot::Active(turn) => turn.pending.clone(),
            Slot::Ready(user) => vec![user.clone()],
            Slot::Ended => Vec::new(),
        };
        message_list(py, &pending)
    }

    /// Tokens of the turn's requests so far.
    #[getter]
    fn usage(&self) -> PyUsage {
        PyUsage(match &*lock_slot(&self.slot) {
            Slot::Active(turn) => turn.usage,
            _ => Tokens::default(),
        })
    }
}

/// `create_conversation`'s arguments, checked.
pub fn setup_from(
    system_prompt: Option<&Bound<'_, PyAny>>,
    inference_config: Option<&Bound<'_, PyAny>>,
    fields: Option<&Bound<'_, PyAny>>,
) -> PyResult<Setup> {
    let mut setup = Setup {
        system_prompt: None,
        system: Vec::new(),
        inference: None,
        fields: None,
        tools: None,
        toolbox: None,
    };
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
    m.add_class::<PyConversation>()?;
    m.add_class::<PyReplyStream>()?;
    m.add_class::<PyTurn>()?;
    Ok(())
}
