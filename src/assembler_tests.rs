use super::*;
use aws_sdk_bedrockruntime::types as t;
use aws_smithy_types::Blob;
use t::ConverseStreamOutput as E;

fn start_tool(index: i32, id: &str) -> E {
    E::ContentBlockStart(
        t::ContentBlockStartEvent::builder()
            .content_block_index(index)
            .start(t::ContentBlockStart::ToolUse(
                t::ToolUseBlockStart::builder()
                    .tool_use_id(id)
                    .name("echo")
                    .build()
                    .unwrap(),
            ))
            .build()
            .unwrap(),
    )
}

fn tool_input(index: i32, input: &str) -> E {
    E::ContentBlockDelta(
        t::ContentBlockDeltaEvent::builder()
            .content_block_index(index)
            .delta(t::ContentBlockDelta::ToolUse(
                t::ToolUseBlockDelta::builder()
                    .input(input)
                    .build()
                    .unwrap(),
            ))
            .build()
            .unwrap(),
    )
}

fn reasoning(index: i32, delta: t::ReasoningContentBlockDelta) -> E {
    E::ContentBlockDelta(
        t::ContentBlockDeltaEvent::builder()
            .content_block_index(index)
            .delta(t::ContentBlockDelta::ReasoningContent(delta))
            .build()
            .unwrap(),
    )
}

fn stop(index: i32) -> E {
    E::ContentBlockStop(
        t::ContentBlockStopEvent::builder()
            .content_block_index(index)
            .build()
            .unwrap(),
    )
}

fn texts(blocks: &[t::ContentBlock]) -> Vec<String> {
    blocks
        .iter()
        .map(|b| match b {
            t::ContentBlock::Text(s) => format!("text:{s}"),
            t::ContentBlock::ToolUse(u) => format!("tool:{}", u.tool_use_id()),
            t::ContentBlock::ReasoningContent(_) => "reasoning".into(),
            t::ContentBlock::CitationsContent(c) => format!(
                "cited:{}:{}",
                crate::citation::generated_text(c),
                c.citations().len()
            ),
            _ => "other".into(),
        })
        .collect()
}

fn citation(index: i32, quote: &str) -> E {
    let location = t::DocumentCharLocation::builder()
        .document_index(0)
        .start(0)
        .end(3)
        .build();
    E::ContentBlockDelta(
        t::ContentBlockDeltaEvent::builder()
            .content_block_index(index)
            .delta(t::ContentBlockDelta::Citation(
                t::CitationsDelta::builder()
                    .title("Doc")
                    .source_content(t::CitationSourceContentDelta::builder().text(quote).build())
                    .location(t::CitationLocation::DocumentChar(location))
                    .build(),
            ))
            .build()
            .unwrap(),
    )
}

#[test]
fn cited_text_is_one_citations_block_whichever_delta_comes_first() {
    let mut a = Assembler::default();
    a.push(&citation(0, "abc")); // (before the text it cites)
    a.push_text(0, "It is abc.");
    a.push(&citation(0, "def"));
    a.push(&stop(0));
    a.push_text(1, " Plain.");
    let cut = a.cut("m");
    assert_eq!(texts(&cut.prefill), ["cited:It is abc.:2", "text: Plain."]);
    let t::ContentBlock::CitationsContent(c) = &cut.prefill[0] else {
        panic!("not a citations block")
    };
    assert_eq!(c.citations()[1].title(), Some("Doc"));
    assert_eq!(
        c.citations()[1].source_content(),
        [t::CitationSourceContent::Text("def".into())]
    );
}

#[test]
fn an_open_text_block_is_the_prefill_without_trailing_whitespace() {
    let mut a = Assembler::default();
    a.push_text(0, "Hello, ");
    a.push_text(0, "wor ld \n");
    let cut = a.cut("m");
    assert_eq!(texts(&cut.prefill), ["text:Hello, wor ld"]);
    assert_eq!(cut.trimmed, " \n");
    assert!(cut.ends_in_text);
    assert_eq!((cut.last, cut.next), (0, 1));
}

