//! boto3-shaped Python arguments -> SDK request types, checked with errors that name the
//! argument. Only this module (with `response`) knows both shapes.

use std::collections::HashMap;

use aws_sdk_bedrockruntime::types as t;
use aws_smithy_types::Blob;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::document::py_to_document;
pub use super::guardrail::{guardrail, Guardrail};
use super::pyobj::{as_list, as_str, value_error, Obj};

fn built<T, E: std::fmt::Display>(r: Result<T, E>, path: &str) -> PyResult<T> {
    r.map_err(|e| value_error(path, e))
}

/// The keyword arguments of `converse` / `converse_stream`, as SDK types.
#[derive(Debug, Clone, Default)]
pub struct ConverseRequest {
    pub model_id: Option<String>,
    pub messages: Option<Vec<t::Message>>,
    pub system: Option<Vec<t::SystemContentBlock>>,
    pub inference_config: Option<t::InferenceConfiguration>,
    pub tool_config: Option<t::ToolConfiguration>,
    pub guardrail: Option<Guardrail>,
    pub additional_model_request_fields: Option<aws_smithy_types::Document>,
    pub additional_model_response_field_paths: Option<Vec<String>>,
    pub request_metadata: Option<HashMap<String, String>>,
    pub performance_config: Option<t::PerformanceConfiguration>,
    pub prompt_variables: Option<HashMap<String, t::PromptVariableValues>>,
}

const CONVERSE_KEYS: &[&str] = &[
    "modelId",
    "messages",
    "system",
    "inferenceConfig",
    "toolConfig",
    "guardrailConfig",
    "additionalModelRequestFields",
    "additionalModelResponseFieldPaths",
    "requestMetadata",
    "performanceConfig",
    "promptVariables",
];

impl ConverseRequest {
    /// Reads boto3's keyword arguments.
    pub fn from_kwargs(kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        let mut req = ConverseRequest::default();
        let Some(kwargs) = kwargs else { return Ok(req) };
        let args = Obj::new(kwargs.as_any(), "")?;
        args.only(CONVERSE_KEYS)?;
        req.model_id = args.str("modelId")?;
        if let Some(messages) = args.list("messages")? {
            req.messages = Some(
                messages
                    .iter()
                    .enumerate()
                    .map(|(i, m)| message(m, &format!("messages[{i}]")))
                    .collect::<PyResult<_>>()?,
            );
        }
        if let Some(system) = args.list("system")? {
            req.system = Some(
                system
                    .iter()
                    .enumerate()
                    .map(|(i, b)| system_block(b, &format!("system[{i}]")))
                    .collect::<PyResult<_>>()?,
            );
        }
        if let Some(config) = args.obj("inferenceConfig")? {
            req.inference_config = Some(inference_config(&config)?);
        }
        if let Some(config) = args.obj("toolConfig")? {
            req.tool_config = Some(tool_config(&config)?);
        }
        if let Some(g) = args.obj("guardrailConfig")? {
            req.guardrail = Some(guardrail(&g)?);
        }
        if let Some(fields) = args.get("additionalModelRequestFields")? {
            req.additional_model_request_fields =
                Some(py_to_document(&fields, "additionalModelRequestFields")?);
        }
        if let Some(paths) = args.list("additionalModelResponseFieldPaths")? {
            req.additional_model_response_field_paths = Some(
                paths
                    .iter()
                    .enumerate()
                    .map(|(i, p)| as_str(p, &format!("additionalModelResponseFieldPaths[{i}]")))
                    .collect::<PyResult<_>>()?,
            );
        }
        if let Some(meta) = args.obj("requestMetadata")? {
            let mut map = HashMap::new();
            for (k, v) in meta.dict.iter() {
                let key = as_str(&k, "requestMetadata")?;
                let value = as_str(&v, &meta.at(&key))?;
                map.insert(key, value);
            }
            req.request_metadata = Some(map);
        }
        if let Some(perf) = args.obj("performanceConfig")? {
            perf.only(&["latency"])?;
            req.performance_config = Some(
                t::PerformanceConfiguration::builder()
                    .set_latency(
                        perf.str("latency")?
                            .map(|l| t::PerformanceConfigLatency::from(l.as_str())),
                    )
                    .build(),
            );
        }
        if let Some(vars) = args.obj("promptVariables")? {
            let mut map = HashMap::new();
            for (k, v) in vars.dict.iter() {
                let key = as_str(&k, "promptVariables")?;
                let value = Obj::new(&v, vars.at(&key))?;
                value.only(&["text"])?;
                map.insert(key, t::PromptVariableValues::Text(value.req_str("text")?));
            }
            req.prompt_variables = Some(map);
        }
        Ok(req)
    }
}

