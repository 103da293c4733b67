//! The default model and system tools (`toolConfig.tools[].systemTool`): when the user's
//! last message names a system tool the request offers (`"use nova_grounding to ..."`), it
//! calls that tool and answers in one response, as Nova does: the call (a `toolUse` of type
//! `server_tool_use`), the tool's result (a `toolResult` in its own message) and its text,
//! with stop reason `end_turn`. The trigger is ours (a real model decides for itself); the
//! shapes are those Bedrock documents for Nova's code interpreter.

use serde_json::{json, Value};

use super::ids::new_tool_use_id;
use super::script::Block;

/// The text of the request's last message when it is the user's.
fn user_text(body: &Value) -> Option<String> {
    let last = body["messages"].as_array()?.last()?;
    if last["role"] != "user" {
        return None;
    }
    let texts: Vec<&str> = last["content"]
        .as_array()?
        .iter()
        .filter_map(|b| b["text"].as_str())
        .collect();
    (!texts.is_empty()).then(|| texts.join(" "))
}

/// The system tool the user's last message names (the first offered, in `tools` order).
fn named_tool(body: &Value) -> Option<(String, String)> {
    let said = user_text(body)?;
    let tools = body["toolConfig"]["tools"].as_array()?;
    let name = tools
        .iter()
        .filter_map(|t| t["systemTool"]["name"].as_str())
        .find(|name| said.contains(name))?;
    Some((name.to_owned(), said))
}

/// The call and result blocks for a system tool the user's last message names, if any.
pub fn server_tool_blocks(body: &Value) -> Option<[Block; 2]> {
    let (name, said) = named_tool(body)?;
    let id = new_tool_use_id();
    let (input, output) = if name == "nova_code_interpreter" {
        // (the documented result: stdOut, stdErr, exitCode and isError, as JSON text)
        let code = format!("print({})", Value::String(said.clone()));
        let run = json!({ "stdOut": said, "stdErr": "", "exitCode": 0, "isError": false });
        (json!({ "code": code }), run.to_string())
    } else {
        // Note: ours: Bedrock does not document the grounding tool's call and result shapes.
        (
            json!({ "query": said }),
            format!("1 result for {said:?}: FakeBedrock's web"),
        )
    };
    Some([
        Block::ServerToolUse {
            id: id.clone(),
            name: name.clone(),
            input,
        },
        Block::ToolResult {
            id,
            kind: Some(format!("{name}_result")),
            status: Some("success".into()),
            content: vec![json!({ "text": output })],
        },
    ])
}

/// What Nova's web grounding ends its answer with: a passage cited from the web page it
/// found (a `web` location), when the user's last message names `nova_grounding`.
// Note: ours: the page and the passage are FakeBedrock's; the shape is Bedrock's
// `citationsContent` with a `web` location (url, domain), as Nova's grounded answers have.
pub fn web_cited(body: &Value) -> Option<Block> {
    let (name, said) = named_tool(body)?;
    if name != "nova_grounding" {
        return None;
    }
    let quote = format!("FakeBedrock's web has one page about {said:?}.");
    let citation = json!({
        "title": "FakeBedrock's web",
        "sourceContent": [{ "text": quote }],
        "location": { "web": {
            "url": "https://web.fakebedrock.invalid/result/1",
            "domain": "web.fakebedrock.invalid" } },
    });
    Some(Block::Cited {
        text: quote,
        citations: vec![citation],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_a_named_system_tool_only() {
        let body = |text: &str| {
            json!({
                "messages": [{"role": "user", "content": [{"text": text}]}],
                "toolConfig": {"tools": [{"systemTool": {"name": "nova_code_interpreter"}}]},
            })
        };
        let Some(
            [Block::ServerToolUse { id, name, input }, Block::ToolResult {
                id: rid,
                kind,
                content,
                ..
            }],
        ) = server_tool_blocks(&body("use nova_code_interpreter: 2+2"))
        else {
            panic!("no call")
        };
        assert_eq!((name.as_str(), &id), ("nova_code_interpreter", &rid));
        assert_eq!(input["code"], "print(\"use nova_code_interpreter: 2+2\")");
        assert_eq!(kind.as_deref(), Some("nova_code_interpreter_result"));
        assert!(content[0]["text"]
            .as_str()
            .unwrap()
            .contains("\"exitCode\":0"));
        assert!(server_tool_blocks(&body("just chat")).is_none());
    }
}
