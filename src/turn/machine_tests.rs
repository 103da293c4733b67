use super::*;
use crate::context::policy::Memory;
use aws_smithy_types::Document;

fn text(role: t::ConversationRole, s: &str) -> t::Message {
    t::Message::builder()
        .role(role)
        .content(t::ContentBlock::Text(s.into()))
        .build()
        .unwrap()
}

fn reply(content: Vec<t::ContentBlock>, tokens: i64) -> ReplyData {
    ReplyData {
        message: t::Message::builder()
            .role(t::ConversationRole::Assistant)
            .set_content(Some(content))
            .build()
            .unwrap(),
        stop_reason: "end_turn".into(),
        usage: Tokens {
            input: tokens,
            output: 1,
            total: tokens + 1,
            ..Tokens::default()
        },
        latency_ms: None,
        request_id: None,
        model_id: "m".into(),
        fields: None,
        turn: None,
        output: None,
        grounding: None,
        served: Default::default(),
        trace: None,
        retries: Vec::new(),
    }
}

fn call(id: &str, name: &str) -> t::ContentBlock {
    t::ContentBlock::ToolUse(
        t::ToolUseBlock::builder()
            .tool_use_id(id)
            .name(name)
            .input(Document::Object(Default::default()))
            .build()
            .unwrap(),
    )
}

fn result(id: &str) -> t::ContentBlock {
    t::ContentBlock::ToolResult(
        t::ToolResultBlock::builder()
            .tool_use_id(id)
            .content(t::ToolResultContentBlock::Text("ok".into()))
            .build()
            .unwrap(),
    )
}

fn setup(max_rounds: u32) -> Arc<Setup> {
    Arc::new(Setup {
        tools: Some(Vec::new()),
        callable: ["echo".to_owned()].into_iter().collect(),
        for_caller: ["ask_user".to_owned()].into_iter().collect(),
        max_rounds,
        tool_choice: Some(t::ToolChoice::Any(t::AnyToolChoice::builder().build())),
        ..Setup::default()
    })
}

fn base() -> Base {
    Base::from(vec![
        text(t::ConversationRole::User, "a"),
        text(t::ConversationRole::Assistant, "b"),
    ])
}

fn request(m: &mut Machine) -> RequestParts {
    match m.next_action().unwrap() {
        Action::Request(parts) => *parts,
        other => panic!("expected a request, got {other:?}"),
    }
}

#[test]
fn a_tool_round_sends_results_in_call_order_and_forces_the_tool_only_at_first() {
    let mut m = Machine::new(
        setup(4),
        base(),
        "m".into(),
        text(t::ConversationRole::User, "q"),
        None,
    );
    let first = request(&mut m);
    assert!(
        first.tool_config.unwrap().tool_choice().is_some(),
        "forced at first"
    );
    m.on_reply(reply(vec![call("1", "echo"), call("2", "echo")], 10))
        .unwrap();
    let Action::RunTools(calls) = m.next_action().unwrap() else {
        panic!("expected tool calls")
    };
    assert_eq!(calls.len(), 2);
    // results come back in any order and go to the model in call order
    m.add_results(vec![result("2")]).unwrap();
    assert!(matches!(m.next_action().unwrap(), Action::RunTools(c) if c.len() == 1));
    assert!(m.add_results(vec![result("9")]).is_err());
    m.add_results(vec![result("1")]).unwrap();
    let second = request(&mut m);
    assert!(
        second.tool_config.as_ref().unwrap().tool_choice().is_none(),
        "not forced after"
    );
    let round = &second.messages()[4];
    let ids: Vec<_> = round.content().iter().filter_map(result_id).collect();
    assert_eq!(ids, ["1", "2"]);
    m.on_reply(reply(vec![t::ContentBlock::Text("done".into())], 20))
        .unwrap();
    assert!(matches!(m.next_action().unwrap(), Action::Done));
    let committed = m.commit().unwrap();
    assert_eq!(committed.change.added.len(), 4);
    assert_eq!(committed.reply.usage.input, 30);
    assert!(m.next_action().is_err(), "a committed turn is over");
}

#[test]
fn the_round_limit_and_a_blank_answer_after_tools_fail_the_turn() {
    let mut m = Machine::new(
        setup(0),
        base(),
        "m".into(),
        text(t::ConversationRole::User, "q"),
        None,
    );
    request(&mut m);
    let err = m.on_reply(reply(vec![call("1", "echo")], 5)).unwrap_err();
    assert_eq!(err.class, "ToolLoopLimitError");
    assert!(m.is_ended());

    let mut m = Machine::new(
        setup(2),
        base(),
        "m".into(),
        text(t::ConversationRole::User, "q"),
        None,
    );
    request(&mut m);
    m.on_reply(reply(vec![call("1", "echo")], 5)).unwrap();
    m.add_results(vec![result("1")]).unwrap();
    request(&mut m);
    let err = m
        .on_reply(reply(vec![t::ContentBlock::Text("  ".into())], 5))
        .unwrap_err();
    assert_eq!(err.class, "EmptyReplyError");
    let detail = err.detail.unwrap();
    assert_eq!(
        (detail.rounds, detail.messages.len(), detail.usage.input),
        (1, 3, 10)
    );
}