#[test]
fn a_cut_tool_use_is_dropped_and_its_index_is_the_next() {
    let mut a = Assembler::default();
    a.push_text(0, "Let me look. ");
    a.push(&stop(0));
    a.push(&start_tool(1, "t1"));
    a.push(&tool_input(1, "{\"text\": \"a\"}"));
    a.push(&stop(1));
    a.push(&start_tool(2, "t2"));
    a.push(&tool_input(2, "{\"te"));
    let cut = a.cut("m");
    assert_eq!(texts(&cut.prefill), ["text:Let me look. ", "tool:t1"]);
    assert!(!cut.ends_in_text && cut.trimmed.is_empty());
    assert_eq!((cut.last, cut.next), (1, 2));
    // (the dropped block is gone from the message too)
    a.push(&start_tool(2, "t3"));
    a.push(&tool_input(2, "{}"));
    a.push(&stop(2));
    assert!(a.has_content());
}

#[test]
fn reasoning_goes_back_only_whole_and_signed() {
    let mut a = Assembler::default();
    a.push(&reasoning(
        0,
        t::ReasoningContentBlockDelta::Text("think".into()),
    ));
    a.push(&reasoning(
        0,
        t::ReasoningContentBlockDelta::Signature("sig".into()),
    ));
    a.push(&stop(0));
    a.push(&reasoning(
        1,
        t::ReasoningContentBlockDelta::Text("half".into()),
    ));
    let cut = a.cut("m");
    assert_eq!(texts(&cut.prefill), ["reasoning"]);
    assert_eq!((cut.last, cut.next), (0, 1));

    let mut a = Assembler::default();
    a.push(&reasoning(
        0,
        t::ReasoningContentBlockDelta::Text("unsigned".into()),
    ));
    a.push(&stop(0));
    a.push_text(1, "   ");
    let cut = a.cut("m");
    // (unsigned reasoning and blank text are never sent; the blank text stays shown)
    assert!(cut.prefill.is_empty());
    assert!(cut.ends_in_text);
    assert_eq!((cut.last, cut.next, cut.trimmed.as_str()), (1, 2, "   "));
}

#[test]
fn nothing_yet_gives_an_empty_prefill() {
    let mut a = Assembler::default();
    a.push(&start_tool(0, "t1"));
    let cut = a.cut("m");
    assert!(cut.prefill.is_empty() && !cut.ends_in_text);
    assert_eq!((cut.last, cut.next), (-1, 0));
    assert!(!a.has_content());
}

fn image_event(index: i32, start: bool, piece: &[u8]) -> E {
    if start {
        return E::ContentBlockStart(
            t::ContentBlockStartEvent::builder()
                .content_block_index(index)
                .start(t::ContentBlockStart::Image(
                    t::ImageBlockStart::builder()
                        .format(t::ImageFormat::Webp)
                        .build()
                        .unwrap(),
                ))
                .build()
                .unwrap(),
        );
    }
    E::ContentBlockDelta(
        t::ContentBlockDeltaEvent::builder()
            .content_block_index(index)
            .delta(t::ContentBlockDelta::Image(
                t::ImageBlockDelta::builder()
                    .source(t::ImageSource::Bytes(Blob::new(piece)))
                    .build(),
            ))
            .build()
            .unwrap(),
    )
}

