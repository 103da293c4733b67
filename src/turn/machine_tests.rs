use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;

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

#[derive(Default)]
struct Counting {
    requests: AtomicUsize,
    commits: AtomicUsize,
}

impl Hook for Counting {
    fn before_request(&self, parts: &mut RequestParts) -> Result<(), Box<ErrorInfo>> {
        self.requests.fetch_add(1, Ordering::SeqCst);
        assert_eq!(
            parts.messages().len() % 2,
            1,
            "a request ends with the user's message"
        );
        Ok(())
    }
    fn at_commit(
        &self,
        history: &[t::Message],
        added: &[t::Message],
    ) -> Result<(), Box<ErrorInfo>> {
        self.commits.fetch_add(1, Ordering::SeqCst);
        assert_eq!(history.len(), 2);
        assert_eq!(added.len(), 4);
        Ok(())
    }
}

fn setup(hook: Option<Arc<Counting>>, max_rounds: u32) -> Arc<Setup> {
    Arc::new(Setup {
        tools: Some(Vec::new()),
        callable: ["echo".to_owned()].into_iter().collect(),
        for_caller: ["ask_user".to_owned()].into_iter().collect(),
        max_rounds,
        tool_choice: Some(t::ToolChoice::Any(t::AnyToolChoice::builder().build())),
        hooks: hook.into_iter().map(|h| h as Arc<dyn Hook>).collect(),
        ..Setup::default()
    })
}

fn base() -> Arc<Vec<t::Message>> {
    Arc::new(vec![
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
fn a_tool_round_runs_the_hooks_once_per_request_and_once_per_turn() {
    let hook = Arc::new(Counting::default());
    let mut m = Machine::new(
        setup(Some(hook.clone()), 4),
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
    assert_eq!(committed.added.len(), 4);
    assert_eq!(committed.reply.usage.input, 30);
    assert_eq!(hook.requests.load(Ordering::SeqCst), 2);
    assert_eq!(hook.commits.load(Ordering::SeqCst), 1);
    assert!(m.next_action().is_err(), "a committed turn is over");
}

#[test]
fn the_round_limit_and_a_blank_answer_after_tools_fail_the_turn() {
    let mut m = Machine::new(
        setup(None, 0),
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
        setup(None, 2),
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
        setup(None, 4),
        base(),
        "m".into(),
        text(t::ConversationRole::User, "q"),
        None,
    );
    request(&mut m);
    m.on_reply(reply(vec![call("1", "echo"), call("2", "ask_user")], 5))
        .unwrap();
    assert!(matches!(m.next_action().unwrap(), Action::Done));
    assert_eq!(m.commit().unwrap().added.len(), 2);
}
