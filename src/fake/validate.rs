//! Request validation the way Bedrock does it: each rule answers with the service's own
//! ValidationException text (WIRE.md), so clients can be tested against real wordings.

use serde_json::Value;

pub use super::media::valid_document_name;
use super::media::Media;
use crate::wire::server_tools::DOCUMENTED as SYSTEM_TOOLS;

/// Keys a Message ContentBlock union may carry.
const CONTENT_KEYS: &[&str] = &[
    "text",
    "image",
    "document",
    "video",
    "audio",
    "toolUse",
    "toolResult",
    "guardContent",
    "cachePoint",
    "reasoningContent",
    "citationsContent",
    "searchResult",
];

type Check = Result<(), String>;

fn is_blank(text: &str) -> bool {
    text.trim().is_empty()
}

/// Validates a Converse or ConverseStream request body.
pub fn validate_converse(body: &Value) -> Check {
    let Some(obj) = body.as_object() else {
        // Note: ours: no source gives the service's wording of this check.
        return Err("Malformed input request: the request body must be a JSON object.".into());
    };
    validate_inference_config(obj.get("inferenceConfig"))?;
    validate_serving(obj)?;
    validate_output_config(obj.get("outputConfig"))?;
    validate_tool_config(obj.get("toolConfig"))?;
    if let Some(system) = obj.get("system") {
        validate_system(system)?;
    }
    let empty = Vec::new();
    let messages = match obj.get("messages") {
        None | Some(Value::Null) => &empty,
        Some(Value::Array(m)) => m,
        // Note: ours: no source gives the service's wording of this check.
        Some(_) => return Err("Malformed input request: messages must be a list.".into()),
    };
    validate_messages(messages, obj.contains_key("toolConfig"))?;
    validate_cache_points(body)
}

/// `serviceTier`, `performanceConfig` and `requestMetadata` against the service model's
/// constraints (`crate::wire::serving`, the client's own check of them).
fn validate_serving(obj: &serde_json::Map<String, Value>) -> Check {
    use crate::wire::serving::{LATENCIES, MAX_METADATA, TIERS};
    // Note: ours, in the service's constraint wording (its texts for these are not documented).
    let enum_error = |value: &Value, at: &str, allowed: &[&str]| {
        let shown = value
            .as_str()
            .map_or_else(|| value.to_string(), str::to_owned);
        format!(
            "Value '{shown}' at '{at}' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
            allowed.join(", ")
        )
    };
    if let Some(tier) = obj.get("serviceTier") {
        let kind = &tier["type"];
        if !kind.as_str().is_some_and(|k| TIERS.contains(&k)) {
            return Err(enum_error(kind, "serviceTier.type", TIERS));
        }
    }
    if let Some(latency) = obj.get("performanceConfig").and_then(|p| p.get("latency")) {
        if !latency.as_str().is_some_and(|l| LATENCIES.contains(&l)) {
            return Err(enum_error(latency, "performanceConfig.latency", LATENCIES));
        }
    }
    if let Some(meta) = obj.get("requestMetadata").and_then(Value::as_object) {
        if meta.is_empty() || meta.len() > MAX_METADATA {
            // Note: ours, in the service's constraint wording.
            return Err(format!(
                "Value at 'requestMetadata' failed to satisfy constraint: Member must have length between 1 and {MAX_METADATA}"
            ));
        }
    }
    Ok(())
}

/// `outputConfig.textFormat`: the type Bedrock knows, and a schema that is JSON.
fn validate_output_config(config: Option<&Value>) -> Check {
    let Some(format) = config.and_then(|c| c.get("textFormat")) else {
        return Ok(());
    };
    let kind = &format["type"];
    if kind != "json_schema" {
        let shown = kind
            .as_str()
            .map_or_else(|| kind.to_string(), str::to_owned);
        // Note: ours, in the service's constraint wording.
        return Err(format!(
            "Value '{shown}' at 'outputConfig.textFormat.type' failed to satisfy constraint: Member must satisfy enum value set: [json_schema]"
        ));
    }
    let schema = &format["structure"]["jsonSchema"]["schema"];
    let parsed = schema.as_str().map(serde_json::from_str::<Value>);
    if !matches!(parsed, Some(Ok(Value::Object(_)))) {
        // Note: ours: no source gives the service's wording of this check.
        return Err(
            "The value at outputConfig.textFormat.structure.jsonSchema.schema must be a JSON object serialized as a string."
                .into(),
        );
    }
    Ok(())
}

