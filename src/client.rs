//! `ConverseClient`: the boto3-shaped layer (`converse`, `converse_async`, `count_tokens`)
//! over the official Rust SDK.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use aws_sdk_bedrockruntime::operation::RequestId;
use aws_sdk_bedrockruntime::types as t;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::config::{self, Settings};
use crate::conversation::{self, Backend, PyConversation};
use crate::errors::{self, ErrorInfo};
use crate::runtime;
use crate::stream::{PyEventStream, Started};
use crate::wire::pyobj::{py_repr, Obj};
use crate::wire::request::ConverseRequest;
use crate::wire::response;

/// Applies the arguments Converse and ConverseStream share to either fluent builder.
macro_rules! with_common {
    ($fluent:expr, $req:expr) => {
        $fluent
            .set_messages($req.messages)
            .set_system($req.system)
            .set_inference_config($req.inference_config)
            .set_tool_config($req.tool_config)
            .set_additional_model_request_fields($req.additional_model_request_fields)
            .set_additional_model_response_field_paths($req.additional_model_response_field_paths)
            .set_request_metadata($req.request_metadata)
            .set_performance_config($req.performance_config)
            .set_prompt_variables($req.prompt_variables)
    };
}

type StreamStart = Result<(Started, String), ErrorInfo>;

fn seconds(name: &str, value: f64) -> PyResult<Duration> {
    if value.is_finite() && value > 0.0 {
        Ok(Duration::from_secs_f64(value))
    } else {
        Err(PyValueError::new_err(format!(
            "{name} must be a number of seconds > 0, got {value}"
        )))
    }
}

/// A client of Bedrock Runtime's Converse API.
#[pyclass(
    name = "ConverseClient",
    module = "fastconverse._core",
    frozen,
    subclass
)]
pub struct PyConverseClient {
    sdk: aws_sdk_bedrockruntime::Client,
    /// Also the longest wait for the next event of a stream.
    read_timeout: Duration,
    max_attempts: u32,
    model_id: Option<String>,
    region: String,
    endpoint_url: Option<String>,
    /// Conversations by id (in memory for now).
    registry: Mutex<HashMap<String, Py<PyConversation>>>,
}

impl PyConverseClient {
    fn model_for(&self, req: &ConverseRequest) -> PyResult<String> {
        req.model_id
            .clone()
            .or_else(|| self.model_id.clone())
            .ok_or_else(|| {
                PyValueError::new_err(
                    "modelId: no model given; pass modelId=... or create the client with model_id=...",
                )
            })
    }

