//! SDK response types -> boto3-shaped Python dicts (bytes as `bytes`), so that code written
//! for boto3 reads our results unchanged.

use aws_sdk_bedrockruntime::types as t;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};

use super::content_out;
use super::document::document_to_py;
use super::json;
use super::pyobj::PySink;
use super::sink::Sink;
use super::tokens::Tokens;

type Dict<'py> = Bound<'py, PyDict>;

pub fn dict1<'py>(
    py: Python<'py>,
    key: impl IntoPyObject<'py>,
    value: impl IntoPyObject<'py>,
) -> PyResult<Dict<'py>> {
    let d = PyDict::new(py);
    d.set_item(key, value)?;
    Ok(d)
}

/// botocore's marker for a union member it does not know.
fn unknown(py: Python<'_>) -> PyResult<Dict<'_>> {
    PySink(py).unknown("")
}

/// One content block of a message.
pub fn content_block<'py>(py: Python<'py>, block: &t::ContentBlock) -> PyResult<Dict<'py>> {
    content_out::content_block(&PySink(py), block)
}

pub fn message<'py>(py: Python<'py>, m: &t::Message) -> PyResult<Dict<'py>> {
    content_out::message(&PySink(py), m)
}

/// boto3's `usage` dict. Cache counts appear when the service sent them, zero included.
pub fn usage<'py>(py: Python<'py>, u: &Tokens) -> PyResult<Dict<'py>> {
    let d = dict1(py, intern!(py, "inputTokens"), u.input)?;
    d.set_item(intern!(py, "outputTokens"), u.output)?;
    d.set_item(intern!(py, "totalTokens"), u.total)?;
    if let Some(n) = u.cache_read {
        d.set_item(intern!(py, "cacheReadInputTokens"), n)?;
    }
    if let Some(n) = u.cache_write {
        d.set_item(intern!(py, "cacheWriteInputTokens"), n)?;
    }
    if let Some(details) = &u.cache_details {
        let list = PyList::empty(py);
        for (ttl, n) in details.entries() {
            let entry = dict1(py, intern!(py, "ttl"), ttl)?;
            entry.set_item(intern!(py, "inputTokens"), n)?;
            list.append(entry)?;
        }
        d.set_item(intern!(py, "cacheDetails"), list)?;
    }
    Ok(d)
}

/// Messages as a list of boto3 message dicts.
pub fn message_list<'py>(py: Python<'py>, messages: &[t::Message]) -> PyResult<Bound<'py, PyList>> {
    let list = PyList::empty(py);
    for m in messages {
        list.append(message(py, m)?)?;
    }
    Ok(list)
}

/// boto3's `inferenceConfig` dict.
pub fn inference_config<'py>(
    py: Python<'py>,
    c: &t::InferenceConfiguration,
) -> PyResult<Dict<'py>> {
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

/// boto3's `metrics` dict (empty when the service sent none).
pub fn metrics(py: Python<'_>, latency_ms: Option<i64>) -> PyResult<Dict<'_>> {
    let d = PyDict::new(py);
    if let Some(ms) = latency_ms {
        d.set_item(intern!(py, "latencyMs"), ms)?;
    }
    Ok(d)
}

/// `ResponseMetadata` as boto3 gives it: `RequestId`, `HTTPStatusCode`, `HTTPHeaders`
/// (names in lower case) and `RetryAttempts`.
pub fn response_metadata<'py>(
    py: Python<'py>,
    request_id: Option<&str>,
    seen: &crate::exchange::Seen,
) -> PyResult<Dict<'py>> {
    let d = dict1(py, intern!(py, "RequestId"), request_id.unwrap_or(""))?;
    d.set_item(intern!(py, "HTTPStatusCode"), 200)?;
    d.set_item(intern!(py, "HTTPHeaders"), headers(py, &seen.headers)?)?;
    d.set_item(intern!(py, "RetryAttempts"), seen.retries())?;
    Ok(d)
}

/// Response headers as boto3's `HTTPHeaders` dict.
pub fn headers<'py>(py: Python<'py>, headers: &[(String, String)]) -> PyResult<Dict<'py>> {
    let d = PyDict::new(py);
    for (k, v) in headers {
        d.set_item(k, v)?;
    }
    Ok(d)
}