/// At most four cache points per request (tools, system and messages together). The text is
/// the one Bedrock returns for Anthropic models, as observed by maximhq/bifrost.
fn validate_cache_points(body: &Value) -> Check {
    let found = super::tokens::prompt_items(body)
        .iter()
        .filter(|i| i.cache_point)
        .count();
    if found > 4 {
        return Err(format!(
            "A maximum of 4 blocks with cache_control may be provided. Found {found}."
        ));
    }
    Ok(())
}

fn validate_inference_config(config: Option<&Value>) -> Check {
    let Some(config) = config else { return Ok(()) };
    if let Some(max) = config.get("maxTokens") {
        if max.as_i64().is_none_or(|m| m < 1) {
            return Err(format!(
                // Note: ours: no source gives the service's wording of this check.
                "The value at inferenceConfig.maxTokens must be an integer greater than or equal to 1, but was {max}."
            ));
        }
    }
    for key in ["temperature", "topP"] {
        if let Some(v) = config.get(key) {
            if v.as_f64().is_none_or(|x| !(0.0..=1.0).contains(&x)) {
                return Err(format!(
                    // Note: ours: no source gives the service's wording of this check.
                    "The value at inferenceConfig.{key} must be a number between 0 and 1, but was {v}."
                ));
            }
        }
    }
    Ok(())
}

fn valid_tool_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn validate_tool_config(config: Option<&Value>) -> Check {
    let Some(config) = config else { return Ok(()) };
    let tools = config["tools"].as_array();
    if tools.is_none_or(|t| t.is_empty()) {
        // Note: ours: no source gives the service's wording of this check.
        return Err("The value at toolConfig.tools must contain at least one tool.".into());
    }
    if let Some(wanted) = config["toolChoice"]["tool"]["name"].as_str() {
        let named = |t: &Value| t["toolSpec"]["name"].as_str() == Some(wanted);
        if !tools.into_iter().flatten().any(named) {
            return Err(format!(
                // Note: ours: no source gives the service's wording of this check.
                "The tool {wanted} named in toolConfig.toolChoice is not in toolConfig.tools."
            ));
        }
    }
    for (i, tool) in tools.into_iter().flatten().enumerate() {
        for kind in ["toolSpec", "systemTool"] {
            let Some(tool) = tool.get(kind) else { continue };
            let name = tool["name"].as_str().unwrap_or("");
            if !valid_tool_name(name) {
                return Err(format!(
                    // Note: ours: no source gives the service's wording of this check.
                    "Value '{name}' at 'toolConfig.tools.{i}.member.{kind}.name' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_-]+ and length between 1 and 64"
                ));
            }
            if kind == "systemTool" && !SYSTEM_TOOLS.contains(&name) {
                return Err(format!(
                    // Note: ours: the service's wording for a system tool it does not have is
                    // not documented; the names are those Bedrock documents (Nova's).
                    "The system tool {name} at toolConfig.tools.{i}.systemTool is not supported. Supported system tools: {}.",
                    SYSTEM_TOOLS.join(", ")
                ));
            }
        }
    }
    Ok(())
}

fn validate_system(system: &Value) -> Check {
    for (i, block) in system.as_array().into_iter().flatten().enumerate() {
        if let Some(text) = block.get("text").and_then(Value::as_str) {
            if is_blank(text) {
                return Err(format!(
                    // Note: ours: no source gives the service's wording of this check.
                    "The text field in the SystemContentBlock object at system.{i} is blank. Add text to the text field, and try again."
                ));
            }
        }
    }
    Ok(())
}

