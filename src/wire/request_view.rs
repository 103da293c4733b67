//! A turn's request as boto3's Converse keyword arguments, and back: what a `before_request`
//! hook sees and may change. Built only when such a hook exists (no hooks, no cost), from the
//! same block converters as every other message (`content_out`, `content_in`),
//! so the view and the wire never disagree.

use aws_sdk_bedrockruntime::types as t;
use aws_smithy_types::Document;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use super::content_in;
use super::content_out;
use super::document::{document_to_py, py_to_document};
use super::pyobj::PySink;
use super::pyobj::{as_list, Obj};
use super::request;
use super::response::{dict1, inference_config, message_list};
use super::serving::Serving;
use super::sink::{key, Sink};

fn tool<'py>(py: Python<'py>, tool: &t::Tool) -> PyResult<Bound<'py, PyDict>> {
    match tool {
        t::Tool::ToolSpec(spec) => {
            let d = dict1(py, intern!(py, "name"), spec.name())?;
            if let Some(text) = spec.description() {
                d.set_item(intern!(py, "description"), text)?;
            }
            if let Some(t::ToolInputSchema::Json(schema)) = spec.input_schema() {
                let json = dict1(py, intern!(py, "json"), document_to_py(py, schema)?)?;
                d.set_item(intern!(py, "inputSchema"), json)?;
            }
            if let Some(strict) = spec.strict() {
                d.set_item(intern!(py, "strict"), strict)?;
            }
            dict1(py, intern!(py, "toolSpec"), d)
        }
        t::Tool::CachePoint(c) => {
            let sink = PySink(py);
            sink.wrap(key!("cachePoint"), content_out::cache_point(&sink, c)?)
        }
        t::Tool::SystemTool(s) => dict1(
            py,
            intern!(py, "systemTool"),
            dict1(py, intern!(py, "name"), s.name())?,
        ),
        _ => Ok(PyDict::new(py)),
    }
}

fn tool_config<'py>(
    py: Python<'py>,
    config: &t::ToolConfiguration,
) -> PyResult<Bound<'py, PyDict>> {
    let tools = PyList::empty(py);
    for t in config.tools() {
        tools.append(tool(py, t)?)?;
    }
    let d = dict1(py, intern!(py, "tools"), tools)?;
    let choice = match config.tool_choice() {
        Some(t::ToolChoice::Auto(_)) => Some(dict1(py, intern!(py, "auto"), PyDict::new(py))?),
        Some(t::ToolChoice::Any(_)) => Some(dict1(py, intern!(py, "any"), PyDict::new(py))?),
        Some(t::ToolChoice::Tool(named)) => Some(dict1(
            py,
            intern!(py, "tool"),
            dict1(py, intern!(py, "name"), named.name())?,
        )?),
        _ => None,
    };
    if let Some(choice) = choice {
        d.set_item(intern!(py, "toolChoice"), choice)?;
    }
    Ok(d)
}

/// A request as a hook left it: Converse's arguments as SDK types.
pub struct RequestView {
    pub model_id: String,
    pub messages: Vec<t::Message>,
    pub system: Vec<t::SystemContentBlock>,
    pub inference: Option<t::InferenceConfiguration>,
    pub tool_config: Option<t::ToolConfiguration>,
    pub fields: Option<Document>,
    pub output: Option<t::OutputConfig>,
    pub serving: Serving,
}

fn output_config<'py>(py: Python<'py>, c: &t::OutputConfig) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    if let Some(format) = c.text_format() {
        let f = dict1(py, intern!(py, "type"), format.r#type().as_str())?;
        if let Some(t::OutputFormatStructure::JsonSchema(j)) = format.structure() {
            let schema = dict1(py, intern!(py, "schema"), j.schema())?;
            if let Some(name) = j.name() {
                schema.set_item(intern!(py, "name"), name)?;
            }
            if let Some(text) = j.description() {
                schema.set_item(intern!(py, "description"), text)?;
            }
            f.set_item(
                intern!(py, "structure"),
                dict1(py, intern!(py, "jsonSchema"), schema)?,
            )?;
        }
        d.set_item(intern!(py, "textFormat"), f)?;
    }
    if let Some(effort) = c.effort() {
        d.set_item(intern!(py, "effort"), effort)?;
    }
    Ok(d)
}

/// A request as Converse's keyword arguments (`modelId`, `messages`, `system`,
/// `inferenceConfig`, `toolConfig`, `additionalModelRequestFields`, `outputConfig`,
/// `serviceTier`, `performanceConfig`, `requestMetadata`): exactly what goes on the wire,
/// the cache points fastconverse places included.
pub fn to_py<'py>(py: Python<'py>, request: &RequestView) -> PyResult<Bound<'py, PyDict>> {
    let d = dict1(py, intern!(py, "modelId"), &request.model_id)?;
    d.set_item(
        intern!(py, "messages"),
        message_list(py, &request.messages)?,
    )?;
    let system = PyList::empty(py);
    for block in &request.system {
        system.append(content_out::system_block(&PySink(py), block)?)?;
    }
    d.set_item(intern!(py, "system"), system)?;
    let inference = request
        .inference
        .as_ref()
        .map(|c| inference_config(py, c))
        .transpose()?;
    d.set_item(intern!(py, "inferenceConfig"), inference)?;
    let tools = request
        .tool_config
        .as_ref()
        .map(|c| tool_config(py, c))
        .transpose()?;
    d.set_item(intern!(py, "toolConfig"), tools)?;
    let fields = request
        .fields
        .as_ref()
        .map(|f| document_to_py(py, f))
        .transpose()?;
    d.set_item(intern!(py, "additionalModelRequestFields"), fields)?;
    let output = request
        .output
        .as_ref()
        .map(|c| output_config(py, c))
        .transpose()?;
    d.set_item(intern!(py, "outputConfig"), output)?;
    request.serving.put_request(&d)?;
    Ok(d)
}

/// A (changed) view read back, each argument checked as a boto3 call's would be: a bad one
/// is a `ValueError`/`TypeError` naming it (`request.messages[2]...`).
pub fn from_py(view: &Bound<'_, PyAny>) -> PyResult<RequestView> {
    let o = Obj::new(view, "request")?;
    let messages = as_list(&o.req("messages")?, &o.at("messages"))?
        .iter()
        .enumerate()
        .map(|(i, m)| content_in::message(m, &format!("{}[{i}]", o.at("messages"))))
        .collect::<Result<Vec<_>, _>>()?;
    let system = match o.list("system")? {
        None => Vec::new(),
        Some(list) => list
            .iter()
            .enumerate()
            .map(|(i, b)| content_in::system_block(b, &format!("{}[{i}]", o.at("system"))))
            .collect::<Result<_, _>>()?,
    };
    Ok(RequestView {
        model_id: o.req_str("modelId")?,
        messages,
        system,
        inference: o
            .obj("inferenceConfig")?
            .map(|c| request::inference_config(&c))
            .transpose()?,
        tool_config: o
            .obj("toolConfig")?
            .map(|c| request::tool_config(&c))
            .transpose()?,
        fields: o
            .get("additionalModelRequestFields")?
            .map(|f| py_to_document(&f, &o.at("additionalModelRequestFields")))
            .transpose()?,
        output: o
            .obj("outputConfig")?
            .map(|c| request::output_config(&c))
            .transpose()?,
        serving: request::serving_args(&o)?,
    })
}
