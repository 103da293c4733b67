//! Scripted content blocks, given in the boto3 shape (`text`, `toolUse`, `image`, `reasoningContent`
//! with signed text or redacted data, a system tool's `toolUse` of type `server_tool_use`
//! with its `toolResult`, and `citationsContent`), parsed into the blocks FakeBedrock answers with.

use pyo3::prelude::*;
use serde_json::Value;

use super::ids::new_tool_use_id;
use super::script::Block;

fn value_error(msg: impl Into<String>) -> PyErr {
    pyo3::exceptions::PyValueError::new_err(msg.into())
}

/// Parses scripted content blocks given in the boto3 shape.
pub fn parse_blocks(content: &Value) -> PyResult<Vec<Block>> {
    let Some(items) = content.as_array() else {
        return Err(value_error(
            "content must be a list of content block dicts, e.g. [{\"text\": \"Hi\"}]",
        ));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let map = item.as_object().filter(|m| m.len() == 1).ok_or_else(|| {
                value_error(format!(
                    "content[{i}] must be a dict with exactly one key (text, toolUse, toolResult, reasoningContent, image or citationsContent), got {item}"
                ))
            })?;
            let (key, value) = map.iter().next().expect("one entry");
            match key.as_str() {
                "text" => match value.as_str() {
                    Some(text) => Ok(Block::Text(text.to_owned())),
                    None => Err(value_error(format!("content[{i}]['text'] must be a str"))),
                },
                "toolUse" => {
                    let name = value["name"].as_str().ok_or_else(|| {
                        value_error(format!("content[{i}]['toolUse']['name'] must be a str"))
                    })?;
                    let id = match &value["toolUseId"] {
                        Value::Null => new_tool_use_id(),
                        Value::String(id) => id.clone(),
                        other => {
                            return Err(value_error(format!(
                                "content[{i}]['toolUse']['toolUseId'] must be a str, got {other}"
                            )))
                        }
                    };
                    let input = value.get("input").cloned().unwrap_or(Value::Object(Default::default()));
                    let name = name.to_owned();
                    match &value["type"] {
                        Value::Null => Ok(Block::ToolUse { id, name, input }),
                        Value::String(t) if t == "server_tool_use" => {
                            Ok(Block::ServerToolUse { id, name, input })
                        }
                        other => Err(value_error(format!(
                            "content[{i}]['toolUse']['type'] must be 'server_tool_use' (a system tool's call), got {other}"
                        ))),
                    }
                }
                "toolResult" => scripted_tool_result(value, i),
                "reasoningContent" if value.get("redactedContent").is_some() => {
                    let at = format!("content[{i}]['reasoningContent']['redactedContent']");
                    Ok(Block::Redacted(base64_of(&value["redactedContent"], &at)?))
                }
                "reasoningContent" => {
                    let reasoning = &value["reasoningText"];
                    let text = reasoning["text"].as_str().ok_or_else(|| {
                        value_error(format!(
                            "content[{i}]['reasoningContent']['reasoningText']['text'] must be a str"
                        ))
                    })?;
                    Ok(Block::Reasoning {
                        text: text.to_owned(),
                        signature: reasoning["signature"].as_str().map(str::to_owned),
                    })
                }
                "image" => scripted_image(value, i),
                "citationsContent" => {
                    let text = value["content"]
                        .as_array()
                        .map(|c| c.iter().filter_map(|t| t["text"].as_str()).collect::<String>())
                        .ok_or_else(|| {
                            value_error(format!(
                                "content[{i}]['citationsContent']['content'] must be a list of {{\"text\": str}}"
                            ))
                        })?;
                    let citations = match &value["citations"] {
                        Value::Null => Vec::new(),
                        Value::Array(c) => c.clone(),
                        _ => {
                            return Err(value_error(format!(
                                "content[{i}]['citationsContent']['citations'] must be a list"
                            )))
                        }
                    };
                    Ok(Block::Cited { text, citations })
                }
                other => Err(value_error(format!(
                    "content[{i}] has key {other:?}; scripted turns support text, toolUse, toolResult, reasoningContent, image and citationsContent"
                ))),
            }
        })
        .collect()
}

/// Bytes a script gives, as base64: the base64 text itself, or the bytes (as JSON numbers).
fn base64_of(value: &Value, at: &str) -> PyResult<String> {
    use base64::Engine;
    let bytes: Option<Vec<u8>> = match value {
        Value::String(b64) => return Ok(b64.clone()),
        Value::Array(items) => items
            .iter()
            .map(|b| b.as_u64().and_then(|b| u8::try_from(b).ok()))
            .collect(),
        _ => None,
    };
    bytes
        .map(|b| base64::engine::general_purpose::STANDARD.encode(b))
        .ok_or_else(|| value_error(format!("{at} must be bytes")))
}

/// `{"image": {"format": "png", "source": {"bytes": b"..."}}}`: an image the model answers
/// with (bytes, or their base64).
fn scripted_image(value: &Value, i: usize) -> PyResult<Block> {
    let format = value["format"]
        .as_str()
        .ok_or_else(|| value_error(format!("content[{i}]['image']['format'] must be a str")))?;
    let b64 = base64_of(
        &value["source"]["bytes"],
        &format!("content[{i}]['image']['source']['bytes']"),
    )?;
    Ok(Block::Image {
        format: format.to_owned(),
        b64,
    })
}

/// `{"toolResult": {"toolUseId", "content": [{"text"} | {"json"}], "status", "type"}}`: a
/// system tool's result, which the model's message carries after the tool's call.
fn scripted_tool_result(value: &Value, i: usize) -> PyResult<Block> {
    let at = format!("content[{i}]['toolResult']");
    let id = value["toolUseId"]
        .as_str()
        .ok_or_else(|| value_error(format!("{at}['toolUseId'] must be a str")))?;
    let content = value["content"]
        .as_array()
        .filter(|c| !c.is_empty())
        .ok_or_else(|| value_error(format!("{at}['content'] must be a non-empty list")))?;
    for (k, item) in content.iter().enumerate() {
        let one = |key: &str| {
            item.as_object()
                .is_some_and(|m| m.len() == 1 && m.contains_key(key))
        };
        let ok =
            (one("text") && item["text"].is_string()) || (one("json") && item["json"].is_object());
        if !ok {
            return Err(value_error(format!(
                "{at}['content'][{k}] must be {{'text': str}} or {{'json': dict}} (what a system tool's result streams), got {item}"
            )));
        }
    }
    let opt_str = |key: &str| -> PyResult<Option<String>> {
        match &value[key] {
            Value::Null => Ok(None),
            Value::String(s) => Ok(Some(s.clone())),
            other => Err(value_error(format!(
                "{at}['{key}'] must be a str, got {other}"
            ))),
        }
    };
    let status = opt_str("status")?;
    if let Some(s) = status
        .as_deref()
        .filter(|s| !matches!(*s, "success" | "error"))
    {
        return Err(value_error(format!(
            "{at}['status'] must be 'success' or 'error', got {s:?}"
        )));
    }
    Ok(Block::ToolResult {
        id: id.to_owned(),
        kind: opt_str("type")?,
        status,
        content: content.clone(),
    })
}
