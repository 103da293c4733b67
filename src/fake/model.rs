//! FakeBedrock's default model: what it answers when no turn is scripted. It is
//! deterministic — it repeats the last user message — and honours `maxTokens` and
//! `stopSequences` like a real model, so clients can test those paths without a script.
//! A forced `toolChoice` (`any` or a named tool) makes it call a tool, as Bedrock's models
//! always do, with an input built from the tool's schema; a structured output asked for
//! natively (`outputConfig`) gets JSON text built the same way; with thinking enabled it reasons
//! first, in a signed block that must come back unchanged. A system tool the user's message
//! names is called and answered in the same response (`system_tools`); given a document or
//! search result with citations enabled, it ends its answer with a cited passage (`citing`).

use serde_json::{json, Value};

use super::ids::new_tool_use_id;
use super::script::{Block, Turn};

/// What the default model says to a request.
pub fn default_reply(body: &Value) -> String {
    let last = body["messages"]
        .as_array()
        .and_then(|m| m.last())
        .filter(|m| m["role"] == "user");
    let Some(last) = last else {
        return "Hello! I am FakeBedrock's default model: I repeat what you say.".into();
    };
    let mut said = Vec::new();
    let mut results = Vec::new();
    for block in last["content"].as_array().into_iter().flatten() {
        if let Some(text) = block["text"].as_str() {
            said.push(text.to_owned());
        } else if let Some(result) = block.get("toolResult") {
            let content: Vec<String> = result["content"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|c| match c.get("text").and_then(Value::as_str) {
                    Some(t) => t.to_owned(),
                    None => c.get("json").map(Value::to_string).unwrap_or_default(),
                })
                .collect();
            results.push(format!(
                "{} returned {}",
                result["toolUseId"].as_str().unwrap_or("?"),
                content.join(" ")
            ));
        }
    }
    match (said.is_empty(), results.is_empty()) {
        (false, _) => format!("You said: {}", said.join(" ")),
        (true, false) => format!("Tool results: {}", results.join("; ")),
        (true, true) => "I received your message.".into(),
    }
}

/// The tool a forced `toolChoice` names (`any`: the first tool), with its input schema.
fn forced_tool(body: &Value) -> Option<(String, Value)> {
    let config = &body["toolConfig"];
    let choice = &config["toolChoice"];
    let specs = config["tools"]
        .as_array()?
        .iter()
        .filter_map(|t| t.get("toolSpec"));
    let mut specs = specs.map(|s| (s["name"].as_str().unwrap_or(""), s));
    let (name, spec) = if choice.get("any").is_some() {
        specs.next()?
    } else {
        let wanted = choice["tool"]["name"].as_str()?;
        specs.find(|(name, _)| *name == wanted)?
    };
    Some((name.to_owned(), spec["inputSchema"]["json"].clone()))
}

/// The JSON schema of a structured output asked for natively (`outputConfig.textFormat`);
/// the request's validation checked that it parses.
pub fn output_schema(body: &Value) -> Option<Value> {
    let text = body["outputConfig"]["textFormat"]["structure"]["jsonSchema"]["schema"].as_str()?;
    serde_json::from_str(text).ok()
}

/// A value that fits a JSON schema's common keywords (type, properties, enum, const, items,
/// anyOf/oneOf/allOf, `$ref` into `$defs`, minItems, minimum/maximum, minLength, format),
/// as a model filling in a tool's input would. `root` holds the `$defs`.
pub fn sample(schema: &Value, root: &Value, said: &str) -> Value {
    if let Some(target) = schema["$ref"].as_str() {
        let name = target.rsplit('/').next().unwrap_or("");
        let defs = root.get("$defs").or_else(|| root.get("definitions"));
        return match defs.and_then(|d| d.get(name)) {
            Some(def) => sample(def, root, said),
            None => Value::Null,
        };
    }
    if let Some(v) = schema.get("const") {
        return v.clone();
    }
    if let Some(first) = schema["enum"].as_array().and_then(|e| e.first()) {
        return first.clone();
    }
    let union = ["anyOf", "oneOf", "allOf"]
        .iter()
        .find_map(|k| schema[*k].as_array())
        .and_then(|a| a.iter().find(|s| s["type"] != "null").or(a.first()));
    if let Some(first) = union {
        return sample(first, root, said);
    }
    let kind = match &schema["type"] {
        Value::Array(kinds) => kinds
            .iter()
            .find(|k| *k != "null")
            .cloned()
            .unwrap_or(Value::Null),
        other => other.clone(),
    };
    let default = if schema.get("properties").is_some() {
        "object"
    } else {
        "string"
    };
    match kind.as_str().unwrap_or(default) {
        "object" => {
            let mut out = serde_json::Map::new();
            let props = schema["properties"].as_object();
            for (key, prop) in props.into_iter().flatten() {
                out.insert(key.clone(), sample(prop, root, said));
            }
            Value::Object(out)
        }
        "array" => {
            let n = schema["minItems"].as_u64().unwrap_or(1).max(1);
            Value::Array(
                (0..n)
                    .map(|_| sample(&schema["items"], root, said))
                    .collect(),
            )
        }
        "integer" => {
            let low = schema["minimum"]
                .as_i64()
                .or(schema["exclusiveMinimum"].as_i64().map(|m| m + 1));
            let high = schema["maximum"]
                .as_i64()
                .or(schema["exclusiveMaximum"].as_i64().map(|m| m - 1));
            json!(match (low, high) {
                (Some(l), _) => l,
                (None, Some(h)) => h.min(1),
                (None, None) => 1,
            })
        }
        "number" => {
            let low = schema["minimum"]
                .as_f64()
                .or(schema["exclusiveMinimum"].as_f64().map(|m| m + 0.5));
            let high = schema["maximum"]
                .as_f64()
                .or(schema["exclusiveMaximum"].as_f64().map(|m| m - 0.5));
            json!(match (low, high) {
                (Some(l), _) => l,
                (None, Some(h)) => h.min(1.0),
                (None, None) => 1.0,
            })
        }
        "boolean" => json!(true),
        "null" => Value::Null,
        _ => match schema["format"].as_str() {
            Some("date") => json!("2024-01-01"),
            Some("date-time") => json!("2024-01-01T00:00:00Z"),
            Some("time") => json!("12:00:00"),
            Some("uuid") => json!("00000000-0000-4000-8000-000000000000"),
            Some("email") => json!("someone@example.com"),
            Some("uri") => json!("https://example.com/"),
            _ => {
                let min = schema["minLength"].as_u64().unwrap_or(0) as usize;
                let mut text = said.to_owned();
                while text.chars().count() < min {
                    text.push('.');
                }
                if let Some(max) = schema["maxLength"].as_u64() {
                    text = text.chars().take(max as usize).collect();
                }
                json!(text)
            }
        },
    }
}

