//! Client settings -> the SDK client: region, profile, endpoint, credentials, retries and
//! timeouts, through aws-config's default chains unless given explicitly.

use std::time::Duration;

use std::sync::Arc;

use aws_config::retry::RetryConfig;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::FinalizerInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

use crate::limit::Limiter;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_credential_types::Credentials;

use crate::errors::ErrorInfo;

#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub region: Option<String>,
    pub profile: Option<String>,
    pub endpoint_url: Option<String>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub session_token: Option<String>,
    pub max_attempts: u32,
    pub connect_timeout: Duration,
    pub read_timeout: Duration,
    /// Told of each throttled attempt, the SDK's retries included.
    pub limiter: Option<Arc<Limiter>>,
}

/// Tells the rate limiter of every attempt the service throttled (HTTP 429), retries
/// included: those never reach our code otherwise.
struct ThrottleWatch(Arc<Limiter>);

impl std::fmt::Debug for ThrottleWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ThrottleWatch")
    }
}

impl Intercept for ThrottleWatch {
    fn name(&self) -> &'static str {
        "fastconverse::ThrottleWatch"
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if context
            .response()
            .is_some_and(|r| r.status().as_u16() == 429)
        {
            self.0.throttled();
        }
        Ok(())
    }
}

/// Builds the SDK client; the region must be known by then (credentials are resolved at
/// the first call, so a missing one is reported there).
pub async fn sdk_client(
    settings: Settings,
) -> Result<(aws_sdk_bedrockruntime::Client, String), ErrorInfo> {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::standard().with_max_attempts(settings.max_attempts))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(settings.connect_timeout)
                .read_timeout(settings.read_timeout)
                .build(),
        );
    if let Some(client) = crate::http_client::http_client() {
        loader = loader.http_client(client);
    }
    if let Some(region) = settings.region {
        loader = loader.region(Region::new(region));
    }
    if let Some(profile) = settings.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(url) = settings.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    if let (Some(key), Some(secret)) = (settings.access_key_id, settings.secret_access_key) {
        loader = loader.credentials_provider(Credentials::new(
            key,
            secret,
            settings.session_token,
            None,
            "fastconverse",
        ));
    }
    let config = loader.load().await;
    let Some(region) = config.region().map(|r| r.to_string()) else {
        return Err(ErrorInfo::new(
            "CredentialsError",
            "No AWS region is configured.",
        )
        .with_hint(
            "Pass region_name=..., set AWS_REGION (or AWS_DEFAULT_REGION), or set a region in your AWS profile.",
        ));
    };
    let mut conf = aws_sdk_bedrockruntime::config::Builder::from(&config)
        .interceptor(crate::wire::key_order_wire::KeyOrderOnWire);
    if let Some(limiter) = settings.limiter {
        conf = conf.interceptor(ThrottleWatch(limiter));
    }
    Ok((
        aws_sdk_bedrockruntime::Client::from_conf(conf.build()),
        region,
    ))
}
