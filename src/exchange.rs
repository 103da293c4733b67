//! What one HTTP exchange showed beyond the SDK's output: the final response's headers and
//! how many attempts the SDK's retries made. boto3 reports both in `ResponseMetadata`
//! (`HTTPHeaders`, `RetryAttempts`), and code ported from boto3 reads them.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::FinalizerInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// One retry of a request: why the attempt before it failed, and how long the client
/// waited before trying again (reported to `after_response` hooks, after the fact).
#[derive(Debug, Clone, PartialEq)]
pub struct Retry {
    pub reason: String,
    pub waited: Duration,
}

/// The headers (names in lower case, as botocore gives them) and the attempts so far.
#[derive(Debug, Default, Clone)]
pub struct Seen {
    pub headers: Vec<(String, String)>,
    pub attempts: u32,
    /// The retries among the attempts, in order.
    pub retries: Vec<Retry>,
    /// When the last attempt ended, and why it failed (None: it did not).
    pub last: Option<(Instant, Option<String>)>,
}

impl Seen {
    /// boto3's `RetryAttempts`: the attempts after the first.
    pub fn retries(&self) -> u32 {
        self.attempts.saturating_sub(1)
    }

    /// Only the headers and the attempts (what an error keeps of a watched exchange).
    pub fn with_headers(&self, headers: Vec<(String, String)>) -> Self {
        Self {
            headers,
            attempts: self.attempts,
            retries: self.retries.clone(),
            last: None,
        }
    }
}

/// Why an attempt failed, in the words a log would want: the service's error code when it
/// sent one, else the HTTP status, else what the transport said.
fn failure_reason(context: &FinalizerInterceptorContextRef<'_>) -> Option<String> {
    if let Some(response) = context.response() {
        let status = response.status().as_u16();
        if status < 300 {
            return None;
        }
        let code = response
            .headers()
            .get("x-amzn-errortype")
            .map(|c| c.split(':').next().unwrap_or(c).to_owned());
        return Some(code.unwrap_or_else(|| format!("HTTP {status}")));
    }
    match context.output_or_error() {
        Some(Err(err)) => Some(
            if err.is_timeout_error() {
                "timeout"
            } else {
                "connection error"
            }
            .to_owned(),
        ),
        _ => None,
    }
}

/// An interceptor given to one request (`.customize().interceptor(...)`); the caller keeps
/// a clone and reads it once the request ended.
#[derive(Debug, Default, Clone)]
pub struct Exchange(Arc<Mutex<Seen>>);

impl Exchange {
    pub fn seen(&self) -> Seen {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl Intercept for Exchange {
    fn name(&self) -> &'static str {
        "fastconverse::Exchange"
    }

    fn read_before_attempt(
        &self,
        _: &aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let mut seen = self.0.lock().unwrap_or_else(|e| e.into_inner());
        // (the headers are the last attempt's: an attempt without a response leaves none)
        seen.headers.clear();
        if let Some((ended, reason)) = seen.last.take() {
            seen.retries.push(Retry {
                reason: reason.unwrap_or_else(|| "retried".to_owned()),
                waited: ended.elapsed(),
            });
        }
        Ok(())
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let mut seen = self.0.lock().unwrap_or_else(|e| e.into_inner());
        seen.attempts += 1;
        seen.last = Some((Instant::now(), failure_reason(context)));
        if let Some(response) = context.response() {
            seen.headers = response
                .headers()
                .iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v.to_owned()))
                .collect();
        }
        Ok(())
    }
}
