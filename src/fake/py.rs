//! `fastconverse._core.FakeBedrock`: the Python face of the fake server. `testing.py`
//! subclasses it with the friendly `enqueue_text` / `enqueue_tool_use` helpers.

use std::collections::HashMap;
use std::time::Duration;

use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use pythonize::{depythonize, pythonize};
use serde_json::Value;

use super::script::{Chunking, HttpError, StreamError, Turn, Usage};
use super::scripted::parse_blocks;
use super::{AuthConfig, FakeConfig, FakeServer, RecordedRequest};
use crate::wire::error_codes;

/// Stop reasons the Converse API defines.
const STOP_REASONS: &[&str] = &[
    "end_turn",
    "tool_use",
    "max_tokens",
    "stop_sequence",
    "guardrail_intervened",
    "content_filtered",
    "malformed_model_output",
    "malformed_tool_use",
    "model_context_window_exceeded",
];

pub fn value_error(msg: impl Into<String>) -> PyErr {
    PyValueError::new_err(msg.into())
}

fn seconds(name: &str, value: f64) -> PyResult<Duration> {
    crate::runtime::seconds(name, value, true)
}

/// How long `close()` waits for connections to close.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

fn parse_usage(usage: &Value) -> PyResult<Usage> {
    let get = |key: &str| -> PyResult<u64> {
        match &usage[key] {
            Value::Null => Ok(0),
            v => v
                .as_u64()
                .ok_or_else(|| value_error(format!("usage[{key:?}] must be an int >= 0, got {v}"))),
        }
    };
    if !usage.is_object() {
        return Err(value_error(
            "usage must be a dict like {\"inputTokens\": 10, \"outputTokens\": 5}",
        ));
    }
    Ok(Usage {
        input: get("inputTokens")?,
        output: get("outputTokens")?,
        cache_read: (!usage["cacheReadInputTokens"].is_null())
            .then(|| get("cacheReadInputTokens"))
            .transpose()?,
        cache_write: (!usage["cacheWriteInputTokens"].is_null())
            .then(|| get("cacheWriteInputTokens"))
            .transpose()?,
        cache_write_1h: None,
    })
}

/// A local Bedrock Runtime speaking the real wire protocol. See `fastconverse.testing`.
#[pyclass(name = "FakeBedrock", module = "fastconverse._core", subclass, frozen)]
pub struct PyFakeBedrock {
    server: FakeServer,
    host: String,
}

