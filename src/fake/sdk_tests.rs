//! Fidelity: the official Rust SDK, a client we did not write, against FakeBedrock.

use std::time::Duration;

use aws_credential_types::Credentials;
use aws_sdk_bedrockruntime::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_bedrockruntime::types::{
    ContentBlock, ContentBlockDelta, ContentBlockStart, ConversationRole, ConverseStreamOutput,
    Message, StopReason, Tool, ToolConfiguration, ToolInputSchema, ToolSpecification,
};
use aws_sdk_bedrockruntime::{Client, Config};
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::Document;
use serde_json::json;

use super::script::{Block, Chunking, HttpError, StreamError, Turn};
use super::{AuthConfig, FakeConfig, FakeServer};
use crate::wire::error_codes::{self, ERROR_CODES};

fn start(config: FakeConfig) -> FakeServer {
    FakeServer::start(config, "127.0.0.1", 0, &tokio::runtime::Handle::current()).unwrap()
}

fn client_with(server: &FakeServer, key: &str, secret: &str, attempts: u32) -> Client {
    let config = Config::builder()
        .behavior_version_latest()
        .region(aws_sdk_bedrockruntime::config::Region::new("us-east-1"))
        .endpoint_url(server.url())
        .credentials_provider(Credentials::new(key, secret, None, None, "test"))
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(attempts)
                .with_initial_backoff(Duration::from_millis(1)),
        )
        .build();
    Client::from_conf(config)
}

fn client(server: &FakeServer) -> Client {
    client_with(server, "AKIDEXAMPLE", "secret", 3)
}

fn user(text: &str) -> Message {
    Message::builder()
        .role(ConversationRole::User)
        .content(ContentBlock::Text(text.into()))
        .build()
        .unwrap()
}

fn text_turn(text: &str) -> Turn {
    Turn {
        blocks: vec![Block::Text(text.into())],
        ..Turn::default()
    }
}

