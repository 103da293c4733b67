//! InvokeModel and its stream, for bodies in Anthropic's Messages format (the
//! `anthropic_version` body Bedrock documents for Claude). The request is read as the
//! equivalent Converse request, so scripted turns and the default model answer it too; the
//! answer is written in Anthropic's response shape, or as Anthropic's stream events, each
//! in a `chunk` event's base64 `bytes`, as Bedrock sends them.
//! Note: other providers' body formats (Titan, Llama, Nova...) are refused: ours.

use std::collections::VecDeque;

use serde_json::{json, Map, Value};

use super::script::{Block, Turn, Usage};

fn malformed(what: &str) -> String {
    // The form of Bedrock's schema-validation answer for InvokeModel bodies.
    format!("Malformed input request: #: {what}, please reformat your input and try again.")
}

/// The Converse request an Anthropic Messages body amounts to.
pub fn as_converse(body: &Value) -> Result<Value, String> {
    let Some(obj) = body.as_object() else {
        return Err(malformed("expected type: JSONObject"));
    };
    if !obj.contains_key("anthropic_version") {
        // Note: ours: FakeBedrock speaks only Anthropic's body format.
        return Err("FakeBedrock's InvokeModel reads Anthropic Messages bodies only (with anthropic_version); use Converse for other models.".into());
    }
    for key in ["max_tokens", "messages"] {
        if !obj.contains_key(key) {
            return Err(malformed(&format!("required key [{key}] not found")));
        }
    }
    let mut messages = Vec::new();
    for message in obj["messages"].as_array().into_iter().flatten() {
        let content: Vec<Value> = match &message["content"] {
            Value::String(text) => vec![json!({ "text": text })],
            Value::Array(blocks) => blocks.iter().filter_map(converse_block).collect(),
            _ => Vec::new(),
        };
        messages.push(json!({ "role": message["role"], "content": content }));
    }
    let mut out = Map::new();
    out.insert("messages".into(), Value::Array(messages));
    if let Some(system) = obj.get("system").and_then(Value::as_str) {
        out.insert("system".into(), json!([{ "text": system }]));
    }
    let mut config = json!({ "maxTokens": obj["max_tokens"] });
    if let Some(stop) = obj.get("stop_sequences") {
        config["stopSequences"] = stop.clone();
    }
    out.insert("inferenceConfig".into(), config);
    if let Some(tools) = obj.get("tools").and_then(Value::as_array) {
        let specs: Vec<Value> = tools
            .iter()
            .map(|t| json!({"toolSpec": {"name": t["name"], "inputSchema": {"json": t["input_schema"]}}}))
            .collect();
        let mut tool_config = json!({ "tools": specs });
        match obj["tool_choice"]["type"].as_str() {
            Some("any") => tool_config["toolChoice"] = json!({"any": {}}),
            Some("tool") => {
                tool_config["toolChoice"] = json!({"tool": {"name": obj["tool_choice"]["name"]}})
            }
            _ => {}
        }
        out.insert("toolConfig".into(), tool_config);
    }
    Ok(Value::Object(out))
}

fn converse_block(block: &Value) -> Option<Value> {
    match block["type"].as_str()? {
        "text" => Some(json!({ "text": block["text"] })),
        "tool_use" => Some(
            json!({"toolUse": {"toolUseId": block["id"], "name": block["name"], "input": block["input"]}}),
        ),
        "tool_result" => {
            let content = match &block["content"] {
                Value::String(s) => vec![json!({ "text": s })],
                Value::Array(items) => items.iter().filter_map(converse_block).collect(),
                _ => vec![],
            };
            Some(json!({"toolResult": {"toolUseId": block["tool_use_id"], "content": content}}))
        }
        _ => None,
    }
}