fn validate_messages(messages: &[Value], has_tool_config: bool) -> Check {
    // Roles first: the service rejects a badly ordered conversation before looking inside it.
    for (n, message) in messages.iter().enumerate() {
        let role = message["role"].as_str().unwrap_or("");
        if role != "user" && role != "assistant" {
            return Err(format!(
                // Note: ours: no source gives the service's wording of this check.
                "The role field in the Message object at messages.{n} must be one of: user, assistant."
            ));
        }
    }
    if let Some(first) = messages.first() {
        if first["role"] != "user" {
            return Err("A conversation must start with a user message. Try again with a conversation that starts with a user message.".into());
        }
    }
    if messages.windows(2).any(|w| w[0]["role"] == w[1]["role"]) {
        return Err("A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again.".into());
    }

    let mut media = Media::default();
    let mut uses_tools = false;
    for (n, message) in messages.iter().enumerate() {
        let content = message["content"].as_array();
        if content.is_none_or(|c| c.is_empty()) {
            return Err(format!(
                "The content field in the Message object at messages.{n} is empty. Add a ContentBlock object to the content field and try again."
            ));
        }
        for (m, block) in content.into_iter().flatten().enumerate() {
            let path = format!("messages.{n}.content.{m}");
            let Some(map) = block.as_object() else {
                return Err(format!(
                    // Note: ours: no source gives the service's wording of this check.
                    "The ContentBlock object at {path} must be an object."
                ));
            };
            let keys: Vec<&str> = map
                .keys()
                .map(String::as_str)
                .filter(|k| CONTENT_KEYS.contains(k))
                .collect();
            if keys.len() != 1 {
                return Err(format!(
                    // Note: ours: no source gives the service's wording of this check.
                    "The ContentBlock object at {path} must contain exactly one of the following fields, but it contains {}: {}. Set exactly one field and try again.",
                    keys.len(),
                    if keys.is_empty() { "none".to_owned() } else { keys.join(", ") }
                ));
            }
            match keys[0] {
                "text" if block["text"].as_str().is_none_or(is_blank) => {
                    return Err(format!(
                        "The text field in the ContentBlock object at {path} is blank. Add text to the text field, and try again."
                    ));
                }
                "image" | "document" | "video" | "audio" => {
                    media.add(keys[0], &block[keys[0]], &path)?
                }
                "searchResult" => validate_search_result(&block["searchResult"], &path)?,
                "citationsContent" => validate_citations(&block["citationsContent"], &path)?,
                "toolUse" | "toolResult" => {
                    uses_tools = true;
                    if keys[0] == "toolResult" {
                        validate_tool_result(&block["toolResult"], &path, &mut media)?;
                    }
                }
                _ => {}
            }
        }
    }
    media.check_counts()?;
    if uses_tools && !has_tool_config {
        return Err("The toolConfig field must be defined when using toolUse and toolResult content blocks.".into());
    }
    validate_tool_pairing(messages)
}

fn validate_tool_result(result: &Value, path: &str, media: &mut Media) -> Check {
    let content = result["content"].as_array();
    if result["status"] == "error" && content.is_none_or(|c| c.is_empty()) {
        return Err(format!(
            "The content field at {path}.toolResult cannot be empty when status value is error."
        ));
    }
    for (k, item) in content.into_iter().flatten().enumerate() {
        for kind in ["image", "document", "video"] {
            if let Some(block) = item.get(kind) {
                media.add(kind, block, &format!("{path}.toolResult.content.{k}"))?;
            }
        }
        if let Some(result) = item.get("searchResult") {
            validate_search_result(result, &format!("{path}.toolResult.content.{k}"))?;
        }
        if item.get("audio").is_some() {
            return Err(format!(
                // Note: ours: ToolResultContentBlock has no audio member (botocore's model);
                // the service's wording for an unknown member is not documented.
                "The ToolResultContentBlock object at {path}.toolResult.content.{k} contains an unsupported field: audio. Tool results can carry text, json, image, document, video or searchResult blocks."
            ));
        }
        if let Some(json) = item.get("json") {
            if !json.is_object() {
                return Err(format!(
                    "The format of the value at {path}.toolResult.content.{k}.json is invalid. Provide a json object for the field and try again."
                ));
            }
        }
    }
    Ok(())
}

