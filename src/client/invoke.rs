//! InvokeModel and InvokeModelWithResponseStream, boto3-shaped, for code written against a
//! model's own body format. The body goes as given; the answer comes back as bytes
//! (`invoke_model`) or as `{"chunk": {"bytes": ...}}` events read by a pump task with the
//! GIL released (`invoke_model_with_response_stream`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use aws_sdk_bedrockruntime::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_bedrockruntime::operation::RequestId;
use aws_sdk_bedrockruntime::primitives::event_stream::EventReceiver;
use aws_sdk_bedrockruntime::types::error::ResponseStreamError;
use aws_sdk_bedrockruntime::types::{self as t, ResponseStream};
use aws_smithy_types::Blob;
use pyo3::exceptions::{PyStopAsyncIteration, PyStopIteration, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};
use tokio::sync::{mpsc, Mutex};
use tokio::task::AbortHandle;

use super::PyConverseClient;
use crate::errors::{self, ErrorInfo};
use crate::runtime;
use crate::wire::pyobj::{value_error, Obj};
use crate::wire::response;

const KEYS: &[&str] = &[
    "body",
    "contentType",
    "accept",
    "modelId",
    "trace",
    "guardrailIdentifier",
    "guardrailVersion",
    "performanceConfigLatency",
];

/// boto3's blob argument: bytes, a str (its UTF-8 bytes, as boto3 sends it) or a file
/// opened in binary mode (read whole).
fn body_bytes(value: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if let Ok(b) = value.cast::<PyBytes>() {
        return Ok(b.as_bytes().to_vec());
    }
    if let Ok(s) = value.cast::<PyString>() {
        return Ok(s.to_cow()?.as_bytes().to_vec());
    }
    if value.hasattr("read")? {
        return body_bytes(&value.call_method0("read")?);
    }
    if let Ok(b) = value.extract::<Vec<u8>>() {
        return Ok(b);
    }
    Err(PyTypeError::new_err(format!(
        "body: expected bytes, a str or a binary file, got {}",
        value.get_type().name()?
    )))
}

struct Args {
    model: String,
    body: Vec<u8>,
    content_type: Option<String>,
    accept: Option<String>,
    trace: Option<t::Trace>,
    guardrail: (Option<String>, Option<String>),
    latency: Option<t::PerformanceConfigLatency>,
}