fn tool_config() -> ToolConfiguration {
    let spec = ToolSpecification::builder()
        .name("get_weather")
        .input_schema(ToolInputSchema::Json(Document::Object(Default::default())))
        .build()
        .unwrap();
    ToolConfiguration::builder()
        .tools(Tool::ToolSpec(spec))
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn converse_returns_the_scripted_reply_with_rule_usage() {
    let server = start(FakeConfig::default());
    server
        .state()
        .enqueue(text_turn("Hello there friend"), None);
    let out = client(&server)
        .converse()
        .model_id("us.anthropic.claude-3-5-haiku-20241022-v1:0")
        .messages(user("hi you"))
        .send()
        .await
        .unwrap();
    let message = out.output().unwrap().as_message().unwrap();
    assert_eq!(message.role(), &ConversationRole::Assistant);
    assert_eq!(
        message.content()[0].as_text().unwrap(),
        "Hello there friend"
    );
    assert_eq!(out.stop_reason(), &StopReason::EndTurn);
    let usage = out.usage().unwrap();
    assert_eq!(
        (
            usage.input_tokens(),
            usage.output_tokens(),
            usage.total_tokens()
        ),
        (2, 3, 5)
    );
    let recorded = server.state().requests();
    assert_eq!(recorded[0].operation, "Converse");
    assert_eq!(
        recorded[0].model_id.as_deref(),
        Some("us.anthropic.claude-3-5-haiku-20241022-v1:0")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arn_model_ids_route_with_their_slashes() {
    let server = start(FakeConfig::default());
    let arn = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-5-haiku-20241022-v1:0";
    client(&server)
        .converse()
        .model_id(arn)
        .messages(user("hi"))
        .send()
        .await
        .unwrap();
    let recorded = &server.state().requests()[0];
    assert_eq!(recorded.model_id.as_deref(), Some(arn));
    assert!(recorded.path.contains("%2F"), "{}", recorded.path);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_carries_every_event_kind() {
    let server = start(FakeConfig::default());
    server.state().enqueue(
        Turn {
            blocks: vec![
                Block::Reasoning {
                    text: "Let me think".into(),
                    signature: Some("sig-1".into()),
                },
                Block::Text("Checking the weather.".into()),
                Block::ToolUse {
                    id: "tooluse_1".into(),
                    name: "get_weather".into(),
                    input: json!({"location": "Paris", "unit": "celsius"}),
                },
            ],
            chunking: Chunking::Count(3),
            ..Turn::default()
        },
        None,
    );
    let out = client(&server)
        .converse_stream()
        .model_id("m")
        .messages(user("weather in Paris?"))
        .tool_config(tool_config())
        .send()
        .await
        .unwrap();
    let mut stream = out.stream;
    let (mut reasoning, mut signature, mut text, mut input) =
        (String::new(), String::new(), String::new(), String::new());
    let mut kinds = Vec::new();
    let mut tool_start = None;
    let mut stop = None;
    let mut usage = None;
    while let Some(event) = stream.recv().await.unwrap() {
        match event {
            ConverseStreamOutput::MessageStart(e) => {
                assert_eq!(e.role(), &ConversationRole::Assistant);
                kinds.push("start");
            }
            ConverseStreamOutput::ContentBlockStart(e) => {
                if let Some(ContentBlockStart::ToolUse(t)) = e.start() {
                    tool_start = Some((
                        e.content_block_index(),
                        t.tool_use_id().to_owned(),
                        t.name().to_owned(),
                    ));
                }
                kinds.push("blockStart");
            }
            ConverseStreamOutput::ContentBlockDelta(e) => {
                match e.delta().unwrap() {
                    ContentBlockDelta::Text(t) => text.push_str(t),
                    ContentBlockDelta::ToolUse(t) => input.push_str(t.input()),
                    ContentBlockDelta::ReasoningContent(r) => {
                        if let Ok(t) = r.as_text() {
                            reasoning.push_str(t);
                        }
                        if let Ok(s) = r.as_signature() {
                            signature.push_str(s);
                        }
                    }
                    other => panic!("unexpected delta {other:?}"),
                }
                kinds.push("delta");
            }
            ConverseStreamOutput::ContentBlockStop(_) => kinds.push("blockStop"),
            ConverseStreamOutput::MessageStop(e) => stop = Some(e.stop_reason().clone()),
            ConverseStreamOutput::Metadata(e) => usage = e.usage().cloned(),
            other => panic!("unexpected event {other:?}"),
        }
    }
    assert_eq!(reasoning, "Let me think");
    assert_eq!(signature, "sig-1");
    assert_eq!(text, "Checking the weather.");
    let input: serde_json::Value = serde_json::from_str(&input).unwrap();
    assert_eq!(input, json!({"location": "Paris", "unit": "celsius"}));
    assert_eq!(
        tool_start,
        Some((2, "tooluse_1".into(), "get_weather".into()))
    );
    assert_eq!(stop, Some(StopReason::ToolUse));
    assert_eq!(
        kinds.iter().filter(|k| **k == "delta").count(),
        3 + 1 + 3 + 3
    );
    let usage = usage.unwrap();
    // "weather in Paris?" = 3 words + the tool spec; output: 3 + 3 + (1 + ceil(37/4))
    assert_eq!(usage.output_tokens(), 3 + 3 + 1 + 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_error_code_arrives_typed_with_its_status() {
    let server = start(FakeConfig::default());
    let client = client_with(&server, "AKIDEXAMPLE", "secret", 1);
    for code in ERROR_CODES {
        server.state().enqueue(
            Turn {
                http_error: Some(HttpError {
                    code: code.code.into(),
                    status: code.status,
                    message: format!("scripted {}", code.code),
                    extra: Default::default(),
                }),
                ..Turn::default()
            },
            None,
        );
        let err = client
            .converse()
            .model_id("m")
            .messages(user("hi"))
            .send()
            .await
            .unwrap_err();
        let SdkError::ServiceError(service) = &err else {
            panic!("{}: not a service error: {err:?}", code.code)
        };
        assert_eq!(service.err().code(), Some(code.code));
        assert_eq!(
            service.err().message(),
            Some(format!("scripted {}", code.code).as_str())
        );
        assert_eq!(service.raw().status().as_u16(), code.status);
        // The request id the SDK read is the one the server sent in `x-amzn-RequestId`.
        let header = service.raw().headers().get("x-amzn-RequestId");
        assert!(header.is_some());
        assert_eq!(service.err().meta().extra("aws_request_id"), header);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_retries_transient_errors_three_times_and_validation_once() {
    let server = start(FakeConfig::default());
    let client = client(&server);
    for code in ERROR_CODES {
        server.state().reset();
        for _ in 0..3 {
            server.state().enqueue(
                Turn {
                    http_error: Some(HttpError {
                        code: code.code.into(),
                        status: code.status,
                        message: "x".into(),
                        extra: Default::default(),
                    }),
                    ..Turn::default()
                },
                None,
            );
        }
        let result = client
            .converse()
            .model_id("m")
            .messages(user("hi"))
            .send()
            .await;
        assert!(result.is_err());
        let attempts = server.state().request_count();
        let expected = if code.retryable { 3 } else { 1 };
        assert_eq!(attempts, expected, "{}", code.code);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_stream_exception_is_a_typed_error_after_the_events_before_it() {
    let server = start(FakeConfig::default());
    for (member, code) in error_codes::STREAM_EXCEPTIONS {
        server.state().enqueue(
            Turn {
                blocks: vec![Block::Text("one two three four five".into())],
                stream_error: Some(StreamError {
                    member,
                    code,
                    message: format!("{code} mid-stream"),
                    after_events: 3,
                }),
                ..Turn::default()
            },
            None,
        );
        let out = client(&server)
            .converse_stream()
            .model_id("m")
            .messages(user("hi"))
            .send()
            .await
            .unwrap();
        let mut stream = out.stream;
        let mut events = 0;
        let err = loop {
            match stream.recv().await {
                Ok(Some(_)) => events += 1,
                Ok(None) => panic!("{code}: stream ended without the exception"),
                Err(e) => break e,
            }
        };
        assert_eq!(events, 3, "{code}");
        let SdkError::ServiceError(service) = &err else {
            panic!("{code}: {err:?}")
        };
        // The payload carries only the message (as on the real service): the SDK knows the
        // code from the `:exception-type` header, as the variant.
        use aws_sdk_bedrockruntime::types::error::ConverseStreamOutputError as E;
        let variant = match service.err() {
            E::ThrottlingException(_) => "ThrottlingException",
            E::ValidationException(_) => "ValidationException",
            E::ModelStreamErrorException(_) => "ModelStreamErrorException",
            E::InternalServerException(_) => "InternalServerException",
            E::ServiceUnavailableException(_) => "ServiceUnavailableException",
            other => panic!("unexpected {other:?}"),
        };
        assert_eq!(variant, *code);
        assert_eq!(
            service.err().message(),
            Some(format!("{code} mid-stream").as_str())
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_connection_ends_the_stream_with_an_error() {
    let server = start(FakeConfig::default());
    server.state().enqueue(
        Turn {
            blocks: vec![Block::Text("a b c d e f g h".into())],
            disconnect_after_events: Some(2),
            ..Turn::default()
        },
        None,
    );
    let out = client(&server)
        .converse_stream()
        .model_id("m")
        .messages(user("hi"))
        .send()
        .await
        .unwrap();
    let mut stream = out.stream;
    let mut events = 0;
    let result = loop {
        match stream.recv().await {
            Ok(Some(_)) => events += 1,
            other => break other,
        }
    };
    assert_eq!(events, 2);
    assert!(
        result.is_err(),
        "a cut stream must not look complete: {result:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validation_texts_reach_the_sdk() {
    let server = start(FakeConfig::default());
    let assistant = Message::builder()
        .role(ConversationRole::Assistant)
        .content(ContentBlock::Text("hello".into()))
        .build()
        .unwrap();
    let err = client(&server)
        .converse()
        .model_id("m")
        .messages(assistant)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ValidationException"));
    assert_eq!(
        err.message(),
        Some("A conversation must start with a user message. Try again with a conversation that starts with a user message.")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delays_hold_back_the_first_byte_and_each_delta() {
    let server = start(FakeConfig::default());
    server.state().enqueue(
        Turn {
            blocks: vec![Block::Text("a b c".into())],
            first_byte_delay: Duration::from_millis(150),
            delta_delay: Duration::from_millis(100),
            ..Turn::default()
        },
        None,
    );
    let started = std::time::Instant::now();
    let out = client(&server)
        .converse_stream()
        .model_id("m")
        .messages(user("hi"))
        .send()
        .await
        .unwrap();
    assert!(started.elapsed() >= Duration::from_millis(150));
    let mut stream = out.stream;
    let mut gaps = Vec::new();
    let mut last = std::time::Instant::now();
    while let Some(event) = stream.recv().await.unwrap() {
        if matches!(event, ConverseStreamOutput::ContentBlockDelta(_)) {
            gaps.push(last.elapsed());
        }
        last = std::time::Instant::now();
    }
    assert_eq!(gaps.len(), 3);
    // The first delta comes at once; each later one waits for its delay.
    assert!(
        gaps[1] >= Duration::from_millis(90) && gaps[2] >= Duration::from_millis(90),
        "{gaps:?}"
    );
}

#[path = "sdk_auth_tests.rs"]
mod auth;

#[path = "sdk_system_tools_tests.rs"]
mod system_tools;