/// A search result needs its source, title and some text. Note: ours, all of these texts:
/// the service's wordings for them are not documented (they follow its blank-text one).
fn validate_search_result(result: &Value, path: &str) -> Check {
    let at = format!("{path}.searchResult");
    for key in ["source", "title"] {
        if result[key].as_str().is_none_or(is_blank) {
            return Err(format!(
                "The {key} field in the SearchResultBlock object at {at} is blank. Add text to the {key} field, and try again."
            ));
        }
    }
    let content = result["content"].as_array();
    if content.is_none_or(|c| c.is_empty()) {
        return Err(format!(
            "The content field in the SearchResultBlock object at {at} is empty. Add a SearchResultContentBlock object to the content field and try again."
        ));
    }
    for (k, item) in content.into_iter().flatten().enumerate() {
        if item["text"].as_str().is_none_or(is_blank) {
            return Err(format!(
                "The text field in the SearchResultContentBlock object at {at}.content.{k} is blank. Add text to the text field, and try again."
            ));
        }
    }
    validate_citations_config(result, &at)
}

/// `citations` of a document or search result: `{"enabled": bool}`. Note: ours, the text.
fn validate_citations_config(block: &Value, at: &str) -> Check {
    match block.get("citations") {
        None => Ok(()),
        Some(c) if c["enabled"].is_boolean() => Ok(()),
        Some(_) => Err(format!(
            "The citations field at {at} must be an object with a boolean enabled field."
        )),
    }
}

/// A cited answer sent back: its generated content must hold text. Note: ours, the text.
fn validate_citations(block: &Value, path: &str) -> Check {
    let texts = block["content"].as_array();
    let blank = texts.is_none_or(|c| c.iter().all(|t| t["text"].as_str().is_none_or(is_blank)));
    if blank {
        return Err(format!(
            "The content field in the CitationsContentBlock object at {path}.citationsContent has no text. Send the cited text back as the service returned it, and try again."
        ));
    }
    Ok(())
}

fn blocks_of<'a>(message: &'a Value, key: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
    message["content"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(move |b| b.get(key))
}

fn is_server_tool_use(tool_use: &Value) -> bool {
    tool_use["type"] == "server_tool_use"
}

/// A system tool's calls come back with their results in the same assistant message.
fn validate_server_results(n: usize, message: &Value) -> Check {
    let ids = |key, server: bool| -> Vec<&str> {
        blocks_of(message, key)
            .filter(|b| key == "toolResult" || is_server_tool_use(b) == server)
            .map(|b| b["toolUseId"].as_str().unwrap_or(""))
            .collect()
    };
    let (uses, results) = (ids("toolUse", true), ids("toolResult", true));
    // Note: ours, both: the service's wordings for these are not documented.
    if let Some(id) = results.iter().find(|id| !uses.contains(id)) {
        return Err(format!(
            "The toolResult block for {id} at messages.{n}.content does not answer a toolUse block of type server_tool_use in the same message."
        ));
    }
    if let Some(id) = uses.iter().find(|id| !results.contains(id)) {
        return Err(format!(
            "The toolUse block {id} of type server_tool_use at messages.{n}.content has no toolResult block in the same message."
        ));
    }
    Ok(())
}

/// Tool results must answer exactly the tool uses of the assistant turn before them (a
/// system tool's, answered in its own message, aside).
fn validate_tool_pairing(messages: &[Value]) -> Check {
    for (n, message) in messages.iter().enumerate() {
        if message["role"] != "user" {
            validate_server_results(n, message)?;
            continue;
        }
        let results: Vec<&str> = blocks_of(message, "toolResult")
            .map(|r| r["toolUseId"].as_str().unwrap_or(""))
            .collect();
        let uses: Vec<&str> = match n.checked_sub(1) {
            Some(prev) => blocks_of(&messages[prev], "toolUse")
                .filter(|u| !is_server_tool_use(u))
                .map(|u| u["toolUseId"].as_str().unwrap_or(""))
                .collect(),
            None => Vec::new(),
        };
        if results.len() > uses.len() {
            return Err(format!(
                "The number of toolResult blocks at messages.{n}.content exceeds the number of toolUse blocks of previous turn."
            ));
        }
        let missing: Vec<&str> = uses
            .iter()
            .copied()
            .filter(|id| !results.contains(id))
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "Expected toolResult blocks at messages.{n}.content for the following Ids: {}",
                missing.join(", ")
            ));
        }
    }
    Ok(())
}
