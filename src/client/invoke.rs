//! InvokeModel and InvokeModelWithResponseStream, boto3-shaped, for code written against a
//! model's own body format. The body goes as given; the answer comes back as bytes
//! (`invoke_model`) or as `{"chunk": {"bytes": ...}}` events read by the stream pump with
//! the GIL released (`invoke_model_with_response_stream`, an `EventStream` as in boto3).

use aws_sdk_bedrockruntime::operation::RequestId;
use aws_sdk_bedrockruntime::types as t;
use aws_smithy_types::Blob;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};

use super::PyConverseClient;
use crate::runtime;
use crate::stream::{PyEventStream, Started};
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
    let started = Started {
        request_id: out.request_id().map(str::to_owned),
        receiver: out.body,
        seen,
        reservation: None, // (InvokeModel is not rate-limited)
    };
    let stream = PyEventStream::new(started, idle, model);
    d.set_item("body", Py::new(py, stream)?)?;
    Ok(d)
}