pub fn message(obj: &Bound<'_, PyAny>, path: &str) -> PyResult<t::Message> {
    let m = Obj::new(obj, path)?;
    m.only(&["role", "content"])?;
    let role = match m.req_str("role")?.as_str() {
        "user" => t::ConversationRole::User,
        "assistant" => t::ConversationRole::Assistant,
        other => {
            return Err(value_error(
                &m.at("role"),
                format!("expected 'user' or 'assistant', got {other:?}"),
            ))
        }
    };
    let content = as_list(&m.req("content")?, &m.at("content"))?
        .iter()
        .enumerate()
        .map(|(i, b)| content_block(b, &format!("{path}.content[{i}]")))
        .collect::<PyResult<Vec<_>>>()?;
    built(
        t::Message::builder()
            .role(role)
            .set_content(Some(content))
            .build(),
        path,
    )
}

const CONTENT_MEMBERS: &[&str] = &[
    "text",
    "image",
    "document",
    "video",
    "toolUse",
    "toolResult",
    "guardContent",
    "cachePoint",
    "reasoningContent",
];

pub fn content_block(obj: &Bound<'_, PyAny>, path: &str) -> PyResult<t::ContentBlock> {
    let b = Obj::new(obj, path)?;
    let (key, value) = b.union(CONTENT_MEMBERS)?;
    let at = b.at(&key);
    Ok(match key.as_str() {
        "text" => t::ContentBlock::Text(as_str(&value, &at)?),
        "image" => t::ContentBlock::Image(image(&Obj::new(&value, at)?)?),
        "document" => t::ContentBlock::Document(document(&Obj::new(&value, at)?)?),
        "video" => t::ContentBlock::Video(video(&Obj::new(&value, at)?)?),
        "toolUse" => {
            let u = Obj::new(&value, at)?;
            u.only(&["toolUseId", "name", "input", "type"])?;
            t::ContentBlock::ToolUse(built(
                t::ToolUseBlock::builder()
                    .tool_use_id(u.req_str("toolUseId")?)
                    .name(u.req_str("name")?)
                    .input(py_to_document(&u.req("input")?, &u.at("input"))?)
                    .build(),
                &u.path,
            )?)
        }
        "toolResult" => t::ContentBlock::ToolResult(tool_result(&Obj::new(&value, at)?)?),
        "guardContent" => t::ContentBlock::GuardContent(guard_content(&Obj::new(&value, at)?)?),
        "cachePoint" => t::ContentBlock::CachePoint(cache_point(&Obj::new(&value, at)?)?),
        "reasoningContent" => {
            let r = Obj::new(&value, at)?;
            let (kind, inner) = r.union(&["reasoningText", "redactedContent"])?;
            t::ContentBlock::ReasoningContent(if kind == "reasoningText" {
                let rt = Obj::new(&inner, r.at("reasoningText"))?;
                rt.only(&["text", "signature"])?;
                t::ReasoningContentBlock::ReasoningText(built(
                    t::ReasoningTextBlock::builder()
                        .text(rt.req_str("text")?)
                        .set_signature(rt.str("signature")?)
                        .build(),
                    &rt.path,
                )?)
            } else {
                t::ReasoningContentBlock::RedactedContent(Blob::new(r.bytes("redactedContent")?))
            })
        }
        _ => unreachable!("union() checked the members"),
    })
}

fn s3_location(o: &Obj<'_>) -> PyResult<t::S3Location> {
    o.only(&["uri", "bucketOwner"])?;
    built(
        t::S3Location::builder()
            .uri(o.req_str("uri")?)
            .set_bucket_owner(o.str("bucketOwner")?)
            .build(),
        &o.path,
    )
}

/// The `format` and `source` of an image or video block.
enum Media {
    Bytes(Blob),
    S3(t::S3Location),
}

fn media(o: &Obj<'_>) -> PyResult<(String, Media)> {
    o.only(&["format", "source"])?;
    let source = o.req_obj("source")?;
    let (kind, _) = source.union(&["bytes", "s3Location"])?;
    let media = if kind == "bytes" {
        Media::Bytes(Blob::new(source.bytes("bytes")?))
    } else {
        Media::S3(s3_location(&source.req_obj("s3Location")?)?)
    };
    Ok((o.req_str("format")?, media))
}

fn image(o: &Obj<'_>) -> PyResult<t::ImageBlock> {
    let (format, media) = media(o)?;
    let source = match media {
        Media::Bytes(b) => t::ImageSource::Bytes(b),
        Media::S3(l) => t::ImageSource::S3Location(l),
    };
    built(
        t::ImageBlock::builder()
            .format(t::ImageFormat::from(format.as_str()))
            .source(source)
            .build(),
        &o.path,
    )
}

