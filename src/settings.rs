//! A conversation's settings from `create_conversation`'s arguments, checked: each error
//! names the argument.

use std::sync::Arc;

use aws_sdk_bedrockruntime::types as t;
use pyo3::prelude::*;
use pyo3::types::PyString;

use crate::turn::machine::Setup;
use crate::wire::pyobj::{as_list, value_error, Obj};
use crate::wire::serving::{self, Check, Serving};
use crate::wire::{content_in, request};

/// A request's `toolChoice`, as boto3's dict (None: the conversation's own).
pub fn parse_choice(choice: Option<&Bound<'_, PyAny>>) -> PyResult<Option<t::ToolChoice>> {
    choice
        .filter(|c| !c.is_none())
        .map(|c| request::tool_choice(&Obj::new(c, "tool_choice")?))
        .transpose()
}

/// A system prompt, checked: text (not blank), or a list of system content blocks (empty:
/// none); its blocks and its text (the text blocks joined by newlines). `name`: the
/// argument it came as.
pub fn system_from(
    sp: &Bound<'_, PyAny>,
    name: &str,
) -> PyResult<(Vec<t::SystemContentBlock>, Option<String>)> {
    if let Ok(text) = sp.cast::<PyString>() {
        let text = text.to_cow()?.into_owned();
        if text.trim().is_empty() {
            return Err(value_error(
                name,
                "must not be blank (pass None for no system prompt)",
            ));
        }
        return Ok((vec![t::SystemContentBlock::Text(text.clone())], Some(text)));
    }
    let blocks: Vec<t::SystemContentBlock> = as_list(sp, name)?
        .iter()
        .enumerate()
        .map(|(i, b)| content_in::system_block(b, &format!("{name}[{i}]")))
        .collect::<Result<_, _>>()?;
    let text: Vec<&str> = blocks
        .iter()
        .filter_map(|b| match b {
            t::SystemContentBlock::Text(s) => Some(s.as_str()),
            _ => None,
        })
        .collect();
    let text = (!text.is_empty()).then(|| text.join("\n"));
    Ok((blocks, text))
}

/// `create_conversation`'s arguments, checked.
pub fn setup_from(
    system_prompt: Option<&Bound<'_, PyAny>>,
    inference_config: Option<&Bound<'_, PyAny>>,
    fields: Option<&Bound<'_, PyAny>>,
) -> PyResult<Setup> {
    let mut setup = Setup::default();
    if let Some(sp) = system_prompt.filter(|s| !s.is_none()) {
        (setup.system, setup.system_prompt) = system_from(sp, "system_prompt")?;
    }
    if let Some(c) = inference_config.filter(|c| !c.is_none()) {
        setup.inference = Some(request::inference_config(&Obj::new(
            c,
            "inference_config",
        )?)?);
    }
    if let Some(f) = fields.filter(|f| !f.is_none()) {
        setup.fields = Some(crate::wire::document::py_to_document(
            f,
            "additional_model_request_fields",
        )?);
    }
    Ok(setup)
}

/// `service_tier=`, `performance_config=` and `request_metadata=` (a conversation's, a
/// turn's), checked; each None is not set.
pub fn serving_from<'py>(
    service_tier: Option<&Bound<'py, PyAny>>,
    performance_config: Option<&Bound<'py, PyAny>>,
    request_metadata: Option<&Bound<'py, PyAny>>,
) -> PyResult<Serving> {
    let given = |v: Option<&Bound<'py, PyAny>>| v.filter(|v| !v.is_none()).cloned();
    Ok(Serving {
        tier: given(service_tier)
            .map(|v| serving::service_tier(&v, "service_tier", Check::Strict))
            .transpose()?,
        latency: given(performance_config)
            .map(|v| serving::latency(&v, "performance_config", Check::Strict))
            .transpose()?
            .flatten(),
        metadata: given(request_metadata)
            .map(|v| serving::request_metadata(&v, "request_metadata", Check::Strict))
            .transpose()?,
    })
}

