//! boto3-shaped Python arguments -> SDK request types, checked with errors that name the
//! argument. Only this module (with `response`) knows both shapes.

use std::collections::HashMap;

use aws_sdk_bedrockruntime::types as t;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::content_in::{cache_point, content_block, message, system_block};
use super::document::py_to_document;
pub use super::guardrail::{guardrail, Guardrail};
use super::pyobj::{as_list, as_str, value_error, Obj};
use super::reader::{built, Read};
use super::serving::{self, Check, Serving};

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
    pub service_tier: Option<t::ServiceTier>,
    pub prompt_variables: Option<HashMap<String, t::PromptVariableValues>>,
    pub output_config: Option<t::OutputConfig>,
}

/// Sets a request on a Converse or ConverseStream fluent builder (`$guardrail`: `converse`
/// or `stream`, the two guardrail shapes). A macro because the SDK's two builders are
/// different types with the same setters; the one place a request meets the SDK, for the
/// boto3-shaped calls and a conversation's turns alike.
macro_rules! with_request {
    ($fluent:expr, $req:expr, $guardrail:ident) => {{
        let req: $crate::wire::request::ConverseRequest = $req;
        let guardrail = req.guardrail.as_ref().map(|g| g.$guardrail());
        $fluent
            .set_model_id(req.model_id)
            .set_messages(req.messages)
            .set_system(req.system)
            .set_inference_config(req.inference_config)
            .set_tool_config(req.tool_config)
            .set_guardrail_config(guardrail)
            .set_additional_model_request_fields(req.additional_model_request_fields)
            .set_additional_model_response_field_paths(req.additional_model_response_field_paths)
            .set_request_metadata(req.request_metadata)
            .set_performance_config(req.performance_config)
            .set_service_tier(req.service_tier)
            .set_prompt_variables(req.prompt_variables)
            .set_output_config(req.output_config)
    }};
}
pub(crate) use with_request;

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
    "serviceTier",
    "promptVariables",
    "outputConfig",
];

impl ConverseRequest {
    /// The serving settings given (`Serving`'s None fields leave the request's as they are).
    pub fn set_serving(&mut self, serving: &Serving) {
        if serving.tier.is_some() {
            self.service_tier = serving.service_tier();
        }
        if serving.latency.is_some() {
            self.performance_config = serving.performance_config();
        }
        if serving.metadata.is_some() {
            self.request_metadata = serving.request_metadata();
        }
    }

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
                    .collect::<Read<_>>()?,
            );
        }
        if let Some(system) = args.list("system")? {
            req.system = Some(
                system
                    .iter()
                    .enumerate()
                    .map(|(i, b)| system_block(b, &format!("system[{i}]")))
                    .collect::<Read<_>>()?,
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
        let serving = serving_args(&args)?;
        if args.get("performanceConfig")?.is_some() && serving.latency.is_none() {
            // (boto3 sends an empty performanceConfig as given)
            req.performance_config = Some(t::PerformanceConfiguration::builder().build());
        }
        req.set_serving(&serving);
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
        if let Some(config) = args.obj("outputConfig")? {
            req.output_config = Some(output_config(&config)?);
        }
        Ok(req)
    }
}

/// `serviceTier`, `performanceConfig` and `requestMetadata` of Converse's keyword arguments:
/// their shapes; their values are the service's to judge, as with boto3.
pub fn serving_args(args: &Obj<'_>) -> PyResult<Serving> {
    Ok(Serving {
        tier: args
            .get("serviceTier")?
            .map(|v| serving::service_tier(&v, &args.at("serviceTier"), Check::Shape))
            .transpose()?,
        latency: args
            .get("performanceConfig")?
            .map(|v| serving::latency(&v, &args.at("performanceConfig"), Check::Shape))
            .transpose()?
            .flatten(),
        metadata: args
            .get("requestMetadata")?
            .map(|v| serving::request_metadata(&v, &args.at("requestMetadata"), Check::Shape))
            .transpose()?,
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
    Ok(built(
        t::ToolConfiguration::builder()
            .set_tools(Some(tools))
            .set_tool_choice(choice)
            .build(),
        &c.path,
    )?)
}

/// `outputConfig`: `{"textFormat": {"type": "json_schema", "structure": {"jsonSchema":
/// {"schema": "<JSON text>", "name", "description"}}}, "effort": ...}`. Shapes only, as
/// boto3 checks them: the values are the service's to judge (the conversation layer builds
/// its own from a type, `fastconverse._tools.structured`).
pub fn output_config(c: &Obj<'_>) -> PyResult<t::OutputConfig> {
    c.only(&["textFormat", "effort"])?;
    let format = c
        .obj("textFormat")?
        .map(|f| -> PyResult<t::OutputFormat> {
            f.only(&["type", "structure"])?;
            let structure = f.req_obj("structure")?;
            let (_, schema) = structure.union(&["jsonSchema"])?;
            let schema = Obj::new(&schema, structure.at("jsonSchema"))?;
            schema.only(&["schema", "name", "description"])?;
            let definition = built(
                t::JsonSchemaDefinition::builder()
                    .schema(schema.req_str("schema")?)
                    .set_name(schema.str("name")?)
                    .set_description(schema.str("description")?)
                    .build(),
                &schema.path,
            )?;
            Ok(built(
                t::OutputFormat::builder()
                    .r#type(t::OutputFormatType::from(f.req_str("type")?.as_str()))
                    .structure(t::OutputFormatStructure::JsonSchema(definition))
                    .build(),
                &f.path,
            )?)
        })
        .transpose()?;
    Ok(t::OutputConfig::builder()
        .set_text_format(format)
        .set_effort(c.str("effort")?)
        .build())
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
    content_block(block, "result")?;
    Ok(())
}