fn document(o: &Obj<'_>) -> PyResult<t::DocumentBlock> {
    o.only(&["format", "name", "source", "context", "citations"])?;
    let source = o.req_obj("source")?;
    let (kind, value) = source.union(&["bytes", "s3Location", "text"])?;
    let src = match kind.as_str() {
        "bytes" => t::DocumentSource::Bytes(Blob::new(source.bytes("bytes")?)),
        "text" => t::DocumentSource::Text(as_str(&value, &source.at("text"))?),
        _ => t::DocumentSource::S3Location(s3_location(&source.req_obj("s3Location")?)?),
    };
    let citations = match o.obj("citations")? {
        Some(c) => Some(built(
            t::CitationsConfig::builder()
                .enabled(c.bool("enabled")?.unwrap_or(false))
                .build(),
            &c.path,
        )?),
        None => None,
    };
    built(
        t::DocumentBlock::builder()
            .set_format(
                o.str("format")?
                    .map(|f| t::DocumentFormat::from(f.as_str())),
            )
            .name(o.req_str("name")?)
            .source(src)
            .set_context(o.str("context")?)
            .set_citations(citations)
            .build(),
        &o.path,
    )
}

fn video(o: &Obj<'_>) -> PyResult<t::VideoBlock> {
    let (format, media) = media(o)?;
    let source = match media {
        Media::Bytes(b) => t::VideoSource::Bytes(b),
        Media::S3(l) => t::VideoSource::S3Location(l),
    };
    built(
        t::VideoBlock::builder()
            .format(t::VideoFormat::from(format.as_str()))
            .source(source)
            .build(),
        &o.path,
    )
}

fn tool_result(o: &Obj<'_>) -> PyResult<t::ToolResultBlock> {
    o.only(&["toolUseId", "content", "status", "type"])?;
    let content = as_list(&o.req("content")?, &o.at("content"))?
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let c = Obj::new(item, format!("{}.content[{i}]", o.path))?;
            let (kind, value) = c.union(&["text", "json", "image", "document", "video"])?;
            let at = c.at(&kind);
            Ok(match kind.as_str() {
                "text" => t::ToolResultContentBlock::Text(as_str(&value, &at)?),
                "json" => t::ToolResultContentBlock::Json(py_to_document(&value, &at)?),
                "image" => t::ToolResultContentBlock::Image(image(&Obj::new(&value, at)?)?),
                "document" => {
                    t::ToolResultContentBlock::Document(document(&Obj::new(&value, at)?)?)
                }
                _ => t::ToolResultContentBlock::Video(video(&Obj::new(&value, at)?)?),
            })
        })
        .collect::<PyResult<Vec<_>>>()?;
    built(
        t::ToolResultBlock::builder()
            .tool_use_id(o.req_str("toolUseId")?)
            .set_content(Some(content))
            .set_status(
                o.str("status")?
                    .map(|s| t::ToolResultStatus::from(s.as_str())),
            )
            .build(),
        &o.path,
    )
}

fn guard_content(o: &Obj<'_>) -> PyResult<t::GuardrailConverseContentBlock> {
    let (kind, value) = o.union(&["text"])?;
    let text = Obj::new(&value, o.at(&kind))?;
    text.only(&["text", "qualifiers"])?;
    let qualifiers = text
        .list("qualifiers")?
        .map(|q| {
            q.iter()
                .map(|v| {
                    as_str(v, &text.at("qualifiers"))
                        .map(|s| t::GuardrailConverseContentQualifier::from(s.as_str()))
                })
                .collect::<PyResult<Vec<_>>>()
        })
        .transpose()?;
    Ok(t::GuardrailConverseContentBlock::Text(built(
        t::GuardrailConverseTextBlock::builder()
            .text(text.req_str("text")?)
            .set_qualifiers(qualifiers)
            .build(),
        &text.path,
    )?))
}

fn cache_point(o: &Obj<'_>) -> PyResult<t::CachePointBlock> {
    o.only(&["type", "ttl"])?;
    built(
        t::CachePointBlock::builder()
            .r#type(t::CachePointType::from(
                o.str("type")?.as_deref().unwrap_or("default"),
            ))
            .set_ttl(o.str("ttl")?.map(|s| t::CacheTtl::from(s.as_str())))
            .build(),
        &o.path,
    )
}