    fn converse_future(
        &self,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<(
        String,
        impl std::future::Future<
                Output = Result<
                    aws_sdk_bedrockruntime::operation::converse::ConverseOutput,
                    ErrorInfo,
                >,
            > + Send
            + 'static,
    )> {
        let req = ConverseRequest::from_kwargs(kwargs)?;
        let model = self.model_for(&req)?;
        let mut guardrail = None;
        if let Some((id, version, trace, mode)) = req.guardrail {
            if mode.is_some() {
                return Err(PyValueError::new_err(
                    "guardrailConfig.streamProcessingMode: only converse_stream takes it",
                ));
            }
            guardrail = Some(
                t::GuardrailConfiguration::builder()
                    .guardrail_identifier(id)
                    .guardrail_version(version)
                    .set_trace(trace.map(|s| t::GuardrailTrace::from(s.as_str())))
                    .build(),
            );
        }
        let fluent = with_common!(
            self.sdk
                .converse()
                .model_id(model.clone())
                .set_guardrail_config(guardrail),
            req
        );
        let model_for_error = model.clone();
        let fut = async move {
            fluent
                .send()
                .await
                .map_err(|e| errors::from_sdk(&e).with_model(Some(&model_for_error)))
        };
        Ok((model, fut))
    }

    /// Starts a ConverseStream: resolves once the response headers arrived.
    fn stream_future(
        &self,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<impl std::future::Future<Output = StreamStart> + Send + 'static> {
        let req = ConverseRequest::from_kwargs(kwargs)?;
        let model = self.model_for(&req)?;
        let guardrail = req.guardrail.clone().map(|(id, version, trace, mode)| {
            t::GuardrailStreamConfiguration::builder()
                .guardrail_identifier(id)
                .guardrail_version(version)
                .set_trace(trace.map(|s| t::GuardrailTrace::from(s.as_str())))
                .set_stream_processing_mode(
                    mode.map(|m| t::GuardrailStreamProcessingMode::from(m.as_str())),
                )
                .build()
        });
        let fluent = with_common!(
            self.sdk
                .converse_stream()
                .model_id(model.clone())
                .set_guardrail_config(guardrail),
            req
        );
        Ok(async move {
            let out = fluent
                .send()
                .await
                .map_err(|e| errors::from_sdk(&e).with_model(Some(&model)))?;
            let request_id = out.request_id().map(str::to_owned);
            Ok((
                Started {
                    receiver: out.stream,
                    request_id,
                },
                model,
            ))
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
        response::response_metadata(py, started.request_id.as_deref())?,
    )?;
    d.set_item(
        "stream",
        Py::new(py, PyEventStream::new(started, idle, model))?,
    )?;
    Ok(d)
}

#[pymethods]
impl PyConverseClient {
    #[new]
    #[pyo3(signature = (model_id = None, *, region_name = None, profile_name = None, endpoint_url = None, aws_access_key_id = None, aws_secret_access_key = None, aws_session_token = None, max_attempts = 3, connect_timeout = 10.0, read_timeout = 300.0))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        model_id: Option<String>,
        region_name: Option<String>,
        profile_name: Option<String>,
        endpoint_url: Option<String>,
        aws_access_key_id: Option<String>,
        aws_secret_access_key: Option<String>,
        aws_session_token: Option<String>,
        max_attempts: u32,
        connect_timeout: f64,
        read_timeout: f64,
    ) -> PyResult<Self> {
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
        let read_timeout = seconds("read_timeout", read_timeout)?;
        let settings = Settings {
            region: region_name,
            profile: profile_name,
            endpoint_url: endpoint_url.clone(),
            access_key_id: aws_access_key_id,
            secret_access_key: aws_secret_access_key,
            session_token: aws_session_token,
            max_attempts,
            connect_timeout: seconds("connect_timeout", connect_timeout)?,
            read_timeout,
        };
        let (sdk, region) =
            runtime::block_on(py, config::sdk_client(settings))?.map_err(|e| e.into_pyerr(py))?;
        Ok(Self {
            sdk,
            read_timeout,
            max_attempts,
            registry: Mutex::new(HashMap::new()),
            model_id,
            region,
            endpoint_url,
        })
    }

    /// The default model of `converse` calls without `modelId` and of new conversations.
    #[getter]
    fn model_id(&self) -> Option<&str> {
        self.model_id.as_deref()
    }

    #[getter]
    fn region_name(&self) -> &str {
        &self.region
    }

    #[getter]
    fn endpoint_url(&self) -> Option<&str> {
        self.endpoint_url.as_deref()
    }

    fn __repr__(&self) -> String {
        // Note: never credentials, whatever was passed.
        format!(
            "ConverseClient(model_id={}, region_name={}, endpoint_url={})",
            self.model_id.as_deref().map_or("None".into(), py_repr),
            py_repr(&self.region),
            self.endpoint_url.as_deref().map_or("None".into(), py_repr)
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
        let out = runtime::block_on(py, fut)?.map_err(|e| e.into_pyerr(py))?;
        response::converse_output(py, &out, out.request_id())
    }

    /// `converse` as an awaitable, on the caller's event loop.
    #[pyo3(signature = (**kwargs))]
    fn converse_async<'py>(
        &self,
        py: Python<'py>,
        kwargs: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (_, fut) = self.converse_future(kwargs)?;
        runtime::spawn(py, async move {
            let out = fut.await;
            Python::attach(|py| -> PyResult<Py<PyAny>> {
                let out = out.map_err(|e| e.into_pyerr(py))?;
                Ok(response::converse_output(py, &out, out.request_id())?
                    .into_any()
                    .unbind())
            })
        })
    }

    /// boto3's `converse_stream`: sends the request now; `["stream"]` yields event dicts.
    #[pyo3(signature = (**kwargs))]
    fn converse_stream<'py>(
        &self,
        py: Python<'py>,
        kwargs: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let fut = self.stream_future(kwargs)?;
        let started = runtime::block_on(py, fut)?.map_err(|e| e.into_pyerr(py))?;
        stream_result(py, started, self.read_timeout)
    }

    /// `converse_stream` as an awaitable.
    #[pyo3(signature = (**kwargs))]
    fn converse_stream_async<'py>(
        &self,
        py: Python<'py>,
        kwargs: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let fut = self.stream_future(kwargs)?;
        let idle = self.read_timeout;
        runtime::spawn(py, async move {
            let started = fut.await;
            Python::attach(|py| -> PyResult<Py<PyAny>> {
                let started = started.map_err(|e| e.into_pyerr(py))?;
                Ok(stream_result(py, started, idle)?.into_any().unbind())
            })
        })
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
        let args = Obj::new(kwargs.as_any(), "")?;
        args.only(&["modelId", "input"])?;
        let model = args
            .str("modelId")?
            .or_else(|| self.model_id.clone())
            .ok_or_else(|| PyValueError::new_err("modelId: no model given"))?;
        let input = args.req_obj("input")?;
        let (kind, _) = input.union(&["converse", "invokeModel"])?;
        let sdk_input = if kind == "converse" {
            let c = input.req_obj("converse")?;
            c.only(&[
                "messages",
                "system",
                "toolConfig",
                "additionalModelRequestFields",
            ])?;
            let sub = ConverseRequest::from_kwargs(Some(&c.dict))?;
            t::CountTokensInput::Converse(
                t::ConverseTokensRequest::builder()
                    .set_messages(sub.messages)
                    .set_system(sub.system)
                    .set_tool_config(sub.tool_config)
                    .set_additional_model_request_fields(sub.additional_model_request_fields)
                    .build(),
            )
        } else {
            let im = input.req_obj("invokeModel")?;
            im.only(&["body"])?;
            t::CountTokensInput::InvokeModel(
                t::InvokeModelTokensRequest::builder()
                    .body(aws_smithy_types::Blob::new(im.bytes("body")?))
                    .build()
                    .map_err(|e| PyValueError::new_err(format!("input.invokeModel: {e}")))?,
            )
        };
        let fluent = self
            .sdk
            .count_tokens()
            .model_id(model.clone())
            .input(sdk_input);
        let out = runtime::block_on(py, async move { fluent.send().await })?
            .map_err(|e| errors::from_sdk(&e).with_model(Some(&model)).into_pyerr(py))?;
        let d = PyDict::new(py);
        d.set_item(
            "ResponseMetadata",
            response::response_metadata(py, out.request_id())?,
        )?;
        d.set_item("inputTokens", out.input_tokens())?;
        Ok(d)
    }