/// Checks a client's serving settings when it is made (its conversations take them later).
#[pyfunction]
#[pyo3(name = "_check_serving")]
pub fn check_serving(
    service_tier: Option<&Bound<'_, PyAny>>,
    performance_config: Option<&Bound<'_, PyAny>>,
    request_metadata: Option<&Bound<'_, PyAny>>,
) -> PyResult<()> {
    serving_from(service_tier, performance_config, request_metadata).map(|_| ())
}

/// `guardrail_config=`: boto3's `guardrailConfig` dict (None: no guardrail).
pub fn guardrail_from(
    config: Option<&Bound<'_, PyAny>>,
) -> PyResult<Option<crate::turn::setup::Guardrail>> {
    let Some(config) = config.filter(|c| !c.is_none()) else {
        return Ok(None);
    };
    Ok(Some(request::guardrail(&Obj::new(
        config,
        "guardrail_config",
    )?)?))
}

/// The tools of every request: specs converted once (each request clones the SDK values),
/// which of them the loop calls, and the conversation's `toolChoice`.
pub fn add_tools(
    setup: &mut Setup,
    tools: Option<&Bound<'_, PyAny>>,
    callable: Vec<String>,
    max_rounds: u32,
    tool_choice: Option<&Bound<'_, PyAny>>,
) -> PyResult<()> {
    if let Some(specs) = tools.filter(|t| !t.is_none()) {
        setup.tools = Some(request::tools(specs, "tools")?);
    }
    setup.callable = callable.into_iter().collect();
    if let Some(tools) = &setup.tools {
        setup.for_caller = tools
            .iter()
            .filter_map(|t| match t {
                t::Tool::ToolSpec(spec) => Some(spec.name().to_owned()),
                _ => None,
            })
            .filter(|name| !setup.callable.contains(name))
            .collect();
    }
    setup.max_rounds = max_rounds;
    setup.tool_choice = tool_choice
        .filter(|c| !c.is_none())
        .map(|c| request::tool_choice(&Obj::new(c, "tool_choice")?))
        .transpose()?;
    Ok(())
}

/// `memory=` and `cache=`, and the estimate of what every request sends besides its
/// messages (after the tools are set). Returns a Python policy's `select`.
pub fn add_memory(
    setup: &mut Setup,
    memory: Option<&Bound<'_, PyAny>>,
    cache: Option<&Bound<'_, PyAny>>,
) -> PyResult<Option<Py<PyAny>>> {
    let (memory, select) = crate::context::py::memory_from(memory)?;
    setup.memory = memory;
    setup.cache = crate::context::cache::Cache::from_py(cache)?;
    setup.fixed_tokens = setup.estimate_fixed();
    Ok(select)
}

/// What a single turn may set for itself (each None: the conversation's).
#[derive(Default)]
pub struct TurnSettings<'a, 'py> {
    pub inference_config: Option<&'a Bound<'py, PyAny>>,
    pub fields: Option<&'a Bound<'py, PyAny>>,
    pub model_id: Option<&'a str>,
    pub response_paths: Option<&'a Bound<'py, PyAny>>,
    /// A structured output: `{"toolSpec": {...}}` (a forced tool), or `outputConfig`'s
    /// `{"textFormat": {...}}` (asked for natively).
    pub output_tool: Option<&'a Bound<'py, PyAny>>,
    /// The turn's own system prompt (text or system blocks), instead of the conversation's.
    pub system: Option<&'a Bound<'py, PyAny>>,
    /// The turn's own service tier, latency setting and request metadata.
    pub service_tier: Option<&'a Bound<'py, PyAny>>,
    pub performance_config: Option<&'a Bound<'py, PyAny>>,
    pub request_metadata: Option<&'a Bound<'py, PyAny>>,
}

