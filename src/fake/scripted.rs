//! Scripted content blocks, given in the boto3 shape (`text`, `toolUse`, `image`, `reasoningContent`
//! with signed text or redacted data, `citationsContent`), parsed into the blocks FakeBedrock answers with.

use pyo3::prelude::*;
use serde_json::Value;

use super::model::new_tool_use_id;
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
                    "content[{i}] must be a dict with exactly one key (text, toolUse, reasoningContent, image or citationsContent), got {item}"
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
                    Ok(Block::ToolUse {
                        id,
                        name: name.to_owned(),
                        input: value.get("input").cloned().unwrap_or(Value::Object(Default::default())),
                    })
                }
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
                    "content[{i}] has key {other:?}; scripted turns support text, toolUse, reasoningContent, image and citationsContent"
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