    // The conversation layer.

    /// Starts a conversation (kept in this client's registry under its id).
    #[pyo3(signature = (system_prompt = None, *, conversation_id = None, model_id = None, inference_config = None, additional_model_request_fields = None, messages = None, _toolbox = None))]
    #[allow(clippy::too_many_arguments)]
    fn create_conversation(
        &self,
        py: Python<'_>,
        system_prompt: Option<&Bound<'_, PyAny>>,
        conversation_id: Option<String>,
        model_id: Option<String>,
        inference_config: Option<&Bound<'_, PyAny>>,
        additional_model_request_fields: Option<&Bound<'_, PyAny>>,
        messages: Option<&Bound<'_, PyAny>>,
        _toolbox: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyConversation>> {
        let model_id =
            match model_id.or_else(|| self.model_id.clone()) {
                Some(m) if !m.trim().is_empty() => m,
                Some(_) => return Err(PyValueError::new_err("model_id must not be empty")),
                None => return Err(PyValueError::new_err(
                    "model_id: no model given; pass model_id=... here or to ConverseClient(...)",
                )),
            };
        let mut setup = conversation::setup_from(
            system_prompt,
            inference_config,
            additional_model_request_fields,
        )?;
        if let Some(toolbox) = _toolbox.filter(|t| !t.is_none()) {
            // Note: the specs are converted once here; each request clones the SDK values.
            setup.tools = Some(crate::wire::request::tools(
                &toolbox.getattr("specs")?,
                "tools",
            )?);
            setup.toolbox = Some(toolbox.clone().unbind());
        }
        let history = match messages.filter(|m| !m.is_none()) {
            Some(m) => conversation::initial_history(m)?,
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
            sdk: self.sdk.clone(),
            read_timeout: self.read_timeout,
            max_attempts: self.max_attempts,
        };
        let mut registry = self.registry.lock().unwrap_or_else(|e| e.into_inner());
        if registry.contains_key(&id) {
            return Err(PyValueError::new_err(format!(
                "conversation_id: {} is taken; pick another id or get_conversation({0})",
                py_repr(&id)
            )));
        }
        let conv = Py::new(
            py,
            PyConversation::new(id.clone(), model_id, backend, setup, history),
        )?;
        registry.insert(id, conv.clone_ref(py));
        Ok(conv)
    }

    /// The conversation with this id; KeyError when there is none.
    fn get_conversation(
        &self,
        py: Python<'_>,
        conversation_id: &str,
    ) -> PyResult<Py<PyConversation>> {
        self.registry
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(conversation_id)
            .map(|c| c.clone_ref(py))
            .ok_or_else(|| no_conversation(conversation_id))
    }

    /// Conversations, the most recently active first.
    #[pyo3(signature = (max_results = 20))]
    fn list_conversations(&self, py: Python<'_>, max_results: usize) -> Vec<Py<PyConversation>> {
        let mut all: Vec<(u64, Py<PyConversation>)> = self
            .registry
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .map(|c| (c.get().last_active(), c.clone_ref(py)))
            .collect();
        all.sort_by_key(|(active, _)| std::cmp::Reverse(*active));
        all.into_iter().take(max_results).map(|(_, c)| c).collect()
    }

    /// Forgets a conversation; KeyError when there is none.
    fn delete_conversation(&self, conversation_id: &str) -> PyResult<()> {
        self.registry
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(conversation_id)
            .map(|_| ())
            .ok_or_else(|| no_conversation(conversation_id))
    }
}

fn no_conversation(id: &str) -> PyErr {
    pyo3::exceptions::PyKeyError::new_err(format!("no conversation with id {}", py_repr(id)))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyConverseClient>()?;
    m.add_class::<PyEventStream>()
}
