//! System tools (`toolConfig.tools[].systemTool`): tools the service runs itself, such as
//! Nova's web grounding. Their calls come back as `toolUse` blocks of type
//! `server_tool_use`, each followed by its `toolResult` in the same assistant message, so
//! nothing on this side runs or answers them.

use aws_sdk_bedrockruntime::types as t;

/// The system tools Bedrock documents (Amazon Nova's built-in tools).
pub const DOCUMENTED: &[&str] = &["nova_grounding", "nova_code_interpreter"];

/// Whether a tool use is a system tool's: the service ran it.
pub fn is_server_tool_use(u: &t::ToolUseBlock) -> bool {
    u.r#type() == Some(&t::ToolUseType::ServerToolUse)
}

/// The `toolUse` blocks of a message that wait for an answer from this side.
pub fn client_tool_uses(message: &t::Message) -> impl Iterator<Item = &t::ToolUseBlock> {
    message.content().iter().filter_map(|b| match b {
        t::ContentBlock::ToolUse(u) if !is_server_tool_use(u) => Some(u),
        _ => None,
    })
}