#[pymethods]
impl PyFakeBedrock {
    #[new]
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (*, host = "127.0.0.1".to_owned(), port = 0, credentials = None, api_keys = None, models = None, context_windows = None, default_context_window = None, count_tokens_models = None, quotas = None, max_recorded = None))]
    fn new(
        host: String,
        port: u16,
        credentials: Option<Vec<(String, String)>>,
        api_keys: Option<Vec<String>>,
        models: Option<Vec<String>>,
        context_windows: Option<HashMap<String, u64>>,
        default_context_window: Option<u64>,
        count_tokens_models: Option<Vec<String>>,
        quotas: Option<HashMap<String, super::quota::PerMinute>>,
        max_recorded: Option<i64>,
    ) -> PyResult<Self> {
        let max_recorded = max_recorded
            .map(|n| {
                usize::try_from(n).map_err(|_| {
                    pyo3::exceptions::PyValueError::new_err(format!(
                        "max_recorded: expected an int >= 0 (or None to keep all), got {n}"
                    ))
                })
            })
            .transpose()?;
        let quotas = quotas.unwrap_or_default();
        for (model, (rpm, tpm)) in &quotas {
            for (name, q) in [("requests", rpm), ("tokens", tpm)] {
                if q.is_some_and(|q| !(q.is_finite() && q > 0.0)) {
                    return Err(pyo3::exceptions::PyValueError::new_err(format!(
                        "quotas[{model:?}]: {name} per minute must be above 0 (or None), got {}",
                        q.unwrap_or_default()
                    )));
                }
            }
        }
        let config = FakeConfig {
            auth: AuthConfig {
                credentials: credentials.unwrap_or_default(),
                bearer_tokens: api_keys.unwrap_or_default(),
            },
            models,
            context_windows: context_windows.unwrap_or_default(),
            default_context_window,
            count_tokens_models,
            quotas,
            max_recorded,
        };
        let server = FakeServer::start(config, &host, port, crate::runtime::get().handle())
            .map_err(|e| {
                PyRuntimeError::new_err(format!(
                    "FakeBedrock could not listen on {host}:{port}: {e}"
                ))
            })?;
        Ok(Self { server, host })
    }

    /// The base URL to pass as `endpoint_url`, e.g. `http://127.0.0.1:54321`.
    #[getter]
    fn url(&self) -> String {
        self.server.url()
    }

    #[getter]
    fn host(&self) -> &str {
        &self.host
    }

    #[getter]
    fn port(&self) -> u16 {
        self.server.addr().port()
    }

    /// Scripted turns (and errors) not yet answered.
    #[getter]
    fn pending(&self) -> usize {
        self.server.state().pending()
    }

    /// Every request received so far, oldest first.
    #[getter]
    fn requests(&self) -> Vec<PyRecordedRequest> {
        self.server
            .state()
            .requests()
            .into_iter()
            .map(|inner| PyRecordedRequest { inner })
            .collect()
    }

    /// Forgets scripted turns, received requests and the prompt cache.
    fn reset(&self) {
        self.server.state().reset();
    }

    /// Queues one assistant turn given as boto3-shaped content blocks.
    #[pyo3(signature = (content, *, model_id = None, chunks = None, stop_reason = None, usage = None, latency_ms = None, stream_error = None, stream_error_message = None, after_events = 0, disconnect_after_events = None, first_byte_delay = 0.0, delta_delay = 0.0, trace = None))]
    #[allow(clippy::too_many_arguments)]
    fn enqueue_turn(
        &self,
        content: &Bound<'_, PyAny>,
        model_id: Option<String>,
        chunks: Option<usize>,
        stop_reason: Option<String>,
        usage: Option<&Bound<'_, PyAny>>,
        latency_ms: Option<u64>,
        stream_error: Option<String>,
        stream_error_message: Option<String>,
        after_events: usize,
        disconnect_after_events: Option<usize>,
        first_byte_delay: f64,
        delta_delay: f64,
        trace: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let trace: Option<Value> = match trace.filter(|t| !t.is_none()) {
            Some(t) => Some(
                depythonize(t).map_err(|e| value_error(format!("trace must be a dict: {e}")))?,
            ),
            None => None,
        };
        if trace.as_ref().is_some_and(|t| !t.is_object()) {
            return Err(value_error(
                "trace must be a dict, e.g. {\"guardrail\": {...}}",
            ));
        }
        let content: Value = depythonize(content)
            .map_err(|e| value_error(format!("content must be a list of dicts: {e}")))?;
        let blocks = parse_blocks(&content)?;
        let chunking = match chunks {
            None => Chunking::Words,
            Some(0) => {
                return Err(value_error(
                    "chunks must be >= 1 (or None for one delta per word)",
                ))
            }
            Some(n) => Chunking::Count(n),
        };
        if let Some(reason) = &stop_reason {
            if !STOP_REASONS.contains(&reason.as_str()) {
                return Err(value_error(format!(
                    "stop_reason must be one of {}, got {reason:?}",
                    STOP_REASONS.join(", ")
                )));
            }
        }
        let usage = match usage {
            Some(u) => Some(parse_usage(
                &depythonize(u).map_err(|e| value_error(format!("usage: {e}")))?,
            )?),
            None => None,
        };
        let stream_error = match stream_error {
            Some(name) => {
                let (member, code) = error_codes::stream_exception(&name).ok_or_else(|| {
                    value_error(format!(
                        "stream_error must be one of {}, got {name:?}",
                        error_codes::stream_exception_names()
                    ))
                })?;
                let message = stream_error_message.unwrap_or_else(|| {
                    error_codes::lookup(code)
                        .expect("known")
                        .default_message
                        .to_owned()
                });
                Some(StreamError {
                    member,
                    code,
                    message,
                    after_events,
                })
            }
            None if stream_error_message.is_some() => {
                return Err(value_error("stream_error_message needs stream_error"))
            }
            None => None,
        };
        let turn = Turn {
            blocks,
            chunking,
            stop_reason,
            usage,
            latency_ms,
            http_error: None,
            stream_error,
            disconnect_after_events,
            first_byte_delay: seconds("first_byte_delay", first_byte_delay)?,
            delta_delay: seconds("delta_delay", delta_delay)?,
            trace,
            served: Default::default(),
        };
        self.server.state().enqueue(turn, model_id);
        Ok(())
    }

    /// Queues an HTTP error answer (before any stream) with the service's status and body.
    #[pyo3(signature = (code, message = None, *, model_id = None, status = None, original_status_code = None, resource_name = None, original_message = None, first_byte_delay = 0.0))]
    #[allow(clippy::too_many_arguments)]
    fn enqueue_error(
        &self,
        code: String,
        message: Option<String>,
        model_id: Option<String>,
        status: Option<u16>,
        original_status_code: Option<u16>,
        resource_name: Option<String>,
        original_message: Option<String>,
        first_byte_delay: f64,
    ) -> PyResult<()> {
        let known = error_codes::lookup(&code);
        let status = match (status, known) {
            (Some(s), _) if !(400..600).contains(&s) => {
                return Err(value_error(format!(
                    "status must be an HTTP error status (400-599), got {s}"
                )))
            }
            (Some(s), _) => s,
            (None, Some(k)) => k.status,
            (None, None) => {
                return Err(value_error(format!(
                    "code must be one of {} (or pass status= for another code), got {code:?}",
                    error_codes::code_names()
                )))
            }
        };
        let message = message
            .or_else(|| known.map(|k| k.default_message.to_owned()))
            .unwrap_or_else(|| format!("{code} (scripted by FakeBedrock)"));
        let mut extra = serde_json::Map::new();
        if let Some(s) = original_status_code {
            extra.insert("originalStatusCode".into(), s.into());
        }
        if let Some(r) = resource_name {
            extra.insert("resourceName".into(), r.into());
        }
        if let Some(m) = original_message {
            extra.insert("originalMessage".into(), m.into());
        }
        let turn = Turn {
            http_error: Some(HttpError {
                code,
                status,
                message,
                extra: Box::new(extra),
            }),
            first_byte_delay: seconds("first_byte_delay", first_byte_delay)?,
            ..Turn::default()
        };
        self.server.state().enqueue(turn, model_id);
        Ok(())
    }

    /// Stops the server and closes its connections; returns once they are closed. Idempotent.
    fn close(&self, py: Python<'_>) {
        py.detach(|| self.server.stop_and_wait(CLOSE_TIMEOUT));
    }

    #[getter]
    fn closed(&self) -> bool {
        self.server.is_stopped()
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, py: Python<'_>, _args: &Bound<'_, pyo3::types::PyTuple>) {
        self.close(py);
    }

    fn __repr__(&self) -> String {
        format!(
            "FakeBedrock(url={:?}, pending={}, requests={}{})",
            self.server.url(),
            self.server.state().pending(),
            self.server.state().request_count(),
            if self.server.is_stopped() {
                ", closed"
            } else {
                ""
            }
        )
    }
}

