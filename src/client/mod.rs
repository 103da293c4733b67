//! `ConverseClient`: the boto3-shaped layer (`converse`, `converse_async`, `count_tokens`)
//! over the official Rust SDK.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_bedrockruntime::operation::RequestId;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

pub mod invoke;
mod requests;

use crate::config::{self, Settings};
use crate::conversation::taken;
use crate::conversation::{PyConversationCore, Start};
use crate::errors::ErrorInfo;
use crate::limit::{py::PyRateLimit, Limiter};
use crate::runtime::{self, Bridge, Finisher};
use crate::store::link::{Link, Stamp};
use crate::store::py::{PyStore, PyStored};
use crate::stream::{PyEventStream, Started};
use crate::turn::io::Backend;
use crate::turn::machine::Base;
use crate::wire::pyobj::{py_repr, Obj};
use crate::wire::response;

/// A started ConverseStream and its model, or why it did not start.
type StreamStart = Result<(Started, String), ErrorInfo>;

/// A client of Bedrock Runtime's Converse API.
#[pyclass(
    name = "ConverseClient",
    module = "fastconverse._core",
    frozen,
    subclass
)]
pub struct PyConverseClient {
    /// Set by `__init__` (`_configure`), so that subclasses can take their own arguments.
    ready: std::sync::OnceLock<Ready>,
}

/// A client's settings, once `__init__` has run.
struct Ready {
    sdk: aws_sdk_bedrockruntime::Client,
    /// Also the longest wait for the next event of a stream.
    read_timeout: Duration,
    max_attempts: u32,
    /// How many times a conversation's cut stream resumes.
    resume: u32,
    model_id: Option<String>,
    region: String,
    endpoint_url: Option<String>,
    /// How many conversations the Python client keeps by id.
    max_conversations: usize,
    limiter: Option<Arc<Limiter>>,
}

impl PyConverseClient {
    fn ready(&self) -> PyResult<&Ready> {
        self.ready.get().ok_or_else(|| {
            pyo3::exceptions::PyRuntimeError::new_err(
                "this ConverseClient is not initialised: a subclass's __init__ must call super().__init__(model_id, ...)",
            )
        })
    }
}

fn stream_result<'py>(
    py: Python<'py>,
    (started, model): (Started, String),
    idle: Duration,
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item(
        "ResponseMetadata",
        response::response_metadata(py, started.request_id.as_deref(), &started.seen)?,
    )?;
    d.set_item(
        "stream",
        Py::new(py, PyEventStream::new(started, idle, model))?,
    )?;
    Ok(d)
}

