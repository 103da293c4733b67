//! The memory policies as Python sees them (`SlidingWindow`, `TokenBudget`,
//! `Summarizing`, the view a custom `MemoryPolicy` chooses from) and `estimate_tokens`.

use std::sync::Arc;

use aws_sdk_bedrockruntime::types as t;
use pyo3::exceptions::{PyIndexError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyInt, PyList, PyString};

use super::estimate::message_tokens;
use super::policy::{is_turn_start, Memory, SummarySettings};
use crate::wire::pyobj::{as_list, py_repr, value_error};
use crate::wire::{content_in, response};

fn count(obj: &Bound<'_, PyAny>, name: &str, min: u64) -> PyResult<u64> {
    if obj.is_instance_of::<PyBool>() || !obj.is_instance_of::<PyInt>() {
        return Err(PyTypeError::new_err(format!(
            "{name}: expected an int, got {}",
            obj.get_type().name()?
        )));
    }
    match obj.extract::<u64>() {
        Ok(n) if n >= min => Ok(n),
        _ => Err(value_error(
            name,
            format!("expected an int >= {min}, got {}", obj.repr()?),
        )),
    }
}

fn text(obj: Option<&Bound<'_, PyAny>>, name: &str) -> PyResult<Option<String>> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else {
        return Ok(None);
    };
    let s: String = obj.extract().map_err(|_| {
        PyTypeError::new_err(format!(
            "{name}: expected a str or None, got {}",
            obj.get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_default()
        ))
    })?;
    if s.trim().is_empty() {
        return Err(value_error(
            name,
            "must not be blank (pass None for the default)",
        ));
    }
    Ok(Some(s))
}

/// Keeps the newest `max_messages` messages (the new turn's included), cutting only where
/// a request may start.
#[pyclass(name = "SlidingWindow", module = "fastconverse._core", frozen)]
pub struct PySlidingWindow {
    #[pyo3(get)]
    max_messages: u64,
}

#[pymethods]
impl PySlidingWindow {
    #[new]
    #[pyo3(signature = (max_messages = None))]
    fn new(max_messages: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        let max_messages = match max_messages {
            Some(m) => count(m, "max_messages", 1)?,
            None => 40,
        };
        Ok(Self { max_messages })
    }

    fn __repr__(&self) -> String {
        format!("SlidingWindow(max_messages={})", self.max_messages)
    }
}

/// Keeps the newest messages whose estimate (`estimate_tokens`) fits in `max_tokens`. Once
/// over it, cuts down to `trim_to` (default: `max_tokens`): a lower `trim_to` cuts less often,
/// so the history's front (and its prompt cache) stays put for several turns.
#[pyclass(name = "TokenBudget", module = "fastconverse._core", frozen)]
pub struct PyTokenBudget {
    #[pyo3(get)]
    max_tokens: u64,
    #[pyo3(get)]
    trim_to: u64,
}

#[pymethods]
impl PyTokenBudget {
    #[new]
    #[pyo3(signature = (max_tokens = None, trim_to = None))]
    fn new(
        max_tokens: Option<&Bound<'_, PyAny>>,
        trim_to: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let max_tokens = match max_tokens {
            Some(m) => count(m, "max_tokens", 1)?,
            None => 8_000,
        };
        let trim_to = match trim_to.filter(|t| !t.is_none()) {
            Some(t) => count(t, "trim_to", 1)?,
            None => max_tokens,
        };
        if trim_to > max_tokens {
            return Err(value_error(
                "trim_to",
                format!("expected at most max_tokens ({max_tokens}), got {trim_to}"),
            ));
        }
        Ok(Self {
            max_tokens,
            trim_to,
        })
    }

    fn __repr__(&self) -> String {
        if self.trim_to == self.max_tokens {
            format!("TokenBudget(max_tokens={})", self.max_tokens)
        } else {
            format!(
                "TokenBudget(max_tokens={}, trim_to={})",
                self.max_tokens, self.trim_to
            )
        }
    }
}

/// Over `max_tokens`, asks the model (or `model_id`) to summarise the older turns, keeping
/// the newest `keep_recent` messages as they are; the summary rides in the system prompt.
#[pyclass(name = "Summarizing", module = "fastconverse._core", frozen)]
pub struct PySummarizing {
    settings: Arc<SummarySettings>,
}

#[pymethods]
impl PySummarizing {
    #[new]
    #[pyo3(signature = (max_tokens = None, keep_recent = None, model_id = None, prompt = None))]
    fn new(
        max_tokens: Option<&Bound<'_, PyAny>>,
        keep_recent: Option<&Bound<'_, PyAny>>,
        model_id: Option<&Bound<'_, PyAny>>,
        prompt: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        Ok(Self {
            settings: Arc::new(SummarySettings {
                max_tokens: max_tokens.map_or(Ok(8_000), |m| count(m, "max_tokens", 1))?,
                keep_recent: keep_recent.map_or(Ok(4), |k| count(k, "keep_recent", 0))? as usize,
                model_id: text(model_id, "model_id")?,
                prompt: text(prompt, "prompt")?,
            }),
        })
    }

    #[getter]
    fn max_tokens(&self) -> u64 {
        self.settings.max_tokens
    }

    #[getter]
    fn keep_recent(&self) -> usize {
        self.settings.keep_recent
    }

    #[getter]
    fn model_id(&self) -> Option<&str> {
        self.settings.model_id.as_deref()
    }

    #[getter]
    fn prompt(&self) -> Option<&str> {
        self.settings.prompt.as_deref()
    }