/// A turn's own inference settings and model fields, over the conversation's: each key
/// given replaces the conversation's (None: the conversation's settings, shared).
pub fn for_turn(setup: &Arc<Setup>, turn: &TurnSettings<'_, '_>) -> PyResult<Arc<Setup>> {
    let pick = |o: Option<&Bound<'_, PyAny>>| o.is_some_and(|v| !v.is_none());
    let inference_config = turn.inference_config.filter(|c| !c.is_none());
    let fields = turn.fields.filter(|f| !f.is_none());
    if inference_config.is_none()
        && fields.is_none()
        && turn.model_id.is_none()
        && !pick(turn.response_paths)
        && !pick(turn.output_tool)
        && !pick(turn.system)
        && !pick(turn.service_tier)
        && !pick(turn.performance_config)
        && !pick(turn.request_metadata)
    {
        return Ok(setup.clone());
    }
    let mut own = Setup::clone(setup);
    let serving = serving_from(
        turn.service_tier,
        turn.performance_config,
        turn.request_metadata,
    )?;
    own.serving = setup.serving.over(&serving);
    if let Some(sp) = turn.system.filter(|s| !s.is_none()) {
        (own.system, own.system_prompt) = system_from(sp, "system")?;
        own.fixed_tokens = own.estimate_fixed();
    }
    if let Some(model) = turn.model_id {
        if model.trim().is_empty() {
            return Err(value_error("model_id", "must not be empty"));
        }
        own.model = Some(model.to_owned());
    }
    if let Some(paths) = turn.response_paths.filter(|p| !p.is_none()) {
        own.response_paths = Some(
            as_list(paths, "additional_model_response_field_paths")?
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    crate::wire::pyobj::as_str(
                        p,
                        &format!("additional_model_response_field_paths[{i}]"),
                    )
                })
                .collect::<PyResult<_>>()?,
        );
    }
    let native = turn
        .output_tool
        .filter(|o| !o.is_none())
        .map(|o| o.get_item("textFormat").is_ok())
        .unwrap_or(false);
    if native {
        let spec = turn.output_tool.expect("checked above");
        own.output_format = Some(request::output_config(&Obj::new(spec, "output")?)?);
    } else if let Some(spec) = turn.output_tool.filter(|o| !o.is_none()) {
        let list = pyo3::types::PyList::new(spec.py(), [spec])?;
        let tool = request::tools(list.as_any(), "output")?.remove(0);
        let t::Tool::ToolSpec(tool_spec) = &tool else {
            return Err(value_error("output", "expected a toolSpec"));
        };
        let name = tool_spec.name().to_owned();
        if own.callable.contains(&name) || own.for_caller.contains(&name) {
            return Err(value_error(
                "output",
                format!("the conversation has a tool named {name:?} already"),
            ));
        }
        own.tools.get_or_insert_with(Vec::new).push(tool);
        own.callable.insert(name.clone());
        own.output_tool = Some(name);
        // (the output's call and one corrected call are rounds of their own)
        own.max_rounds = own.max_rounds.max(2);
        own.fixed_tokens = own.estimate_fixed();
    }
    if let Some(c) = inference_config {
        let given = request::inference_config(&Obj::new(c, "inference_config")?)?;
        let base = setup
            .inference
            .clone()
            .unwrap_or_else(|| t::InferenceConfiguration::builder().build());
        own.inference = Some(
            t::InferenceConfiguration::builder()
                .set_max_tokens(given.max_tokens().or(base.max_tokens()))
                .set_temperature(given.temperature().or(base.temperature()))
                .set_top_p(given.top_p().or(base.top_p()))
                .set_stop_sequences(
                    given
                        .stop_sequences
                        .clone()
                        .or_else(|| base.stop_sequences.clone()),
                )
                .build(),
        );
    }
    if let Some(f) = fields {
        let given = crate::wire::document::py_to_document(f, "additional_model_request_fields")?;
        own.fields = Some(crate::wire::document::merge(setup.fields.as_ref(), given));
    }
    Ok(Arc::new(own))
}