fn args(client: &PyConverseClient, kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<Args> {
    let Some(kwargs) = kwargs else {
        return Err(PyTypeError::new_err(
            "invoke_model takes body= and modelId=",
        ));
    };
    let a = Obj::new(kwargs.as_any(), "")?;
    a.only(KEYS)?;
    let model = a
        .str("modelId")?
        .or_else(|| client.ready().ok().and_then(|r| r.model_id.clone()))
        .ok_or_else(|| value_error("modelId", "no model given"))?;
    Ok(Args {
        model,
        body: body_bytes(&a.req("body")?)?,
        content_type: a.str("contentType")?,
        accept: a.str("accept")?,
        trace: a.str("trace")?.map(|s| t::Trace::from(s.as_str())),
        guardrail: (a.str("guardrailIdentifier")?, a.str("guardrailVersion")?),
        latency: a
            .str("performanceConfigLatency")?
            .map(|s| t::PerformanceConfigLatency::from(s.as_str())),
    })
}

macro_rules! with_args {
    ($fluent:expr, $a:expr) => {{
        let a = $a;
        $fluent
            .model_id(a.model)
            .body(Blob::new(a.body))
            .set_content_type(a.content_type)
            .set_accept(a.accept)
            .set_trace(a.trace)
            .set_guardrail_identifier(a.guardrail.0)
            .set_guardrail_version(a.guardrail.1)
            .set_performance_config_latency(a.latency)
    }};
}

/// boto3's `invoke_model`: the result's `body` is the answer's bytes (the Python client
/// wraps them in a readable body, as boto3's `StreamingBody`).
#[pyfunction]
#[pyo3(signature = (client, **kwargs))]
pub fn _invoke_model<'py>(
    py: Python<'py>,
    client: PyRef<'_, PyConverseClient>,
    kwargs: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyDict>> {
    let a = args(&client, kwargs)?;
    let model = a.model.clone();
    let fluent = with_args!(client.ready()?.sdk.invoke_model(), a);
    let watched = model.clone();
    let (out, seen) = runtime::wait(py, async move {
        crate::send_watched!(fluent, &watched, "InvokeModel")
    })?;
    let out = out.map_err(|e| e.into_pyerr(py))?;
    let d = PyDict::new(py);
    d.set_item(
        "ResponseMetadata",
        response::response_metadata(py, out.request_id(), &seen)?,
    )?;
    d.set_item("body", PyBytes::new(py, out.body.as_ref()))?;
    d.set_item("contentType", &out.content_type)?;
    if let Some(l) = &out.performance_config_latency {
        d.set_item("performanceConfigLatency", l.as_str())?;
    }
    Ok(d)
}

/// boto3's `invoke_model_with_response_stream`: `body` yields `{"chunk": {"bytes": ...}}`.
#[pyfunction]
#[pyo3(signature = (client, **kwargs))]
pub fn _invoke_model_with_response_stream<'py>(
    py: Python<'py>,
    client: PyRef<'_, PyConverseClient>,
    kwargs: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyDict>> {
    let a = args(&client, kwargs)?;
    let model = a.model.clone();
    let ready = client.ready()?;
    let idle = ready.read_timeout;
    let fluent = with_args!(ready.sdk.invoke_model_with_response_stream(), a);
    let watched = model.clone();
    let (out, seen) = runtime::wait(py, async move {
        crate::send_watched!(fluent, &watched, "InvokeModelWithResponseStream")
    })?;
    let out = out.map_err(|e| e.into_pyerr(py))?;
    let d = PyDict::new(py);
    d.set_item(
        "ResponseMetadata",
        response::response_metadata(py, out.request_id(), &seen)?,
    )?;
    d.set_item("contentType", &out.content_type)?;
    let stream = PyChunkStream::spawn(out.body, idle, model);
    d.set_item("body", Py::new(py, stream)?)?;
    Ok(d)
}

enum Chunk {
    Bytes(Vec<u8>),
    End,
    Failed(ErrorInfo),
}

type Receiver = EventReceiver<ResponseStream, ResponseStreamError>;

fn chunk_error<R: std::fmt::Debug>(err: &SdkError<ResponseStreamError, R>) -> ErrorInfo {
    match err {
        SdkError::ServiceError(service) => {
            let e = service.err();
            let code = e.code().unwrap_or(match e {
                ResponseStreamError::ThrottlingException(_) => "ThrottlingException",
                ResponseStreamError::ValidationException(_) => "ValidationException",
                ResponseStreamError::ModelStreamErrorException(_) => "ModelStreamErrorException",
                ResponseStreamError::ModelTimeoutException(_) => "ModelTimeoutException",
                ResponseStreamError::InternalServerException(_) => "InternalServerException",
                ResponseStreamError::ServiceUnavailableException(_) => {
                    "ServiceUnavailableException"
                }
                _ => "Unknown",
            });
            ErrorInfo::service(code, e.message().unwrap_or("")).with_status(200)
        }
        other => {
            let mut info = ErrorInfo::new(
                "StreamInterruptedError",
                format!(
                    "the stream was cut before it ended: {}",
                    errors::readable(other)
                ),
            );
            info.retryable = true;
            info
        }
    }
}

const STREAM_OPERATION: &str = "InvokeModelWithResponseStream";

async fn pump(mut receiver: Receiver, tx: mpsc::Sender<Chunk>, idle: Duration, model: String) {
    loop {
        let item = match tokio::time::timeout(idle, receiver.recv()).await {
            Ok(Ok(Some(ResponseStream::Chunk(part)))) => {
                Chunk::Bytes(part.bytes.map(Blob::into_inner).unwrap_or_default())
            }
            Ok(Ok(Some(_))) => continue, // (an event this SDK version does not know)
            Ok(Ok(None)) => Chunk::End,
            Ok(Err(e)) => Chunk::Failed(
                chunk_error(&e)
                    .with_model(Some(&model))
                    .with_operation(STREAM_OPERATION),
            ),
            Err(_) => {
                let mut info = ErrorInfo::new(
                    "StreamInterruptedError",
                    format!("no event for {:.0} s (read_timeout)", idle.as_secs_f64()),
                );
                info.retryable = true;
                Chunk::Failed(
                    info.with_model(Some(&model))
                        .with_operation(STREAM_OPERATION),
                )
            }
        };
        let last = !matches!(item, Chunk::Bytes(_));
        if tx.send(item).await.is_err() || last {
            return;
        }
    }
}

/// `response["body"]` of `invoke_model_with_response_stream`: `for` or `async for`.
#[pyclass(name = "ChunkStream", module = "fastconverse._core", frozen)]
pub struct PyChunkStream {
    rx: std::sync::Arc<Mutex<mpsc::Receiver<Chunk>>>,
    /// Chunks received and not yet handed to a reader. A receive puts its chunk here with
    /// no await in between, and the reader takes it on its own thread: a read cancelled or
    /// interrupted after the receive leaves the chunk for the next read, never loses it.
    received: Received,
    task: AbortHandle,
    done: std::sync::Arc<AtomicBool>,
}

type Received = std::sync::Arc<std::sync::Mutex<std::collections::VecDeque<Chunk>>>;

fn take(received: &Received) -> Option<Chunk> {
    received
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .pop_front()
}

/// Receives the next chunk into `received` (cancel-safe: tokio's `recv` loses nothing when
/// dropped, and nothing is awaited after it). Each read receives one chunk and takes one,
/// first in first out, so two readers at once share the chunks in order.
async fn receive(rx: std::sync::Arc<Mutex<mpsc::Receiver<Chunk>>>, received: Received) {
    let item = rx.lock().await.recv().await.unwrap_or(Chunk::End);
    received
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push_back(item);
}

impl PyChunkStream {
    fn spawn(receiver: Receiver, idle: Duration, model: String) -> Self {
        let (tx, rx) = mpsc::channel(64);
        let task = runtime::get()
            .spawn(pump(receiver, tx, idle, model))
            .abort_handle();
        Self {
            rx: std::sync::Arc::new(Mutex::new(rx)),
            received: Default::default(),
            task,
            done: Default::default(),
        }
    }
}

fn chunk_dict(
    py: Python<'_>,
    item: Option<Chunk>,
    done: &AtomicBool,
) -> PyResult<Option<Py<PyAny>>> {
    match item {
        Some(Chunk::Bytes(b)) => {
            let inner = PyDict::new(py);
            inner.set_item("bytes", PyBytes::new(py, &b))?;
            let d = PyDict::new(py);
            d.set_item("chunk", inner)?;
            Ok(Some(d.into_any().unbind()))
        }
        Some(Chunk::Failed(info)) => {
            done.store(true, Ordering::Release);
            Err(info.into_pyerr(py))
        }
        Some(Chunk::End) | None => {
            done.store(true, Ordering::Release);
            Ok(None)
        }
    }
}

#[pymethods]
impl PyChunkStream {
    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        if self.done.load(Ordering::Acquire) {
            return Err(PyStopIteration::new_err(()));
        }
        // (a chunk a cancelled or interrupted read received comes first)
        let item = loop {
            if let Some(item) = take(&self.received) {
                break item;
            }
            if self.done.load(Ordering::Acquire) {
                return Err(PyStopIteration::new_err(()));
            }
            runtime::wait(py, receive(self.rx.clone(), self.received.clone()))?;
        };
        chunk_dict(py, Some(item), &self.done)?.ok_or_else(|| PyStopIteration::new_err(()))
    }

    fn __aiter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __anext__(&self, py: Python<'_>) -> runtime::Bridge {
        // (a chunk a cancelled read received is handed over at once)
        if let Some(item) = take(&self.received) {
            let out = chunk_dict(py, Some(item), &self.done)
                .and_then(|event| event.ok_or_else(|| PyStopAsyncIteration::new_err(())));
            return runtime::Bridge::value(out);
        }
        let rx = self.rx.clone();
        let done = self.done.clone();
        let received = self.received.clone();
        runtime::Bridge::spawn(async move {
            if !done.load(Ordering::Acquire) {
                receive(rx, received.clone()).await;
            }
            // The chunk is taken in the awaiting task: a cancelled await takes nothing.
            Box::new(move |py: Python<'_>| -> PyResult<Py<PyAny>> {
                let item = if done.load(Ordering::Acquire) {
                    None
                } else {
                    take(&received)
                };
                chunk_dict(py, item, &done)?.ok_or_else(|| PyStopAsyncIteration::new_err(()))
            }) as runtime::Finisher
        })
    }

    /// Stops reading and closes the connection (also done when the stream is dropped).
    fn close(&self) {
        self.done.store(true, Ordering::Release);
        self.task.abort();
    }
}

impl Drop for PyChunkStream {
    fn drop(&mut self) {
        self.task.abort();
    }
}