/// The whole Converse result dict.
pub fn converse_output<'py>(
    py: Python<'py>,
    out: &aws_sdk_bedrockruntime::operation::converse::ConverseOutput,
    request_id: Option<&str>,
    seen: &crate::exchange::Seen,
) -> PyResult<Dict<'py>> {
    let d = dict1(
        py,
        intern!(py, "ResponseMetadata"),
        response_metadata(py, request_id, seen)?,
    )?;
    if let Some(t::ConverseOutput::Message(m)) = out.output() {
        d.set_item(
            intern!(py, "output"),
            dict1(py, intern!(py, "message"), message(py, m)?)?,
        )?;
    }
    d.set_item(intern!(py, "stopReason"), out.stop_reason().as_str())?;
    if let Some(u) = out.usage() {
        d.set_item(intern!(py, "usage"), usage(py, &Tokens::from_sdk(Some(u)))?)?;
    }
    if let Some(m) = out.metrics() {
        d.set_item(
            intern!(py, "metrics"),
            dict1(py, intern!(py, "latencyMs"), m.latency_ms())?,
        )?;
    }
    if let Some(fields) = out.additional_model_response_fields() {
        d.set_item(
            intern!(py, "additionalModelResponseFields"),
            document_to_py(py, fields)?,
        )?;
    }
    if let Some(trace) = out
        .trace()
        .and_then(|t| super::trace::trace(t.guardrail(), t.prompt_router()))
    {
        d.set_item(intern!(py, "trace"), json::to_py(py, &trace)?)?;
    }
    crate::wire::serving::Served::new(out.service_tier(), out.performance_config()).put(&d)?;
    Ok(d)
}

/// A text delta as boto3 yields it (`stream_event` for a text delta, unpacked).
pub fn text_delta_event<'py>(py: Python<'py>, index: i32, text: &str) -> PyResult<Dict<'py>> {
    let d = dict1(py, intern!(py, "contentBlockIndex"), index)?;
    d.set_item(intern!(py, "delta"), dict1(py, intern!(py, "text"), text)?)?;
    dict1(py, intern!(py, "contentBlockDelta"), d)
}

/// One InvokeModelWithResponseStream chunk as boto3 yields it.
pub fn chunk_event<'py>(py: Python<'py>, bytes: &[u8]) -> PyResult<Dict<'py>> {
    let inner = dict1(py, intern!(py, "bytes"), PyBytes::new(py, bytes))?;
    dict1(py, intern!(py, "chunk"), inner)
}

/// A streamed image's piece as boto3 yields it: `{"source": {"bytes"|"s3Location"}, "error"}`.
fn image_delta<'py>(py: Python<'py>, i: &t::ImageBlockDelta) -> PyResult<Dict<'py>> {
    let d = PyDict::new(py);
    match i.source() {
        Some(t::ImageSource::Bytes(b)) => {
            let bytes = PyBytes::new(py, b.as_ref());
            d.set_item(
                intern!(py, "source"),
                dict1(py, intern!(py, "bytes"), bytes)?,
            )?;
        }
        Some(t::ImageSource::S3Location(l)) => {
            let loc = dict1(py, intern!(py, "uri"), l.uri())?;
            if let Some(owner) = l.bucket_owner() {
                loc.set_item(intern!(py, "bucketOwner"), owner)?;
            }
            d.set_item(
                intern!(py, "source"),
                dict1(py, intern!(py, "s3Location"), loc)?,
            )?;
        }
        Some(_) => d.set_item(intern!(py, "source"), unknown(py)?)?,
        None => {}
    }
    if let Some(error) = i.error() {
        let e = PyDict::new(py);
        if let Some(message) = error.message() {
            e.set_item(intern!(py, "message"), message)?;
        }
        d.set_item(intern!(py, "error"), e)?;
    }
    Ok(d)
}

/// A system tool's result piece (`delta.toolResult`): `[{"text": ...} | {"json": ...}]`.
pub fn tool_result_delta<'py>(
    py: Python<'py>,
    pieces: &[t::ToolResultBlockDelta],
) -> PyResult<Bound<'py, PyList>> {
    let list = PyList::empty(py);
    for piece in pieces {
        list.append(match piece {
            t::ToolResultBlockDelta::Text(text) => dict1(py, intern!(py, "text"), text)?,
            t::ToolResultBlockDelta::Json(j) => {
                dict1(py, intern!(py, "json"), document_to_py(py, j)?)?
            }
            _ => unknown(py)?,
        })?;
    }
    Ok(list)
}

