//! Client settings -> the SDK client: region, profile, endpoint, credentials, retries and
//! timeouts, through aws-config's default chains unless given explicitly.

use std::time::Duration;

use aws_config::retry::RetryConfig;
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
    Ok((aws_sdk_bedrockruntime::Client::new(&config), region))
}
