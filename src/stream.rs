//! The Python iterator over a ConverseStream: one object that is both iterable (blocking,
//! GIL released) and async-iterable, yielding boto3-shaped event dicts as frames arrive.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_bedrockruntime::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_bedrockruntime::types::error::ConverseStreamOutputError;
use aws_sdk_bedrockruntime::types::ConverseStreamOutput;
use pyo3::exceptions::{PyStopAsyncIteration, PyStopIteration};
use pyo3::prelude::*;
use tokio::sync::Mutex;

use crate::errors::ErrorInfo;
use crate::runtime;
use crate::wire::response;

type Receiver = aws_sdk_bedrockruntime::primitives::event_stream::EventReceiver<
    ConverseStreamOutput,
    ConverseStreamOutputError,
>;

/// The code of an in-stream exception: the SDK knows it from `:exception-type` only, as
/// the variant (the payload carries just the message).
fn stream_error_code(err: &ConverseStreamOutputError) -> &'static str {
    match err {
        ConverseStreamOutputError::ThrottlingException(_) => "ThrottlingException",
        ConverseStreamOutputError::ValidationException(_) => "ValidationException",
        ConverseStreamOutputError::ModelStreamErrorException(_) => "ModelStreamErrorException",
        ConverseStreamOutputError::InternalServerException(_) => "InternalServerException",
        ConverseStreamOutputError::ServiceUnavailableException(_) => "ServiceUnavailableException",
        _ => "Unknown",
    }
}

/// Classifies an error that ended a stream.
pub fn stream_error<R: std::fmt::Debug>(err: &SdkError<ConverseStreamOutputError, R>) -> ErrorInfo {
    match err {
        SdkError::ServiceError(service) => {
            let e = service.err();
            let code = e.code().unwrap_or_else(|| stream_error_code(e));
            ErrorInfo::service(code, e.message().unwrap_or(""))
        }
        // Anything else after the stream started means the connection broke.
        other => {
            let mut info = ErrorInfo::new(
                "StreamInterruptedError",
                format!(
                    "the stream was cut before it ended: {}",
                    aws_sdk_bedrockruntime::error::DisplayErrorContext(other)
                ),
            );
            info.retryable = true;
            info
        }
    }
}

struct State {
    receiver: Option<Receiver>,
}

/// What one read of the stream gave.
pub enum Next {
    Event(ConverseStreamOutput),
    End,
    Failed(ErrorInfo),
}

/// Shared by the sync and async sides: the receiver behind an async mutex, so that a
/// second reader waits instead of interleaving.
#[derive(Clone)]
pub struct StreamReader {
    state: Arc<Mutex<State>>,
    idle_timeout: Duration,
    model_id: String,
}

impl StreamReader {
    pub fn new(receiver: Receiver, idle_timeout: Duration, model_id: String) -> Self {
        Self {
            state: Arc::new(Mutex::new(State {
                receiver: Some(receiver),
            })),
            idle_timeout,
            model_id,
        }
    }

    /// Reads the next event; after the end or an error, every read gives End.
    pub async fn next(&self) -> Next {
        let mut state = self.state.lock().await;
        let Some(receiver) = state.receiver.as_mut() else {
            return Next::End;
        };
        // Note: the SDK's receiver has no idle timeout of its own (WIRE.md).
        let next = match tokio::time::timeout(self.idle_timeout, receiver.recv()).await {
            Ok(Ok(Some(event))) => return Next::Event(event),
            Ok(Ok(None)) => Next::End,
            Ok(Err(err)) => Next::Failed(stream_error(&err).with_model(Some(&self.model_id))),
            Err(_) => {
                let mut info = ErrorInfo::new(
                    "StreamInterruptedError",
                    format!("no event arrived for {:?}", self.idle_timeout),
                );
                info.retryable = true;
                Next::Failed(info.with_model(Some(&self.model_id)))
            }
        };
        // Dropping the receiver closes the connection.
        state.receiver = None;
        next
    }

    /// Stops reading and closes the connection.
    pub async fn close(&self) {
        self.state.lock().await.receiver = None;
    }
}

/// `response["stream"]` of `converse_stream`: iterate it with `for` or `async for`.
#[pyclass(name = "EventStream", module = "fastconverse._core", frozen)]
pub struct PyEventStream {
    reader: StreamReader,
}

impl PyEventStream {
    pub fn new(reader: StreamReader) -> Self {
        Self { reader }
    }
}

#[pymethods]
impl PyEventStream {
    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __next__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let reader = self.reader.clone();
        match runtime::block_on(py, async move { reader.next().await })? {
            Next::Event(event) => Ok(response::stream_event(py, &event)?.into_any()),
            Next::End => Err(PyStopIteration::new_err(())),
            Next::Failed(info) => Err(info.into_pyerr(py)),
        }
    }

    fn __aiter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __anext__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let reader = self.reader.clone();
        pyo3_async_runtimes::tokio::future_into_py(py, async move {
            let next = reader.next().await;
            Python::attach(|py| match next {
                Next::Event(event) => Ok(response::stream_event(py, &event)?.into_any().unbind()),
                Next::End => Err(PyStopAsyncIteration::new_err(())),
                Next::Failed(info) => Err(info.into_pyerr(py)),
            })
        })
    }

    /// Stops reading and closes the connection (also done when the stream is dropped).
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let reader = self.reader.clone();
        runtime::block_on(py, async move { reader.close().await })
    }

    fn __repr__(&self) -> String {
        format!("EventStream(model_id={:?})", self.reader.model_id)
    }
}