/// The default model's whole turn for a request, cut by `stopSequences` and `maxTokens`.
pub fn default_turn(body: &Value) -> Turn {
    let mut turn = answer(body);
    if super::reasoning::thinking_enabled(body) {
        let text = "Let me think about what the user asked.".to_owned();
        let signature = Some(super::reasoning::sign(&text));
        turn.blocks.insert(0, Block::Reasoning { text, signature });
    }
    turn
}

fn answer(body: &Value) -> Turn {
    if let Some((name, schema)) = forced_tool(body) {
        let said = default_reply(body);
        return Turn {
            blocks: vec![Block::ToolUse {
                id: new_tool_use_id(),
                name,
                input: sample(&schema, &schema, &said),
            }],
            stop_reason: Some("tool_use".into()),
            ..Turn::default()
        };
    }
    let mut text = match output_schema(body) {
        // (asked for natively, the answer is JSON that fits the schema)
        Some(schema) => sample(&schema, &schema, &default_reply(body)).to_string(),
        None => default_reply(body),
    };
    let mut stop_reason = "end_turn";
    let config = &body["inferenceConfig"];
    let cut = config["stopSequences"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter(|s| !s.is_empty())
        .filter_map(|s| text.find(s))
        .min();
    if let Some(at) = cut {
        text.truncate(at);
        stop_reason = "stop_sequence";
    }
    if let Some(max) = config["maxTokens"].as_u64() {
        // Tokens are whitespace words: keep the first `max` of them, with their spacing.
        let mut words = 0;
        let mut end = None;
        let mut in_word = false;
        for (i, c) in text.char_indices() {
            if !c.is_whitespace() && !in_word {
                if words == max {
                    end = Some(i);
                    break;
                }
                words += 1;
            }
            in_word = !c.is_whitespace();
        }
        if let Some(end) = end {
            text.truncate(end);
            text.truncate(text.trim_end().len());
            stop_reason = "max_tokens";
        }
    }
    let mut blocks: Vec<Block> = super::system_tools::server_tool_blocks(body)
        .map(Vec::from)
        .unwrap_or_default();
    if stop_reason == "end_turn" {
        if let Some(cited) = cited(body, &text) {
            blocks.extend(cited);
            return Turn {
                blocks,
                stop_reason: Some(stop_reason.into()),
                ..Turn::default()
            };
        }
    }
    if !text.is_empty() {
        blocks.push(Block::Text(text));
    }
    if stop_reason == "end_turn" {
        blocks.extend(super::system_tools::web_cited(body));
    }
    Turn {
        blocks,
        stop_reason: Some(stop_reason.into()),
        ..Turn::default()
    }
}

/// The answer with a cited passage after `text`, when the request has a source with
/// citations enabled (`citing`) and the whole answer fits `maxTokens` (else the answer is
/// the plain one, cut as usual).
fn cited(body: &Value, text: &str) -> Option<Vec<Block>> {
    let (quote, citation, title) = super::citing::citation(body)?;
    let lead = format!("{text} According to {title}: ");
    let words = super::tokens::text_tokens(&lead) + super::tokens::text_tokens(&quote);
    if body["inferenceConfig"]["maxTokens"]
        .as_u64()
        .is_some_and(|max| words > max)
    {
        return None;
    }
    Some(vec![
        Block::Text(lead),
        Block::Cited {
            text: quote,
            citations: vec![citation],
        },
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn turn(config: Value) -> (Vec<Block>, String) {
        let body = json!({
            "messages": [{"role": "user", "content": [{"text": "one two three four"}]}],
            "inferenceConfig": config,
        });
        let t = default_turn(&body);
        let reason = t.stop_reason().to_owned();
        (t.blocks, reason)
    }

    #[test]
    fn echoes_and_stops_like_a_model() {
        assert_eq!(
            turn(json!({})),
            (
                vec![Block::Text("You said: one two three four".into())],
                "end_turn".into()
            )
        );
        assert_eq!(
            turn(json!({"maxTokens": 3})),
            (
                vec![Block::Text("You said: one".into())],
                "max_tokens".into()
            )
        );
        assert_eq!(
            turn(json!({"maxTokens": 6})),
            (
                vec![Block::Text("You said: one two three four".into())],
                "end_turn".into()
            )
        );
        assert_eq!(
            turn(json!({"stopSequences": ["three", "two"]})),
            (
                vec![Block::Text("You said: one ".into())],
                "stop_sequence".into()
            )
        );
    }
}