#[test]
fn a_streamed_image_is_assembled_and_goes_back_only_whole() {
    let mut a = Assembler::default();
    a.push_text(0, "Look: ");
    a.push(&stop(0));
    a.push(&image_event(1, true, b""));
    a.push(&image_event(1, false, b"RIFF"));
    a.push(&image_event(1, false, b"WEBP"));
    a.push(&stop(1));
    a.push(&image_event(2, true, b""));
    a.push(&image_event(2, false, b"half"));
    let cut = a.cut("m");
    assert_eq!(texts(&cut.prefill), ["text:Look: ", "other"]);
    assert_eq!((cut.last, cut.next), (1, 2));
    let t::ContentBlock::Image(image) = &cut.prefill[1] else {
        panic!("not an image: {:?}", cut.prefill[1]);
    };
    assert_eq!(image.format(), &t::ImageFormat::Webp);
    assert_eq!(
        image.source(),
        Some(&t::ImageSource::Bytes(Blob::new(b"RIFFWEBP".to_vec())))
    );
}

fn start_server_tool(index: i32, id: &str) -> E {
    E::ContentBlockStart(
        t::ContentBlockStartEvent::builder()
            .content_block_index(index)
            .start(t::ContentBlockStart::ToolUse(
                t::ToolUseBlockStart::builder()
                    .tool_use_id(id)
                    .name("nova_code_interpreter")
                    .r#type(t::ToolUseType::ServerToolUse)
                    .build()
                    .unwrap(),
            ))
            .build()
            .unwrap(),
    )
}

fn start_result(index: i32, id: &str) -> E {
    E::ContentBlockStart(
        t::ContentBlockStartEvent::builder()
            .content_block_index(index)
            .start(t::ContentBlockStart::ToolResult(
                t::ToolResultBlockStart::builder()
                    .tool_use_id(id)
                    .r#type("nova_code_interpreter_result")
                    .status(t::ToolResultStatus::Success)
                    .build()
                    .unwrap(),
            ))
            .build()
            .unwrap(),
    )
}

fn result_piece(index: i32, piece: t::ToolResultBlockDelta) -> E {
    E::ContentBlockDelta(
        t::ContentBlockDeltaEvent::builder()
            .content_block_index(index)
            .delta(t::ContentBlockDelta::ToolResult(vec![piece]))
            .build()
            .unwrap(),
    )
}

/// A system tool's call and a result cut (`whole`: and its stop, and text after it).
fn server_answer(whole: bool) -> Assembler {
    let mut a = Assembler::default();
    a.push(&start_server_tool(0, "s1"));
    a.push(&tool_input(0, "{\"code\": \"1\"}"));
    a.push(&stop(0));
    a.push(&start_result(1, "s1"));
    a.push(&result_piece(
        1,
        t::ToolResultBlockDelta::Text("{\"stdOut\":".into()),
    ));
    a.push(&result_piece(
        1,
        t::ToolResultBlockDelta::Text("\"1\"}".into()),
    ));
    if whole {
        a.push(&stop(1));
        a.push_text(2, "It is 1.");
    }
    a
}

#[test]
fn a_system_tools_call_and_result_are_assembled_and_go_back_only_together() {
    // (the result was cut: its call cannot go back without it)
    let cut = server_answer(false).cut("m");
    assert!(cut.prefill.is_empty());
    assert_eq!(cut.dropped, [0, 1]);
    let cut = server_answer(true).cut("m");
    assert_eq!(texts(&cut.prefill), ["tool:s1", "other", "text:It is 1."]);
    let mut a = server_answer(true);
    a.push(&E::MessageStop(
        t::MessageStopEvent::builder()
            .stop_reason(t::StopReason::EndTurn)
            .build()
            .unwrap(),
    ));
    let reply = a.finish("m", None).unwrap();
    let [t::ContentBlock::ToolUse(call), t::ContentBlock::ToolResult(result), _] =
        reply.message.content()
    else {
        panic!("{:?}", reply.message)
    };
    assert_eq!(call.r#type(), Some(&t::ToolUseType::ServerToolUse));
    assert_eq!(result.r#type(), Some("nova_code_interpreter_result"));
    assert_eq!(result.status(), Some(&t::ToolResultStatus::Success));
    assert_eq!(
        result.content(),
        [t::ToolResultContentBlock::Text("{\"stdOut\":\"1\"}".into())]
    );
}