pub fn system_block(obj: &Bound<'_, PyAny>, path: &str) -> PyResult<t::SystemContentBlock> {
    let b = Obj::new(obj, path)?;
    let (key, value) = b.union(&["text", "guardContent", "cachePoint"])?;
    let at = b.at(&key);
    Ok(match key.as_str() {
        "text" => t::SystemContentBlock::Text(as_str(&value, &at)?),
        "guardContent" => {
            t::SystemContentBlock::GuardContent(guard_content(&Obj::new(&value, at)?)?)
        }
        _ => t::SystemContentBlock::CachePoint(cache_point(&Obj::new(&value, at)?)?),
    })
}

pub fn inference_config(c: &Obj<'_>) -> PyResult<t::InferenceConfiguration> {
    c.only(&["maxTokens", "temperature", "topP", "stopSequences"])?;
    let max_tokens = c
        .int("maxTokens")?
        .map(|m| i32::try_from(m).map_err(|_| value_error(&c.at("maxTokens"), "out of range")))
        .transpose()?;
    let stop = c
        .list("stopSequences")?
        .map(|l| {
            l.iter()
                .enumerate()
                .map(|(i, s)| as_str(s, &format!("{}[{i}]", c.at("stopSequences"))))
                .collect::<PyResult<Vec<_>>>()
        })
        .transpose()?;
    Ok(t::InferenceConfiguration::builder()
        .set_max_tokens(max_tokens)
        .set_temperature(c.float("temperature")?.map(|f| f as f32))
        .set_top_p(c.float("topP")?.map(|f| f as f32))
        .set_stop_sequences(stop)
        .build())
}

pub fn tool_config(c: &Obj<'_>) -> PyResult<t::ToolConfiguration> {
    c.only(&["tools", "toolChoice"])?;
    let tools = tools(&c.req("tools")?, &c.at("tools"))?;
    let choice = c.obj("toolChoice")?.map(|o| tool_choice(&o)).transpose()?;
    built(
        t::ToolConfiguration::builder()
            .set_tools(Some(tools))
            .set_tool_choice(choice)
            .build(),
        &c.path,
    )
}

/// `toolConfig["tools"]`: toolSpec, cachePoint and systemTool entries.
pub fn tools(list: &Bound<'_, PyAny>, path: &str) -> PyResult<Vec<t::Tool>> {
    as_list(list, path)?
        .iter()
        .enumerate()
        .map(|(i, tool)| {
            let o = Obj::new(tool, format!("{path}[{i}]"))?;
            let (kind, value) = o.union(&["toolSpec", "cachePoint", "systemTool"])?;
            let at = o.at(&kind);
            let v = Obj::new(&value, at)?;
            Ok(match kind.as_str() {
                "toolSpec" => {
                    v.only(&["name", "description", "inputSchema", "strict"])?;
                    let schema = v.req_obj("inputSchema")?;
                    let (_, json) = schema.union(&["json"])?;
                    t::Tool::ToolSpec(built(
                        t::ToolSpecification::builder()
                            .name(v.req_str("name")?)
                            .set_description(v.str("description")?)
                            .input_schema(t::ToolInputSchema::Json(py_to_document(
                                &json,
                                &schema.at("json"),
                            )?))
                            .set_strict(v.bool("strict")?)
                            .build(),
                        &v.path,
                    )?)
                }
                "cachePoint" => t::Tool::CachePoint(cache_point(&v)?),
                _ => t::Tool::SystemTool(built(
                    t::SystemTool::builder().name(v.req_str("name")?).build(),
                    &v.path,
                )?),
            })
        })
        .collect()
}

/// `toolConfig["toolChoice"]`: `{"auto": {}}`, `{"any": {}}` or `{"tool": {"name": ...}}`.
pub fn tool_choice(choice: &Obj<'_>) -> PyResult<t::ToolChoice> {
    let (kind, value) = choice.union(&["auto", "any", "tool"])?;
    Ok(match kind.as_str() {
        "auto" => t::ToolChoice::Auto(t::AutoToolChoice::builder().build()),
        "any" => t::ToolChoice::Any(t::AnyToolChoice::builder().build()),
        _ => {
            let tool = Obj::new(&value, choice.at("tool"))?;
            t::ToolChoice::Tool(built(
                t::SpecificToolChoice::builder()
                    .name(tool.req_str("name")?)
                    .build(),
                &tool.path,
            )?)
        }
    })
}

/// Checks one content block dict as Bedrock would take it (the tool loop checks a tool's
/// result with it, so that an unconvertible result becomes an error result for the model).
#[pyfunction]
#[pyo3(name = "_check_block")]
pub fn check_block(block: &Bound<'_, PyAny>) -> PyResult<()> {
    content_block(block, "result").map(|_| ())
}
