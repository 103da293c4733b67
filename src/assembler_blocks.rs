//! The blocks a streamed reply is assembled from, as they grow (`Partial`), and each one
//! finished (`whole`): a child of `assembler`.

use aws_sdk_bedrockruntime::types as t;
use aws_smithy_types::Blob;

use crate::errors::ErrorInfo;
use crate::wire::document::json_to_document;

#[derive(Clone)]
pub(super) enum Partial {
    Text(String),
    Tool {
        id: String,
        name: String,
        input: String,
        /// A system tool's call (`server_tool_use`): its result follows as a `ToolResult`.
        server: bool,
    },
    /// A system tool's result, streamed by the service: the start's fields and the pieces'
    /// items (text pieces in a row make one text item).
    ToolResult {
        id: String,
        kind: Option<String>,
        status: Option<t::ToolResultStatus>,
        content: Vec<t::ToolResultContentBlock>,
    },
    Reasoning {
        text: String,
        signature: Option<String>,
        redacted: Option<Vec<u8>>,
    },
    /// A generated image: its format from `contentBlockStart`, its bytes from the deltas
    /// (or an S3 location, which a later delta replaces).
    Image {
        format: t::ImageFormat,
        bytes: Vec<u8>,
        s3: Option<t::S3Location>,
    },
}

pub(super) fn push_text(slot: std::collections::btree_map::Entry<'_, i32, Partial>, s: &str) {
    if let Partial::Text(text) = slot.or_insert(Partial::Text(String::new())) {
        text.push_str(s);
    }
}

// Note: Bedrock does not document how a result's pieces make its content; text pieces in
// a row are taken as one text (as text deltas are), each JSON piece as one item.
pub(super) fn push_result_pieces(
    content: &mut Vec<t::ToolResultContentBlock>,
    pieces: &[t::ToolResultBlockDelta],
) {
    for piece in pieces {
        match piece {
            t::ToolResultBlockDelta::Text(s) => match content.last_mut() {
                Some(t::ToolResultContentBlock::Text(text)) => text.push_str(s),
                _ => content.push(t::ToolResultContentBlock::Text(s.clone())),
            },
            t::ToolResultBlockDelta::Json(j) => {
                content.push(t::ToolResultContentBlock::Json(j.clone()))
            }
            _ => {}
        }
    }
}

pub(super) fn broken(model_id: &str, what: String) -> Box<ErrorInfo> {
    let mut info = ErrorInfo::new("StreamInterruptedError", what);
    info.retryable = true;
    Box::new(info.with_model(Some(model_id)))
}

/// Block `index` as a finished content block; an error when a tool input is not valid JSON.
/// A text block that was cited (`citations`) becomes the `citationsContent` block a
/// non-streamed reply has: its text as the generated content, the citations behind it.
pub(super) fn whole(
    index: i32,
    block: Partial,
    citations: Option<Vec<t::Citation>>,
    model_id: &str,
) -> Result<t::ContentBlock, Box<ErrorInfo>> {
    Ok(match block {
        Partial::Text(text) => match citations {
            Some(citations) => t::ContentBlock::CitationsContent(
                t::CitationsContentBlock::builder()
                    .content(t::CitationGeneratedContent::Text(text))
                    .set_citations(Some(citations))
                    .build(),
            ),
            None => t::ContentBlock::Text(text),
        },
        Partial::Tool {
            id,
            name,
            input,
            server,
        } => {
            let value = if input.trim().is_empty() {
                serde_json::Value::Object(Default::default())
            } else {
                serde_json::from_str(&input).map_err(|e| {
                    let mut info = ErrorInfo::new(
                        "ModelError",
                        format!(
                            "the input of tool use {id:?} ({name}) at content block {index} is not valid JSON: {e}"
                        ),
                    );
                    info.code = Some("malformed_tool_use".into());
                    Box::new(info.with_model(Some(model_id)))
                })?
            };
            t::ContentBlock::ToolUse(
                t::ToolUseBlock::builder()
                    .tool_use_id(id)
                    .name(name)
                    .input(json_to_document(value))
                    .set_type(server.then_some(t::ToolUseType::ServerToolUse))
                    .build()
                    .map_err(|e| broken(model_id, e.to_string()))?,
            )
        }
        Partial::ToolResult {
            id,
            kind,
            status,
            content,
        } => t::ContentBlock::ToolResult(
            t::ToolResultBlock::builder()
                .tool_use_id(id)
                .set_content(Some(content))
                .set_status(status)
                .set_type(kind)
                .build()
                .map_err(|e| broken(model_id, e.to_string()))?,
        ),
        Partial::Image { format, bytes, s3 } => t::ContentBlock::Image(
            t::ImageBlock::builder()
                .format(format)
                .source(match s3 {
                    Some(location) => t::ImageSource::S3Location(location),
                    None => t::ImageSource::Bytes(Blob::new(bytes)),
                })
                .build()
                .map_err(|e| broken(model_id, e.to_string()))?,
        ),
        Partial::Reasoning {
            text,
            signature,
            redacted,
        } => t::ContentBlock::ReasoningContent(match redacted {
            Some(bytes) if text.is_empty() => {
                t::ReasoningContentBlock::RedactedContent(Blob::new(bytes))
            }
            _ => t::ReasoningContentBlock::ReasoningText(
                t::ReasoningTextBlock::builder()
                    .text(text)
                    .set_signature(signature)
                    .build()
                    .map_err(|e| broken(model_id, e.to_string()))?,
            ),
        }),
    })
}