#[test]
fn a_call_of_a_tool_without_a_function_ends_the_turn_for_the_caller() {
    let mut m = Machine::new(
        setup(4),
        base(),
        "m".into(),
        text(t::ConversationRole::User, "q"),
        None,
    );
    request(&mut m);
    m.on_reply(reply(vec![call("1", "echo"), call("2", "ask_user")], 5))
        .unwrap();
    assert!(matches!(m.next_action().unwrap(), Action::Done));
    assert_eq!(m.commit().unwrap().change.added.len(), 2);
}

fn long_base(turns: usize) -> Base {
    let mut messages = Vec::new();
    for i in 0..turns {
        messages.push(text(t::ConversationRole::User, &format!("question {i}")));
        messages.push(text(t::ConversationRole::Assistant, &format!("answer {i}")));
    }
    Base::from(messages)
}

fn with_memory(memory: Memory) -> Arc<Setup> {
    Arc::new(Setup {
        tools: Some(vec![]),
        callable: ["echo".to_owned()].into_iter().collect(),
        max_rounds: 4,
        memory: Some(memory),
        ..Setup::default()
    })
}

/// A turn that sends "q" after `turns` exchanges, under `memory`.
fn asking(memory: Memory, turns: usize) -> Machine {
    Machine::new(
        with_memory(memory),
        long_base(turns),
        "m".into(),
        text(t::ConversationRole::User, "q"),
        None,
    )
}

fn summarizing(model_id: Option<&str>) -> Memory {
    Memory::Summarizing(Arc::new(crate::context::policy::SummarySettings {
        max_tokens: 50,
        keep_recent: 2,
        model_id: model_id.map(str::to_owned),
        prompt: None,
    }))
}

#[test]
fn a_window_cuts_before_the_first_request_only() {
    let mut m = asking(Memory::Window { max_messages: 3 }, 5);
    let first = request(&mut m);
    assert_eq!(first.from, 8, "the newest exchange and the new question");
    assert_eq!(first.messages().len(), 3);
    m.on_reply(reply(vec![call("1", "echo")], 10)).unwrap();
    m.add_results(vec![result("1")]).unwrap();
    let second = request(&mut m);
    assert_eq!(second.from, 8, "no cut in the middle of a tool loop");
    assert_eq!(second.messages().len(), 5);
    m.on_reply(reply(vec![t::ContentBlock::Text("done".into())], 10))
        .unwrap();
    let committed = m.commit().unwrap();
    assert_eq!(committed.change.start, 8);
    assert_eq!(committed.change.added.len(), 4);
    assert_eq!(committed.change.tokens.len(), 4);
}

#[test]
fn an_overflow_cuts_deeper_once_then_fails() {
    let mut m = asking(
        Memory::Budget {
            max_tokens: 1_000,
            trim_to: 1_000,
        },
        8,
    );
    assert_eq!(request(&mut m).from, 0);
    let overflow = ErrorInfo::service(
        "ValidationException",
        "Input is too long for requested model.",
    );
    m.on_error(overflow.clone(), true).unwrap();
    let retry = request(&mut m);
    assert_eq!(retry.from, 8, "the older half is dropped");
    let err = m.on_error(overflow, true).unwrap_err();
    assert_eq!(err.class, "ContextWindowExceededError");
    assert!(m.is_ended());
}

#[test]
fn an_overflow_after_content_is_not_retried() {
    let mut m = asking(Memory::Window { max_messages: 100 }, 4);
    request(&mut m);
    let overflow = ErrorInfo::service(
        "ValidationException",
        "prompt is too long: 5 tokens > 4 maximum",
    );
    assert!(m.on_error(overflow, false).is_err());
}

#[test]
fn a_summary_comes_first_and_rides_in_the_system_prompt() {
    let mut m = asking(summarizing(Some("cheap")), 4);
    let summary = match m.next_action().unwrap() {
        Action::Summarize(parts) => *parts,
        other => panic!("expected a summary request, got {other:?}"),
    };
    assert_eq!(summary.model_id, "cheap");
    assert_eq!(summary.messages().len(), 1);
    let mut said = reply(
        vec![t::ContentBlock::Text("they asked four questions".into())],
        7,
    );
    said.model_id = "cheap".into();
    m.on_reply(said).unwrap();
    let parts = request(&mut m);
    assert_eq!(parts.from, 6, "the last exchange is kept");
    assert!(
        matches!(parts.system.last(), Some(t::SystemContentBlock::Text(s)) if s.contains("four questions"))
    );
    m.on_reply(reply(vec![t::ContentBlock::Text("ok".into())], 10))
        .unwrap();
    let c = m.commit().unwrap();
    assert_eq!(
        c.change.summary.as_deref(),
        Some("they asked four questions")
    );
    assert_eq!(c.change.usage.input, 17, "the summary's tokens count");
    assert_eq!(c.reply.usage.input, 10, "but not in the reply's");
    assert_eq!(c.change.stats.by_model.len(), 2);
}

#[test]
fn a_failed_summary_fails_the_turn_and_says_so() {
    let mut m = asking(summarizing(None), 4);
    assert!(matches!(m.next_action().unwrap(), Action::Summarize(_)));
    let err = m
        .on_error(
            ErrorInfo::service("ThrottlingException", "Too many requests"),
            true,
        )
        .unwrap_err();
    assert_eq!(err.class, "ThrottlingError");
    assert!(err
        .message
        .starts_with("summarising the conversation's 6 older messages failed"));
    assert!(m.is_ended());
}
