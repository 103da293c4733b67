//! A conversation's metrics (the reference tutorial's `get_conversation_metrics`): counts
//! kept as turns commit or fail, and one snapshot object for Python.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::reply::Tokens;

/// Timings kept for percentiles (the newest); the count and mean cover all.
const KEPT: usize = 10_000;

#[derive(Debug, Clone, Default)]
pub struct Samples {
    count: u64,
    sum: f64,
    newest: VecDeque<f64>,
}

impl Samples {
    pub fn push(&mut self, d: Duration) {
        let s = d.as_secs_f64();
        self.count += 1;
        self.sum += s;
        if self.newest.len() == KEPT {
            self.newest.pop_front();
        }
        self.newest.push_back(s);
    }

    fn timings(&self) -> PyTimings {
        let mut sorted: Vec<f64> = self.newest.iter().copied().collect();
        sorted.sort_by(f64::total_cmp);
        // Nearest rank: the smallest value with at least p% of the samples at or below it.
        let rank = |p: f64| {
            let n = sorted.len();
            (n > 0).then(|| sorted[((p * n as f64).ceil() as usize).clamp(1, n) - 1])
        };
        PyTimings {
            count: self.count,
            mean: (self.count > 0).then(|| self.sum / self.count as f64),
            p50: rank(0.50),
            p95: rank(0.95),
            max: sorted.last().copied(),
        }
    }
}

/// Adds tokens to a model's running total, keeping the order models were first used in.
pub fn add_usage(by_model: &mut Vec<(String, Tokens)>, model_id: &str, usage: Tokens) {
    match by_model.iter_mut().find(|(m, _)| m == model_id) {
        Some((_, total)) => *total = *total + usage,
        None => by_model.push((model_id.to_owned(), usage)),
    }
}

#[derive(Debug, Clone, Default)]
pub struct Metrics {
    pub turns: u64,
    pub failed_turns: u64,
    pub tool_calls: u64,
    pub tool_errors: u64,
    pub retries: u64,
    pub summaries: u64,
    pub latency: Samples,
    pub first_token: Samples,
    pub errors: BTreeMap<String, u64>,
    /// Tokens per model, in the order first used (summaries under their own model).
    pub by_model: Vec<(String, Tokens)>,
}

impl Metrics {
    pub fn add_usage(&mut self, model_id: &str, usage: Tokens) {
        add_usage(&mut self.by_model, model_id, usage);
    }

    pub fn failed(&mut self, code: &str) {
        self.failed_turns += 1;
        *self.errors.entry(code.to_owned()).or_default() += 1;
    }

    pub fn snapshot(&self, usage: Tokens, messages: usize) -> PyConversationMetrics {
        PyConversationMetrics {
            turns: self.turns,
            failed_turns: self.failed_turns,
            messages: messages as u64,
            tool_calls: self.tool_calls,
            tool_errors: self.tool_errors,
            retries: self.retries,
            summaries: self.summaries,
            input_tokens: usage.input,
            output_tokens: usage.output,
            cache_read_tokens: usage.cache_read.unwrap_or(0),
            cache_write_tokens: usage.cache_write.unwrap_or(0),
            total_tokens: usage.total,
            latency: self.latency.timings(),
            time_to_first_token: self.first_token.timings(),
            errors: self.errors.clone(),
        }
    }
}

/// Seconds of a kind of timing: how many, their mean, median, 95th percentile and maximum
/// (None before the first).
#[pyclass(
    name = "Timings",
    module = "fastconverse._core",
    frozen,
    get_all,
    skip_from_py_object
)]
#[derive(Debug, Clone)]
pub struct PyTimings {
    pub count: u64,
    pub mean: Option<f64>,
    pub p50: Option<f64>,
    pub p95: Option<f64>,
    pub max: Option<f64>,
}

#[pymethods]
impl PyTimings {
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("count", self.count)?;
        d.set_item("mean", self.mean)?;
        d.set_item("p50", self.p50)?;
        d.set_item("p95", self.p95)?;
        d.set_item("max", self.max)?;
        Ok(d)
    }

    fn __repr__(&self) -> String {
        let f = |v: Option<f64>| v.map_or("None".to_owned(), |v| format!("{v:.4}"));
        format!(
            "Timings(count={}, mean={}, p50={}, p95={}, max={})",
            self.count,
            f(self.mean),
            f(self.p50),
            f(self.p95),
            f(self.max)
        )
    }
}

/// A conversation's metrics at one moment (`Conversation.metrics`).
#[pyclass(
    name = "ConversationMetrics",
    module = "fastconverse._core",
    frozen,
    get_all
)]
pub struct PyConversationMetrics {
    /// Turns that committed.
    pub turns: u64,
    /// Turns that failed with an error (cancelled and closed turns are not counted).
    pub failed_turns: u64,
    /// Messages in the transcript.
    pub messages: u64,
    pub tool_calls: u64,
    pub tool_errors: u64,
    /// Requests made again after a context overflow.
    pub retries: u64,
    pub summaries: u64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cache_read_tokens: i64,
    pub cache_write_tokens: i64,
    pub total_tokens: i64,
    /// Seconds from a turn's start to its commit.
    pub latency: PyTimings,
    /// Seconds from a streamed turn's start to its first content.
    pub time_to_first_token: PyTimings,
    /// Failed turns by error code (or exception class).
    pub errors: BTreeMap<String, u64>,
}

#[pymethods]
impl PyConversationMetrics {
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("turns", self.turns)?;
        d.set_item("failed_turns", self.failed_turns)?;
        d.set_item("messages", self.messages)?;
        d.set_item("tool_calls", self.tool_calls)?;
        d.set_item("tool_errors", self.tool_errors)?;
        d.set_item("retries", self.retries)?;
        d.set_item("summaries", self.summaries)?;
        d.set_item("input_tokens", self.input_tokens)?;
        d.set_item("output_tokens", self.output_tokens)?;
        d.set_item("cache_read_tokens", self.cache_read_tokens)?;
        d.set_item("cache_write_tokens", self.cache_write_tokens)?;
        d.set_item("total_tokens", self.total_tokens)?;
        d.set_item("latency", self.latency.to_dict(py)?)?;
        d.set_item("time_to_first_token", self.time_to_first_token.to_dict(py)?)?;
        d.set_item("errors", self.errors.clone())?;
        Ok(d)
    }

    fn __repr__(&self) -> String {
        format!(
            "ConversationMetrics(turns={}, failed_turns={}, tool_calls={}, total_tokens={}, latency={})",
            self.turns,
            self.failed_turns,
            self.tool_calls,
            self.total_tokens,
            self.latency.__repr__()
        )
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyTimings>()?;
    m.add_class::<PyConversationMetrics>()
}
