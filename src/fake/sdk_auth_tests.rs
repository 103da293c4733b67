//! FakeBedrock's authentication as the Rust SDK meets it: SigV4 and Bedrock API keys.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigv4_signatures_are_verified() {
    let server = start(FakeConfig {
        auth: AuthConfig {
            credentials: vec![("AKIDGOOD".into(), "right-secret".into())],
            bearer_tokens: vec![],
        },
        ..FakeConfig::default()
    });
    // Model ids with ':' exercise the double-encoded canonical URI.
    let model = "us.anthropic.claude-3-5-haiku-20241022-v1:0";
    let ok = client_with(&server, "AKIDGOOD", "right-secret", 1);
    ok.converse()
        .model_id(model)
        .messages(user("hi"))
        .send()
        .await
        .unwrap();
    let out = ok
        .converse_stream()
        .model_id(model)
        .messages(user("hi"))
        .send()
        .await
        .unwrap();
    let mut stream = out.stream;
    while stream.recv().await.unwrap().is_some() {}

    let wrong_secret = client_with(&server, "AKIDGOOD", "wrong-secret", 1);
    let err = wrong_secret
        .converse()
        .model_id(model)
        .messages(user("hi"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidSignatureException"));
    assert_eq!(err.raw_response().unwrap().status().as_u16(), 403);

    let unknown = client_with(&server, "AKIDOTHER", "right-secret", 1);
    let err = unknown
        .converse()
        .model_id(model)
        .messages(user("hi"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("UnrecognizedClientException"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bearer_api_keys_are_checked() {
    let server = start(FakeConfig {
        auth: AuthConfig {
            credentials: vec![],
            bearer_tokens: vec!["good-key".into()],
        },
        ..FakeConfig::default()
    });
    let bearer = |key: &str| {
        let config = Config::builder()
            .behavior_version_latest()
            .region(aws_sdk_bedrockruntime::config::Region::new("us-east-1"))
            .endpoint_url(server.url())
            .bearer_token(aws_sdk_bedrockruntime::config::Token::new(key, None))
            .auth_scheme_preference([aws_smithy_runtime_api::client::auth::AuthSchemeId::from(
                "httpBearerAuth",
            )])
            .build();
        Client::from_conf(config)
    };
    bearer("good-key")
        .converse()
        .model_id("m")
        .messages(user("hi"))
        .send()
        .await
        .unwrap();
    let auth = server.state().requests()[0]
        .headers
        .iter()
        .find(|(k, _)| k == "authorization")
        .cloned();
    assert_eq!(auth.map(|(_, v)| v), Some("Bearer good-key".to_owned()));
    let err = bearer("bad-key")
        .converse()
        .model_id("m")
        .messages(user("hi"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("UnrecognizedClientException"));
}
