//! Reasoning that must come back exactly: Anthropic's models on Bedrock sign each thinking
//! block and refuse a history whose block was changed, and with thinking enabled they refuse
//! a tool loop whose last assistant message lost its thinking. FakeBedrock holds clients to
//! the same rules, so a client that drops or rewrites reasoning fails its tests offline.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use serde_json::Value;

use super::script::{Block, Turn};

/// A signature for reasoning the default model writes (stable for the same text).
pub fn sign(text: &str) -> String {
    let mut h = DefaultHasher::new();
    ("fastconverse-fake-reasoning", text).hash(&mut h);
    format!("fake-sig-{:016x}", h.finish())
}

/// Whether a request turns extended thinking on (Anthropic's `thinking` or the
/// `reasoningConfig` of other providers, in `additionalModelRequestFields`).
pub fn thinking_enabled(body: &Value) -> bool {
    let fields = &body["additionalModelRequestFields"];
    fields["thinking"]["type"] == "enabled"
        || fields["reasoningConfig"]["type"] == "enabled"
        || fields["reasoning_config"]["type"] == "enabled"
}

/// Anthropic's models refuse extended thinking together with a forced tool call (the text
/// Bedrock returns for them, as reported publicly, e.g. can1357/oh-my-pi#341).
pub fn check_forced_tool(body: &Value) -> Result<(), String> {
    let choice = &body["toolConfig"]["toolChoice"];
    if thinking_enabled(body) && (choice.get("any").is_some() || choice.get("tool").is_some()) {
        return Err("The model returned the following errors: Thinking may not be enabled when tool_choice forces tool use.".into());
    }
    Ok(())
}

/// Notes the reasoning a turn sends, so that it is recognised when it comes back.
pub fn remember(turn: &Turn, issued: &mut HashMap<String, String>) {
    for block in &turn.blocks {
        match block {
            Block::Reasoning {
                text,
                signature: Some(sig),
            } => {
                issued.insert(sig.clone(), text.clone());
            }
            Block::Redacted(data) => {
                issued.insert(format!("redacted:{data}"), String::new());
            }
            _ => {}
        }
    }
}

/// Refuses reasoning that was changed on its way back, and (with thinking on) a final
/// assistant tool use that lost its reasoning.
pub fn check_round_trip(body: &Value, issued: &HashMap<String, String>) -> Result<(), String> {
    let messages = body["messages"].as_array().map_or(&[][..], Vec::as_slice);
    for (n, message) in messages.iter().enumerate() {
        if message["role"] != "assistant" {
            continue;
        }
        for (k, block) in message["content"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            let Some(reasoning) = block.get("reasoningContent") else {
                continue;
            };
            if let Some(text) = reasoning.get("reasoningText") {
                let Some(sig) = text["signature"].as_str() else {
                    continue; // unsigned (scripted without a signature): nothing to verify
                };
                if issued.get(sig).map(String::as_str) != text["text"].as_str() {
                    // The wording Anthropic's models answer with through Bedrock (as reported
                    // in public issues).
                    return Err(format!(
                        "messages.{n}.content.{k}: Invalid `signature` in `thinking` block"
                    ));
                }
            } else if let Some(data) = reasoning["redactedContent"].as_str() {
                if !issued.contains_key(&format!("redacted:{data}")) {
                    // Note: ours: modelled on the signature check's wording.
                    return Err(format!(
                        "messages.{n}.content.{k}: Invalid `data` in `redacted_thinking` block"
                    ));
                }
            }
        }
    }
    if thinking_enabled(body) {
        let last = messages.iter().rposition(|m| m["role"] == "assistant");
        if let Some(n) = last {
            let content = messages[n]["content"]
                .as_array()
                .map_or(&[][..], Vec::as_slice);
            let uses_tool = content.iter().any(|b| b.get("toolUse").is_some());
            let follows = messages.get(n + 1).is_some_and(|m| {
                m["content"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|b| b.get("toolResult").is_some())
            });
            let starts = content
                .first()
                .is_some_and(|b| b.get("reasoningContent").is_some());
            if uses_tool && follows && !starts {
                // The wording of Anthropic's API (as reported in public issues), shortened.
                return Err(format!(
                    "messages.{n}.content.0.type: Expected `thinking` or `redacted_thinking`, but found `{}`. When `thinking` is enabled, a final `assistant` message must start with a thinking block (preceeding the lastmost set of `tool_use` and `tool_result` blocks). We recommend you include thinking blocks from previous turns. To avoid this requirement, disable `thinking`.",
                    if content.first().is_some_and(|b| b.get("text").is_some()) { "text" } else { "tool_use" }
                ));
            }
        }
    }
    Ok(())
}
