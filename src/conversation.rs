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

/// One turn's request, taken from the conversation when the turn starts.
struct Turn {
    model_id: String,
    messages: Vec<t::Message>,
    user: t::Message,
    guard: TurnGuard,
    state: Arc<Mutex<State>>,
}

impl Turn {
    /// Appends the user message and the reply to the history, in one step.
    fn commit(self, py: Python<'_>, reply: ReplyData) -> PyResult<Py<PyReply>> {
        let for_history = for_history(&reply.message);
        let usage = reply.usage;
        let reply = Py::new(py, PyReply(reply))?;
        let mut state = lock(&self.state);
        if let Some(answer) = for_history {
            state.messages.push(self.user);
            state.messages.push(answer);
        }
        state.usage = state.usage + usage;
        state.last_reply = Some(reply.clone_ref(py));
        state.last_active = tick();
        drop(state);
        drop(self.guard);
        Ok(reply)
    }
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
        let mut messages = Vec::with_capacity(state.messages.len() + 1);
        messages.extend(state.messages.iter().cloned());
        messages.push(user.clone());
        Ok(Turn {
            model_id: state.model_id.clone(),
            messages,
            user,
            guard,
            state: self.state.clone(),
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
        let list = PyList::empty(py);
        for m in &messages {
            list.append(response::message(py, m)?)?;
        }
        Ok(list)
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
    fn send(&self, py: Python<'_>, message: &Bound<'_, PyAny>) -> PyResult<Py<PyReply>> {
        let starter = self.starter();
        let turn = starter
            .begin(user_message(message)?)
            .map_err(|e| e.into_pyerr(py))?;
        let fut = starter.converse_future(&turn);
        let reply = runtime::block_on(py, fut)?.map_err(|e| e.into_pyerr(py))?;
        turn.commit(py, reply)
    }

    /// `send` as an awaitable; cancelling the awaiting task aborts the request.
    fn send_async<'py>(
        &self,
        py: Python<'py>,
        message: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let user = user_message(message)?;
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
    fn stream(&self, py: Python<'_>, message: &Bound<'_, PyAny>) -> PyResult<PyReplyStream> {
        let turn = self
            .starter()
            .begin(user_message(message)?)
            .map_err(|e| e.into_pyerr(py))?;
        let fluent = with_setup!(self.backend.sdk.converse_stream(), self.setup, turn);
        let model = turn.model_id.clone();
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
                model_id: turn.model_id.clone(),
                max_attempts: self.backend.max_attempts,
            },
        );
        Ok(PyReplyStream {
            shared: Arc::new(StreamShared {
                pump: Arc::new(pump),
                side: Mutex::new(Side {
                    assembler: Assembler::default(),
                    turn: Some(turn),
                    reply: None,
                }),
                model_id: self.model_id(),
            }),
        })
    }
}

struct Side {
    assembler: Assembler,
    /// Taken when the turn ends, either way.
    turn: Option<Turn>,
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
                let Some(turn) = side.turn.take() else {
                    return Ok(Step::Stop);
                };
                let assembler = std::mem::take(&mut side.assembler);
                drop(side);
                let reply = assembler
                    .finish(&turn.model_id, request_id)
                    .map_err(|e| e.into_pyerr(py))?;
                let reply = turn.commit(py, reply)?;
                self.side().reply = Some(reply);
                Ok(Step::Stop)
            }
            Item::Failed(info) => {
                // Ending the turn releases the conversation; the history stays as it was.
                self.side().turn = None;
                Err(info.into_pyerr(py))
            }
        }
    }

    fn close(&self) {
        self.pump.close();
        self.side().turn = None;
    }
}

/// The reply of `Conversation.stream`, as typed events: `for` and `async for` both work.
/// Once it is exhausted, `reply` is the finished `Reply` and the turn is in the history.
#[pyclass(name = "ReplyStream", module = "fastconverse._core", frozen)]
pub struct PyReplyStream {
    shared: Arc<StreamShared>,
}

#[pymethods]
impl PyReplyStream {
    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        loop {
            let item = stream::next_blocking(py, &self.shared.pump)?;
            match self.shared.step(py, item)? {
                Step::Yield(obj) => return Ok(obj),
                Step::Skip => continue,
                Step::Stop => return Err(PyStopIteration::new_err(())),
            }
        }
    }

    fn __aiter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __anext__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        while let Some(item) = self.shared.pump.try_next() {
            match self.shared.step(py, item) {
                Ok(Step::Yield(obj)) => return runtime::ready(py, Ok(obj)),
                Ok(Step::Skip) => continue,
                Ok(Step::Stop) => {
                    return runtime::ready(py, Err(PyStopAsyncIteration::new_err(())))
                }
                Err(err) => return runtime::ready(py, Err(err)),
            }
        }
        let shared = self.shared.clone();
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

    /// The finished reply; an error until the stream was read to its end.
    #[getter]
    fn reply(&self, py: Python<'_>) -> PyResult<Py<PyReply>> {
        self.shared
            .side()
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

    /// Whether the stream ended (completed, failed or closed).
    #[getter]
    fn done(&self) -> bool {
        self.shared.pump.is_done() || self.shared.side().turn.is_none()
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
    fn close(&self) {
        self.shared.close();
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __exit__(
        &self,
        _t: Option<&Bound<'_, PyAny>>,
        _v: Option<&Bound<'_, PyAny>>,
        _tb: Option<&Bound<'_, PyAny>>,
    ) {
        self.shared.close();
    }

    fn __repr__(&self) -> String {
        format!(
            "ReplyStream(model_id={}, done={})",
            py_repr(&self.shared.model_id),
            if self.done() { "True" } else { "False" }
        )
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
    Ok(())
}