/// One ConverseStream event as boto3 yields it.
pub fn stream_event<'py>(py: Python<'py>, event: &t::ConverseStreamOutput) -> PyResult<Dict<'py>> {
    match event {
        t::ConverseStreamOutput::MessageStart(e) => dict1(
            py,
            intern!(py, "messageStart"),
            dict1(py, intern!(py, "role"), e.role().as_str())?,
        ),
        t::ConverseStreamOutput::ContentBlockStart(e) => {
            let d = dict1(
                py,
                intern!(py, "contentBlockIndex"),
                e.content_block_index(),
            )?;
            let start = match e.start() {
                Some(t::ContentBlockStart::ToolUse(u)) => {
                    let tu = dict1(py, intern!(py, "toolUseId"), u.tool_use_id())?;
                    tu.set_item(intern!(py, "name"), u.name())?;
                    if let Some(kind) = u.r#type() {
                        tu.set_item(intern!(py, "type"), kind.as_str())?;
                    }
                    dict1(py, intern!(py, "toolUse"), tu)?
                }
                Some(t::ContentBlockStart::ToolResult(r)) => {
                    let tr = dict1(py, intern!(py, "toolUseId"), r.tool_use_id())?;
                    if let Some(kind) = r.r#type() {
                        tr.set_item(intern!(py, "type"), kind)?;
                    }
                    if let Some(status) = r.status() {
                        tr.set_item(intern!(py, "status"), status.as_str())?;
                    }
                    dict1(py, intern!(py, "toolResult"), tr)?
                }
                Some(t::ContentBlockStart::Image(i)) => dict1(
                    py,
                    intern!(py, "image"),
                    dict1(py, intern!(py, "format"), i.format().as_str())?,
                )?,
                _ => unknown(py)?,
            };
            d.set_item(intern!(py, "start"), start)?;
            dict1(py, intern!(py, "contentBlockStart"), d)
        }
        t::ConverseStreamOutput::ContentBlockDelta(e) => {
            let d = dict1(
                py,
                intern!(py, "contentBlockIndex"),
                e.content_block_index(),
            )?;
            let delta = match e.delta() {
                Some(t::ContentBlockDelta::Text(s)) => dict1(py, intern!(py, "text"), s)?,
                Some(t::ContentBlockDelta::ToolUse(u)) => dict1(
                    py,
                    intern!(py, "toolUse"),
                    dict1(py, intern!(py, "input"), u.input())?,
                )?,
                Some(t::ContentBlockDelta::ReasoningContent(r)) => {
                    let inner = match r {
                        t::ReasoningContentBlockDelta::Text(s) => {
                            dict1(py, intern!(py, "text"), s)?
                        }
                        t::ReasoningContentBlockDelta::Signature(s) => {
                            dict1(py, intern!(py, "signature"), s)?
                        }
                        t::ReasoningContentBlockDelta::RedactedContent(b) => dict1(
                            py,
                            intern!(py, "redactedContent"),
                            PyBytes::new(py, b.as_ref()),
                        )?,
                        _ => unknown(py)?,
                    };
                    dict1(py, intern!(py, "reasoningContent"), inner)?
                }
                Some(t::ContentBlockDelta::Image(i)) => {
                    dict1(py, intern!(py, "image"), image_delta(py, i)?)?
                }
                Some(t::ContentBlockDelta::ToolResult(pieces)) => dict1(
                    py,
                    intern!(py, "toolResult"),
                    tool_result_delta(py, pieces)?,
                )?,
                Some(t::ContentBlockDelta::Citation(c)) => dict1(
                    py,
                    intern!(py, "citation"),
                    content_out::citation_delta(&PySink(py), c)?,
                )?,
                _ => unknown(py)?,
            };
            d.set_item(intern!(py, "delta"), delta)?;
            dict1(py, intern!(py, "contentBlockDelta"), d)
        }
        t::ConverseStreamOutput::ContentBlockStop(e) => dict1(
            py,
            "contentBlockStop",
            dict1(
                py,
                intern!(py, "contentBlockIndex"),
                e.content_block_index(),
            )?,
        ),
        t::ConverseStreamOutput::MessageStop(e) => {
            let d = dict1(py, intern!(py, "stopReason"), e.stop_reason().as_str())?;
            if let Some(fields) = e.additional_model_response_fields() {
                d.set_item(
                    intern!(py, "additionalModelResponseFields"),
                    document_to_py(py, fields)?,
                )?;
            }
            dict1(py, intern!(py, "messageStop"), d)
        }
        t::ConverseStreamOutput::Metadata(e) => {
            let d = PyDict::new(py);
            if let Some(u) = e.usage() {
                d.set_item(intern!(py, "usage"), usage(py, &Tokens::from_sdk(Some(u)))?)?;
            }
            if let Some(m) = e.metrics() {
                d.set_item(
                    intern!(py, "metrics"),
                    dict1(py, intern!(py, "latencyMs"), m.latency_ms())?,
                )?;
            }
            if let Some(trace) = e
                .trace()
                .and_then(|t| super::trace::trace(t.guardrail(), t.prompt_router()))
            {
                d.set_item(intern!(py, "trace"), json::to_py(py, &trace)?)?;
            }
            crate::wire::serving::Served::new(e.service_tier(), e.performance_config()).put(&d)?;
            dict1(py, intern!(py, "metadata"), d)
        }
        // (botocore yields an empty dict for an event type it does not know)
        _ => Ok(PyDict::new(py)),
    }
}
