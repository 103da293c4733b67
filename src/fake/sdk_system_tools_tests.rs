//! System tools as the Rust SDK meets them: the default model's server tool use and result,
//! in Converse and in ConverseStream, and the history that sends them back.

use aws_sdk_bedrockruntime::types::{SystemTool, ToolResultBlockDelta, ToolUseType};

use super::*;

fn code_interpreter() -> ToolConfiguration {
    let tool = SystemTool::builder()
        .name("nova_code_interpreter")
        .build()
        .unwrap();
    ToolConfiguration::builder()
        .tools(Tool::SystemTool(tool))
        .build()
        .unwrap()
}

const ASK: &str = "use nova_code_interpreter to add 2 and 2";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_model_answers_a_named_system_tool() {
    let server = start(FakeConfig::default());
    let client = client(&server);
    let out = client
        .converse()
        .model_id("m")
        .messages(user(ASK))
        .tool_config(code_interpreter())
        .send()
        .await
        .unwrap();
    assert_eq!(out.stop_reason(), &StopReason::EndTurn);
    let message = out.output().unwrap().as_message().unwrap().clone();
    let [ContentBlock::ToolUse(call), ContentBlock::ToolResult(result), ContentBlock::Text(text)] =
        message.content()
    else {
        panic!("unexpected content {:?}", message.content())
    };
    assert_eq!(call.r#type(), Some(&ToolUseType::ServerToolUse));
    assert_eq!(result.tool_use_id(), call.tool_use_id());
    assert_eq!(result.r#type(), Some("nova_code_interpreter_result"));
    assert_eq!(text, &format!("You said: {ASK}"));
    // The history goes back as it came, and is accepted.
    let again = client
        .converse()
        .model_id("m")
        .messages(user(ASK))
        .messages(message)
        .messages(user("thanks"))
        .tool_config(code_interpreter())
        .send()
        .await
        .unwrap();
    assert_eq!(again.stop_reason(), &StopReason::EndTurn);

    let out = client
        .converse_stream()
        .model_id("m")
        .messages(user(ASK))
        .tool_config(code_interpreter())
        .send()
        .await
        .unwrap();
    let mut stream = out.stream;
    let (mut kinds, mut result_text) = (Vec::new(), String::new());
    while let Some(event) = stream.recv().await.unwrap() {
        match event {
            ConverseStreamOutput::ContentBlockStart(e) => match e.start().unwrap() {
                ContentBlockStart::ToolUse(t) => {
                    assert_eq!(t.r#type(), Some(&ToolUseType::ServerToolUse));
                    kinds.push("toolUse");
                }
                ContentBlockStart::ToolResult(r) => {
                    assert_eq!(r.r#type(), Some("nova_code_interpreter_result"));
                    kinds.push("toolResult");
                }
                other => panic!("unexpected start {other:?}"),
            },
            ConverseStreamOutput::ContentBlockDelta(e) => {
                if let ContentBlockDelta::ToolResult(pieces) = e.delta().unwrap() {
                    for piece in pieces {
                        if let ToolResultBlockDelta::Text(t) = piece {
                            result_text.push_str(t);
                        }
                    }
                }
            }
            _ => {}
        }
    }
    assert_eq!(kinds, ["toolUse", "toolResult"]);
    let run: serde_json::Value = serde_json::from_str(&result_text).unwrap();
    assert_eq!(run["exitCode"], 0);
}