    fn __repr__(&self) -> String {
        let s = &self.settings;
        format!(
            "Summarizing(max_tokens={}, keep_recent={}, model_id={}, prompt={})",
            s.max_tokens,
            s.keep_recent,
            s.model_id.as_deref().map_or("None".into(), py_repr),
            s.prompt.as_deref().map_or("None", |_| "..."),
        )
    }
}

/// `memory=`: a policy, and the `select` callable of a Python one.
pub fn memory_from(
    obj: Option<&Bound<'_, PyAny>>,
) -> PyResult<(Option<Memory>, Option<Py<PyAny>>)> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else {
        return Ok((None, None));
    };
    if let Ok(w) = obj.cast::<PySlidingWindow>() {
        let max_messages = w.get().max_messages as usize;
        return Ok((Some(Memory::Window { max_messages }), None));
    }
    if let Ok(b) = obj.cast::<PyTokenBudget>() {
        let (max_tokens, trim_to) = (b.get().max_tokens, b.get().trim_to);
        return Ok((
            Some(Memory::Budget {
                max_tokens,
                trim_to,
            }),
            None,
        ));
    }
    if let Ok(s) = obj.cast::<PySummarizing>() {
        return Ok((Some(Memory::Summarizing(s.get().settings.clone())), None));
    }
    match obj.getattr("select") {
        Ok(select) if select.is_callable() => Ok((Some(Memory::Custom), Some(select.unbind()))),
        _ => Err(PyTypeError::new_err(format!(
            "memory: expected SlidingWindow(...), TokenBudget(...), Summarizing(...) or a MemoryPolicy (an object with a select(view) method), got {}",
            obj.get_type().name()?
        ))),
    }
}

/// What a custom `MemoryPolicy.select` sees: the history the next request would build on
/// (index 0 is `conversation.messages[0]`), each message's estimate, and where a request
/// may start. `select` returns the index of the first message to keep.
#[pyclass(name = "HistoryView", module = "fastconverse._core", frozen)]
pub struct PyHistoryView {
    pub messages: Arc<Vec<t::Message>>,
    pub tokens: Arc<Vec<u32>>,
    pub start: usize,
    /// The estimate of the turn's own messages (always sent).
    pub pending: u64,
    /// Whether the turn's own messages may start a request (keeping none of the history).
    pub pending_starts: bool,
}

impl PyHistoryView {
    fn at(&self, i: isize) -> PyResult<usize> {
        let len = (self.messages.len() - self.start) as isize;
        let j = if i < 0 { i + len } else { i };
        if !(0..len).contains(&j) {
            return Err(PyIndexError::new_err(format!(
                "index {i} is out of range for {len} messages"
            )));
        }
        Ok(self.start + j as usize)
    }
}

#[pymethods]
impl PyHistoryView {
    fn __len__(&self) -> usize {
        self.messages.len() - self.start
    }

    /// The estimated tokens of message `i`.
    fn tokens(&self, i: isize) -> PyResult<u32> {
        Ok(self.tokens[self.at(i)?])
    }

    /// Message `i` as a boto3 dict.
    fn message<'py>(&self, py: Python<'py>, i: isize) -> PyResult<Bound<'py, PyDict>> {
        response::message(py, &self.messages[self.at(i)?])
    }

    /// The role of message `i`: "user" or "assistant".
    fn role(&self, i: isize) -> PyResult<&'static str> {
        Ok(match self.messages[self.at(i)?].role() {
            t::ConversationRole::User => "user",
            _ => "assistant",
        })
    }

    /// The indexes a request may start at (user messages that answer no tool call), and
    /// `len(view)` when the new turn may be sent alone.
    #[getter]
    fn starts<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let mut starts: Vec<usize> = (self.start..self.messages.len())
            .filter(|&k| is_turn_start(&self.messages[k]))
            .map(|k| k - self.start)
            .collect();
        if self.pending_starts {
            starts.push(self.messages.len() - self.start);
        }
        PyList::new(py, starts)
    }

    /// The estimated tokens of the new turn's messages, which are always sent.
    #[getter]
    fn pending_tokens(&self) -> u64 {
        self.pending
    }

    /// The estimated tokens of messages `index..` plus the new turn's.
    #[pyo3(signature = (index = 0))]
    fn tokens_from(&self, index: usize) -> u64 {
        let from = self.start.saturating_add(index).min(self.messages.len());
        self.tokens[from..]
            .iter()
            .map(|&n| u64::from(n))
            .sum::<u64>()
            + self.pending
    }

    fn __repr__(&self) -> String {
        format!(
            "HistoryView(messages={}, tokens={})",
            self.__len__(),
            self.tokens_from(0)
        )
    }
}

/// The token estimate of fastconverse's memory policies (about 4 characters a token; see the
/// README): of a text, a boto3 message dict, or a list of them.
#[pyfunction]
pub fn estimate_tokens(value: &Bound<'_, PyAny>) -> PyResult<u64> {
    if let Ok(s) = value.cast::<PyString>() {
        return Ok((s.to_cow()?.chars().count() as u64).div_ceil(4));
    }
    if value.is_instance_of::<PyDict>() {
        return Ok(message_tokens(&content_in::message(value, "value")?));
    }
    let list = as_list(value, "value")?;
    list.iter()
        .enumerate()
        .map(|(i, m)| content_in::message(m, &format!("value[{i}]")).map(|m| message_tokens(&m)))
        .sum::<Result<u64, _>>()
        .map_err(PyErr::from)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PySlidingWindow>()?;
    m.add_class::<PyTokenBudget>()?;
    m.add_class::<PySummarizing>()?;
    m.add_class::<PyHistoryView>()?;
    m.add_function(wrap_pyfunction!(estimate_tokens, m)?)?;
    super::metrics::register(m)
}