#[pymethods]
impl PyConverseClient {
    /// An uninitialised client: `__init__` configures it (`_configure`), so that a subclass's
    /// own constructor arguments never reach this one.
    #[new]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn new(_args: &Bound<'_, pyo3::types::PyTuple>, _kwargs: Option<&Bound<'_, PyDict>>) -> Self {
        Self {
            ready: std::sync::OnceLock::new(),
        }
    }

    /// The constructor's work: settings checked, the SDK client built (once).
    #[pyo3(signature = (model_id = None, profile_name = None, region_name = None, *, endpoint_url = None, aws_access_key_id = None, aws_secret_access_key = None, aws_session_token = None, max_attempts = 3, connect_timeout = 10.0, read_timeout = 300.0, max_conversations = 1000, rate_limit = None, resume = 2))]
    #[allow(clippy::too_many_arguments)]
    fn _configure(
        &self,
        py: Python<'_>,
        model_id: Option<String>,
        profile_name: Option<String>,
        region_name: Option<String>,
        endpoint_url: Option<String>,
        aws_access_key_id: Option<String>,
        aws_secret_access_key: Option<String>,
        aws_session_token: Option<String>,
        max_attempts: u32,
        connect_timeout: f64,
        read_timeout: f64,
        max_conversations: usize,
        rate_limit: Option<PyRef<'_, PyRateLimit>>,
        resume: u32,
    ) -> PyResult<()> {
        if self.ready.get().is_some() {
            return Err(pyo3::exceptions::PyRuntimeError::new_err(
                "this ConverseClient is initialised already",
            ));
        }
        if max_conversations == 0 {
            return Err(PyValueError::new_err(
                "max_conversations: expected an int >= 1",
            ));
        }
        if aws_access_key_id.is_some() != aws_secret_access_key.is_some() {
            return Err(PyValueError::new_err(
                "aws_access_key_id and aws_secret_access_key go together: pass both or neither",
            ));
        }
        if aws_session_token.is_some() && aws_access_key_id.is_none() {
            return Err(PyValueError::new_err(
                "aws_session_token needs aws_access_key_id and aws_secret_access_key",
            ));
        }
        if max_attempts == 0 {
            return Err(PyValueError::new_err(
                "max_attempts must be >= 1 (1 means no retries)",
            ));
        }
        if let Some(url) = &endpoint_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(PyValueError::new_err(format!(
                    "endpoint_url must start with http:// or https://, got {url:?}"
                )));
            }
        }
        if model_id.as_deref() == Some("") {
            return Err(PyValueError::new_err("model_id must not be empty"));
        }
        let read_timeout = runtime::seconds("read_timeout", read_timeout, false)?;
        let settings = Settings {
            region: region_name,
            profile: profile_name,
            endpoint_url: endpoint_url.clone(),
            access_key_id: aws_access_key_id,
            secret_access_key: aws_secret_access_key,
            session_token: aws_session_token,
            max_attempts,
            connect_timeout: runtime::seconds("connect_timeout", connect_timeout, false)?,
            read_timeout,
            limiter: rate_limit.as_ref().map(|r| r.limiter.clone()),
        };
        let (sdk, region) =
            runtime::wait(py, config::sdk_client(settings))?.map_err(|e| e.into_pyerr(py))?;
        let ready = Ready {
            sdk,
            read_timeout,
            max_attempts,
            resume,
            max_conversations,
            model_id,
            region,
            endpoint_url,
            limiter: rate_limit.map(|r| r.limiter.clone()),
        };
        self.ready.set(ready).map_err(|_| {
            pyo3::exceptions::PyRuntimeError::new_err("this ConverseClient is initialised already")
        })
    }

    /// How many times a conversation's stream that is cut after content resumes (0: never).
    #[getter]
    fn resume(&self) -> PyResult<u32> {
        Ok(self.ready()?.resume)
    }

    /// The default model of `converse` calls without `modelId` and of new conversations.
    #[getter]
    fn model_id(&self) -> PyResult<Option<&str>> {
        Ok(self.ready()?.model_id.as_deref())
    }

    /// How many conversations the client keeps by id (the least recently active beyond it
    /// are forgotten by the client; a conversation you hold keeps working).
    #[getter]
    fn max_conversations(&self) -> PyResult<usize> {
        Ok(self.ready()?.max_conversations)
    }

    #[getter]
    fn region_name(&self) -> PyResult<&str> {
        Ok(&self.ready()?.region)
    }

    #[getter]
    fn endpoint_url(&self) -> PyResult<Option<&str>> {
        Ok(self.ready()?.endpoint_url.as_deref())
    }

    fn __repr__(&self) -> String {
        // Note: never credentials, whatever was passed.
        let Some(r) = self.ready.get() else {
            return "ConverseClient(<not initialised>)".into();
        };
        format!(
            "ConverseClient(model_id={}, region_name={}, endpoint_url={})",
            r.model_id.as_deref().map_or("None".into(), py_repr),
            py_repr(&r.region),
            r.endpoint_url.as_deref().map_or("None".into(), py_repr)
        )
    }

    /// boto3's `converse`: same keyword arguments, same returned dict.
    #[pyo3(signature = (**kwargs))]
    fn converse<'py>(
        &self,
        py: Python<'py>,
        kwargs: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let (_, fut) = self.converse_future(kwargs)?;
        let (out, seen) = runtime::wait(py, fut)?.map_err(|e| e.into_pyerr(py))?;
        response::converse_output(py, &out, out.request_id(), &seen)
    }

    /// `converse` as an awaitable, on the caller's event loop.
    #[pyo3(signature = (**kwargs))]
    fn converse_async(&self, kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<Bridge> {
        let (_, fut) = self.converse_future(kwargs)?;
        Ok(Bridge::spawn(async move {
            let out = fut.await;
            Box::new(move |py: Python<'_>| -> PyResult<Py<PyAny>> {
                let (out, seen) = out.map_err(|e| e.into_pyerr(py))?;
                Ok(
                    response::converse_output(py, &out, out.request_id(), &seen)?
                        .into_any()
                        .unbind(),
                )
            }) as Finisher
        }))
    }

    /// boto3's `converse_stream`: sends the request now; `["stream"]` yields event dicts.
    #[pyo3(signature = (**kwargs))]
    fn converse_stream<'py>(
        &self,
        py: Python<'py>,
        kwargs: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let fut = self.stream_future(kwargs)?;
        let started = runtime::wait(py, fut)?.map_err(|e| e.into_pyerr(py))?;
        stream_result(py, started, self.ready()?.read_timeout)
    }

    /// `converse_stream` as an awaitable.
    #[pyo3(signature = (**kwargs))]
    fn converse_stream_async(&self, kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<Bridge> {
        let fut = self.stream_future(kwargs)?;
        let idle = self.ready()?.read_timeout;
        Ok(Bridge::spawn(async move {
            let started = fut.await;
            Box::new(move |py: Python<'_>| -> PyResult<Py<PyAny>> {
                let started = started.map_err(|e| e.into_pyerr(py))?;
                Ok(stream_result(py, started, idle)?.into_any().unbind())
            }) as Finisher
        }))
    }

    /// boto3's `count_tokens`: `count_tokens(modelId=..., input={"converse": {...}})`.
    #[pyo3(signature = (**kwargs))]
    fn count_tokens<'py>(
        &self,
        py: Python<'py>,
        kwargs: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let Some(kwargs) = kwargs else {
            return Err(PyTypeError::new_err(
                "count_tokens takes modelId= and input=",
            ));
        };
        let ready = self.ready()?;
        let args = Obj::new(kwargs.as_any(), "")?;
        args.only(&["modelId", "input"])?;
        let model = args
            .str("modelId")?
            .or_else(|| ready.model_id.clone())
            .ok_or_else(|| PyValueError::new_err("modelId: no model given"))?;
        let input = args.req_obj("input")?;
        let sdk_input = crate::wire::count_tokens::input(&input)?;
        let fluent = self
            .ready()?
            .sdk
            .count_tokens()
            .model_id(model.clone())
            .input(sdk_input);
        let (out, seen) = runtime::wait(py, async move {
            crate::send_watched!(fluent, &model, "CountTokens")
        })?;
        let out = out.map_err(|e| e.into_pyerr(py))?;
        let d = PyDict::new(py);
        d.set_item(
            "ResponseMetadata",
            response::response_metadata(py, out.request_id(), &seen)?,
        )?;
        d.set_item("inputTokens", out.input_tokens())?;
        Ok(d)
    }

    // The conversation layer.

    /// A conversation's native core (the Python client wraps it and keeps it by id).
    #[pyo3(signature = (system_prompt, *, conversation_id, model_id, inference_config, additional_model_request_fields, messages, tools, callable, max_tool_rounds, tool_choice, memory = None, cache = None, store = None, settings = None, metadata = None, stored = None, guardrail_config = None, service_tier = None, performance_config = None, request_metadata = None))]
    #[allow(clippy::too_many_arguments)]
    fn _new_conversation(
        &self,
        py: Python<'_>,
        system_prompt: Option<&Bound<'_, PyAny>>,
        conversation_id: Option<String>,
        model_id: Option<String>,
        inference_config: Option<&Bound<'_, PyAny>>,
        additional_model_request_fields: Option<&Bound<'_, PyAny>>,
        messages: Option<&Bound<'_, PyAny>>,
        tools: Option<&Bound<'_, PyAny>>,
        callable: Vec<String>,
        max_tool_rounds: u32,
        tool_choice: Option<&Bound<'_, PyAny>>,
        memory: Option<&Bound<'_, PyAny>>,
        cache: Option<&Bound<'_, PyAny>>,
        store: Option<PyRef<'_, PyStore>>,
        settings: Option<&str>,
        metadata: Option<&Bound<'_, PyAny>>,
        stored: Option<PyRef<'_, PyStored>>,
        guardrail_config: Option<&Bound<'_, PyAny>>,
        service_tier: Option<&Bound<'_, PyAny>>,
        performance_config: Option<&Bound<'_, PyAny>>,
        request_metadata: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyConversationCore> {
        let ready = self.ready()?;
        let record = stored.map(|s| s.take()).transpose()?;
        let model_id = record
            .as_ref()
            .map(|r| r.head.model_id.clone())
            .or(model_id);
        let model_id =
            match model_id.or_else(|| ready.model_id.clone()) {
                Some(m) if !m.trim().is_empty() => m,
                Some(_) => return Err(PyValueError::new_err("model_id must not be empty")),
                None => return Err(PyValueError::new_err(
                    "model_id: no model given; pass model_id=... here or to ConverseClient(...)",
                )),
            };
        let mut setup = crate::settings::setup_from(
            system_prompt,
            inference_config,
            additional_model_request_fields,
        )?;
        crate::settings::add_tools(&mut setup, tools, callable, max_tool_rounds, tool_choice)?;
        setup.guardrail = crate::settings::guardrail_from(guardrail_config)?;
        setup.serving =
            crate::settings::serving_from(service_tier, performance_config, request_metadata)?;
        let select = crate::settings::add_memory(&mut setup, memory, cache)?;
        let history = match messages.filter(|m| !m.is_none()) {
            Some(m) => crate::history::initial_history(m)?,
            None => Vec::new(),
        };
        let id = match conversation_id {
            Some(id) if id.trim().is_empty() => {
                return Err(PyValueError::new_err("conversation_id must not be empty"))
            }
            Some(id) => id,
            None => uuid::Uuid::new_v4().to_string(),
        };
        let backend = Backend {
            sdk: ready.sdk.clone(),
            read_timeout: ready.read_timeout,
            max_attempts: ready.max_attempts,
            resume: ready.resume,
            limiter: ready.limiter.clone(),
        };
        let metadata = crate::wire::json::object_from_py(metadata, "metadata")?;
        let link = |store: &PyStore| {
            let settings = settings.map(serde_json::from_str).transpose();
            settings
                .map(|s| {
                    Some(Arc::new(Link {
                        store: store.store.clone(),
                        id: id.clone(),
                        settings: std::sync::Mutex::new(s.unwrap_or_default()),
                    }))
                })
                .map_err(|e| PyValueError::new_err(format!("settings: not JSON ({e})")))
        };
        let (start, new) = match (record, store.as_deref()) {
            (Some(record), Some(store)) => {
                let (history, stamp, usage, _) = taken(record);
                let link = link(store)?;
                (
                    Start {
                        history,
                        usage,
                        stamp,
                        link,
                    },
                    false,
                )
            }
            (None, store) => {
                let link = store.map(link).transpose()?.flatten();
                let start = Start {
                    history: Base::from(history),
                    usage: Default::default(),
                    stamp: Stamp::new(metadata),
                    link,
                };
                (start, store.is_some())
            }
            (Some(_), None) => return Err(PyValueError::new_err("stored: needs its store")),
        };
        let core = PyConversationCore::new(id, model_id, backend, setup, start, select);
        if new {
            core.write_as(py, None, 0)?;
        }
        Ok(core)
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyConverseClient>()?;
    m.add_class::<PyEventStream>()
}
