//! FakeBedrock's deterministic token rule, documented in `FakeBedrock`'s docstring so that
//! tests can assert exact usage figures:
//!
//! - text (message text, system text, reasoning text, guard content, cited text, a search
//!   result's title and texts): its whitespace-separated words;
//! - JSON (tool-use input, tool-result json, a tool's whole `toolSpec`): the UTF-8 length of its
//!   compact JSON divided by 4, rounded up;
//! - a tool use costs 1 plus its input; a tool result 1 plus its content;
//! - an image, video or audio block costs 100; a document its text words, or its bytes / 4 rounded up;
//! - `cachePoint` blocks cost nothing but mark a cacheable prefix (tools, then system, then messages).

use serde_json::Value;

/// Tokens per image, video or audio block.
pub const MEDIA_TOKENS: u64 = 100;

pub fn text_tokens(text: &str) -> u64 {
    text.split_whitespace().count() as u64
}

pub fn json_tokens(value: &Value) -> u64 {
    let len = serde_json::to_vec(value).map(|v| v.len()).unwrap_or(0) as u64;
    len.div_ceil(4)
}

fn document_tokens(doc: &Value) -> u64 {
    let source = &doc["source"];
    if let Some(text) = source["text"].as_str() {
        return text_tokens(text);
    }
    if let Some(b64) = source["bytes"].as_str() {
        // base64 carries 3 bytes in 4 characters
        return ((b64.len() as u64 * 3) / 4).div_ceil(4);
    }
    if let Some(content) = source["content"].as_array() {
        return content
            .iter()
            .map(|c| c["text"].as_str().map(text_tokens).unwrap_or(0))
            .sum();
    }
    0
}

/// Tokens of one content block of a message or a system prompt (boto3/JSON shape).
pub fn block_tokens(block: &Value) -> u64 {
    let Some(map) = block.as_object() else {
        return 0;
    };
    let mut total = 0;
    for (key, value) in map {
        total += match key.as_str() {
            "text" => value.as_str().map(text_tokens).unwrap_or(0),
            "image" | "video" | "audio" => MEDIA_TOKENS,
            "document" => document_tokens(value),
            "toolUse" => 1 + json_tokens(&value["input"]),
            "toolResult" => {
                1 + value["content"]
                    .as_array()
                    .map(|items| items.iter().map(block_tokens_in_result).sum::<u64>())
                    .unwrap_or(0)
            }
            "reasoningContent" => value["reasoningText"]["text"]
                .as_str()
                .map(text_tokens)
                .unwrap_or(0),
            "guardContent" => value["text"]["text"].as_str().map(text_tokens).unwrap_or(0),
            "citationsContent" => texts_tokens(&value["content"]),
            "searchResult" => {
                value["title"].as_str().map(text_tokens).unwrap_or(0)
                    + texts_tokens(&value["content"])
            }
            _ => 0,
        };
    }
    total
}

/// The words of a list of `{"text": ...}`.
fn texts_tokens(list: &Value) -> u64 {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["text"].as_str())
        .map(text_tokens)
        .sum()
}

fn block_tokens_in_result(item: &Value) -> u64 {
    match item.get("json") {
        Some(json) => json_tokens(json),
        None => block_tokens(item),
    }
}

/// One cost in the order Bedrock caches a prompt: tools, system, then messages. `cache_point`
/// marks the end of a cacheable prefix.
pub struct PromptItem<'a> {
    pub tokens: u64,
    pub cache_point: bool,
    /// The block or tool spec itself, to tell one prefix from another.
    pub value: &'a Value,
}

/// The prompt of a Converse (or CountTokens) request as a sequence of costs.
pub fn prompt_items<'a>(body: &'a Value) -> Vec<PromptItem<'a>> {
    let mut items = Vec::new();
    let mut push = |value: &'a Value, tokens: u64| {
        let cache_point = value.get("cachePoint").is_some();
        items.push(PromptItem {
            tokens,
            cache_point,
            value,
        })
    };
    if let Some(tools) = body["toolConfig"]["tools"].as_array() {
        for tool in tools {
            push(tool, tool.get("toolSpec").map(json_tokens).unwrap_or(0));
        }
    }
    let messages = body["messages"].as_array().into_iter().flatten();
    let blocks = body["system"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(messages.flat_map(|m| m["content"].as_array().into_iter().flatten()));
    for block in blocks {
        push(block, block_tokens(block));
    }
    items
}

/// Total input tokens of a request, ignoring caching.
pub fn input_tokens(body: &Value) -> u64 {
    prompt_items(body).iter().map(|i| i.tokens).sum()
}

/// Tokens of an assistant message's content.
pub fn output_tokens(content: &[Value]) -> u64 {
    content.iter().map(block_tokens).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn counts_by_the_documented_rule() {
        let body = json!({
            "system": [{"text": "You are terse."}],
            "toolConfig": {"tools": [{"toolSpec": {"name": "t"}}]},
            "messages": [
                {"role": "user", "content": [{"text": "hello  there\nfriend"}, {"image": {}}]},
                {"role": "assistant", "content": [{"toolUse": {"toolUseId": "a", "name": "t", "input": {"k": 1}}}]},
                {"role": "user", "content": [{"toolResult": {"toolUseId": "a", "content": [{"json": {"k": 1}}, {"text": "ok"}]}}]},
            ]
        });
        // tools: {"name":"t"} = 12 bytes -> 3; system 3; text 3 + image 100;
        // toolUse 1 + ceil(7/4)=2 -> 3; toolResult 1 + 2 + 1 -> 4
        assert_eq!(input_tokens(&body), 3 + 3 + 3 + 100 + 3 + 4);
    }
}