fn content(turn: &Turn) -> Vec<Value> {
    turn.blocks
        .iter()
        .map(|b| match b {
            Block::Text(text) => json!({ "type": "text", "text": text }),
            // (ours: the text alone; Anthropic's citation shapes are not Converse's)
            Block::Cited { text, .. } => json!({ "type": "text", "text": text }),
            Block::ToolUse { id, name, input } => {
                json!({ "type": "tool_use", "id": id, "name": name, "input": input })
            }
            Block::Reasoning { text, signature } => {
                json!({ "type": "thinking", "thinking": text, "signature": signature })
            }
            Block::Redacted(data) => json!({ "type": "redacted_thinking", "data": data }),
            // (ours: Anthropic's models generate no images; the shape is their input's)
            Block::Image { format, b64 } => json!({
                "type": "image",
                "source": { "type": "base64", "media_type": format!("image/{format}"), "data": b64 },
            }),
            // (ours: the shapes of Anthropic's own server tools, for Nova's system tools)
            Block::ServerToolUse { id, name, input } => {
                json!({ "type": "server_tool_use", "id": id, "name": name, "input": input })
            }
            Block::ToolResult { id, kind, content, .. } => json!({
                "type": kind.as_deref().unwrap_or("tool_result"),
                "tool_use_id": id,
                "content": content,
            }),
        })
        .collect()
}

/// Anthropic's name of a stop reason.
fn stop_reason(turn: &Turn) -> &str {
    match turn.stop_reason() {
        "stop_sequence" => "stop_sequence",
        "max_tokens" => "max_tokens",
        "tool_use" => "tool_use",
        _ => "end_turn",
    }
}

fn message_id(seed: &str) -> String {
    use std::hash::{DefaultHasher, Hash, Hasher};
    let mut h = DefaultHasher::new();
    seed.hash(&mut h);
    format!("msg_bdrk_{:016x}", h.finish())
}

/// The InvokeModel answer.
pub fn response(turn: &Turn, usage: Usage, model: &str, request_id: &str) -> Value {
    json!({
        "id": message_id(request_id),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content(turn),
        "stop_reason": stop_reason(turn),
        "stop_sequence": null,
        "usage": { "input_tokens": usage.input, "output_tokens": usage.output },
    })
}

/// The stream's events, in order (each goes in one `chunk`).
pub fn events(turn: &Turn, usage: Usage, model: &str, request_id: &str) -> VecDeque<Value> {
    let mut out = VecDeque::new();
    let mut start = response(turn, usage, model, request_id);
    start["content"] = json!([]);
    start["stop_reason"] = Value::Null;
    start["usage"]["output_tokens"] = json!(1);
    out.push_back(json!({ "type": "message_start", "message": start }));
    for (index, block) in content(turn).into_iter().enumerate() {
        let (first, delta) = match block["type"].as_str().unwrap_or("") {
            "text" => (
                json!({"type": "text", "text": ""}),
                json!({"type": "text_delta", "text": block["text"]}),
            ),
            "tool_use" => (
                json!({"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}),
                json!({"type": "input_json_delta", "partial_json": block["input"].to_string()}),
            ),
            "thinking" => (
                json!({"type": "thinking", "thinking": ""}),
                json!({"type": "thinking_delta", "thinking": block["thinking"]}),
            ),
            _ => (block.clone(), Value::Null),
        };
        out.push_back(
            json!({"type": "content_block_start", "index": index, "content_block": first}),
        );
        if !delta.is_null() {
            out.push_back(json!({"type": "content_block_delta", "index": index, "delta": delta}));
        }
        out.push_back(json!({"type": "content_block_stop", "index": index}));
    }
    out.push_back(json!({
        "type": "message_delta",
        "delta": { "stop_reason": stop_reason(turn), "stop_sequence": null },
        "usage": { "output_tokens": usage.output },
    }));
    out.push_back(json!({
        "type": "message_stop",
        "amazon-bedrock-invocationMetrics": {
            "inputTokenCount": usage.input,
            "outputTokenCount": usage.output,
            "invocationLatency": turn.latency_ms(),
            "firstByteLatency": turn.latency_ms(),
        },
    }));
    out
}
