//! The HTTP client under the SDK: the SDK's own default (hyper 1, rustls with aws-lc, proxies
//! from the environment), except that the platform's root certificates load at the first
//! request instead of when a client is created. The default client loads them in
//! `validate_base_client_config`, on purpose, at creation: reading and parsing every file of
//! the system's certificate store is most of the cost of a first `ConverseClient(...)`, which
//! notebooks and short scripts pay even when they never send a request (or, with FakeBedrock,
//! never use TLS).
//!
//! One more change: the body of an answer that is read whole (every operation but the
//! streams) is capped, so that an endpoint that never ends its answer fails the call with
//! a clear error instead of filling memory (the SDK buffers such a body to the end).

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::shared::IntoShared;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::ConfigBag;
use http_body_util::BodyExt;

use crate::fork::ForkLocal;

/// The SDK's default client, minus the eager certificate load; one per fork generation,
/// so that a child after `fork()` opens its own connections (the parent's pool belongs to
/// the parent's runtime, whose tasks never run in the child).
#[derive(Debug)]
struct CertificatesAtFirstUse(ForkLocal<SharedHttpClient>);

impl HttpClient for CertificatesAtFirstUse {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        Capped(self.0.get().http_connector(settings, components)).into_shared()
    }

    fn validate_base_client_config(
        &self,
        _: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponentsBuilder,
        _: &ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        // Note: the inner client's version builds a connector here only to load the roots.
        Ok(())
    }

    fn connector_metadata(
        &self,
    ) -> Option<aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata> {
        self.0.get().connector_metadata()
    }
}

/// The most an answer read whole may hold: Converse's (and an error's) are a few hundred
/// KiB at most; InvokeModel's may carry generated images, several of a few MiB each. Ours.
const WHOLE_ANSWER_CAP: usize = 32 << 20;
const INVOKE_ANSWER_CAP: usize = 256 << 20;

/// An answer read whole that grew past its cap.
#[derive(Debug)]
struct AnswerTooLarge(usize);

impl std::fmt::Display for AnswerTooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the answer grew past {} MiB without ending: no Bedrock answer is that large",
            self.0 >> 20
        )
    }
}

impl std::error::Error for AnswerTooLarge {}

/// A connector whose answers are capped, unless they are streams under way.
#[derive(Debug)]
struct Capped(SharedHttpConnector);

fn capped(body: SdkBody, cap: usize) -> SdkBody {
    SdkBody::from_body_1_x(http_body_util::Limited::new(body, cap).map_err(
        move |e| -> Box<dyn std::error::Error + Send + Sync> {
            if e.is::<http_body_util::LengthLimitError>() {
                Box::new(AnswerTooLarge(cap))
            } else {
                e
            }
        },
    ))
}

impl HttpConnector for Capped {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        // (ConverseStream's and InvokeModelWithResponseStream's paths end in `-stream`: the
        // pump reads a successful one a frame at a time; their error answers are read whole)
        let path = request.uri().split('?').next().unwrap_or_default();
        let streamed = path.ends_with("-stream");
        let cap = if path.ends_with("/invoke") {
            INVOKE_ANSWER_CAP
        } else {
            WHOLE_ANSWER_CAP
        };
        let answer = self.0.call(request);
        HttpConnectorFuture::new(async move {
            let response = answer.await?;
            if streamed && response.status().is_success() {
                return Ok(response);
            }
            Ok(response.map(|body| capped(body, cap)))
        })
    }
}

/// A new client (each `ConverseClient` has its own connection pool, as with the default):
/// the very client the SDK would pick for the latest behavior version, wrapped. `None` if
/// the SDK has no default client in this build: the SDK's own choice then stands.
pub fn http_client() -> Option<SharedHttpClient> {
    let first = sdk_default()?;
    let again = || sdk_default().expect("the SDK had a default HTTP client before the fork");
    Some(CertificatesAtFirstUse(ForkLocal::with(first, again)).into_shared())
}

fn sdk_default() -> Option<SharedHttpClient> {
    use aws_smithy_runtime_api::client::runtime_components::RuntimeComponentsBuilder;
    use aws_smithy_runtime_api::client::runtime_plugin::RuntimePlugin;

    let plugin = aws_smithy_runtime::client::defaults::default_http_client_plugin_v2(
        aws_config::BehaviorVersion::latest(),
    )?;
    plugin
        .runtime_components(&RuntimeComponentsBuilder::new("fastconverse"))
        .http_client()
}