/// One request FakeBedrock received.
#[pyclass(name = "RecordedRequest", module = "fastconverse._core", frozen)]
pub struct PyRecordedRequest {
    inner: std::sync::Arc<RecordedRequest>,
}

#[pymethods]
impl PyRecordedRequest {
    /// `Converse`, `ConverseStream` or `CountTokens` (or the path's last segment).
    #[getter]
    fn operation(&self) -> &str {
        &self.inner.operation
    }

    /// The model id, percent-decoded.
    #[getter]
    fn model_id(&self) -> Option<&str> {
        self.inner.model_id.as_deref()
    }

    #[getter]
    fn method(&self) -> &str {
        &self.inner.method
    }

    /// The path as received, still percent-encoded.
    #[getter]
    fn path(&self) -> &str {
        &self.inner.path
    }

    /// The parsed JSON body (None when the body was not JSON).
    #[getter]
    fn body<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(pythonize(py, &self.inner.body)?)
    }

    /// The body's bytes as received (its keys in the order they were sent).
    #[getter]
    fn raw_body<'py>(&self, py: Python<'py>) -> Bound<'py, pyo3::types::PyBytes> {
        pyo3::types::PyBytes::new(py, &self.inner.raw_body)
    }

    /// The request id FakeBedrock answered with (`x-amzn-RequestId`).
    #[getter]
    fn request_id(&self) -> &str {
        &self.inner.request_id
    }

    /// Headers with lower-case names.
    #[getter]
    fn headers<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        for (k, v) in &self.inner.headers {
            dict.set_item(k, v)?;
        }
        Ok(dict)
    }

    fn __repr__(&self) -> String {
        format!(
            "RecordedRequest(operation={:?}, model_id={:?})",
            self.inner.operation,
            self.inner.model_id.as_deref().unwrap_or("")
        )
    }
}

/// Registers the classes of this module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyFakeBedrock>()?;
    m.add_class::<PyRecordedRequest>()?;
    Ok(())
}
