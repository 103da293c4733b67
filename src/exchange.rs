//! What one HTTP exchange showed beyond the SDK's output: the final response's headers and
//! how many attempts the SDK's retries made. boto3 reports both in `ResponseMetadata`
//! (`HTTPHeaders`, `RetryAttempts`), and code ported from boto3 reads them.

use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::FinalizerInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// The headers (names in lower case, as botocore gives them) and the attempts so far.
#[derive(Debug, Default, Clone)]
pub struct Seen {
    pub headers: Vec<(String, String)>,
    pub attempts: u32,
}

impl Seen {
    /// boto3's `RetryAttempts`: the attempts after the first.
    pub fn retries(&self) -> u32 {
        self.attempts.saturating_sub(1)
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

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let mut seen = self.0.lock().unwrap_or_else(|e| e.into_inner());
        seen.attempts += 1;
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

/// Sends a fluent SDK request with an `Exchange` watching it (inside an async block):
/// `(result, seen)`, an error already an `ErrorInfo` naming `model` and carrying the
/// exchange (headers, attempts).
#[macro_export]
macro_rules! send_watched {
    ($fluent:expr, $model:expr) => {{
        let exchange = $crate::exchange::Exchange::default();
        let out = $fluent
            .customize()
            .interceptor(exchange.clone())
            .send()
            .await;
        let seen = exchange.seen();
        match out {
            Ok(out) => (Ok(out), seen),
            Err(e) => {
                let info = $crate::errors::from_sdk(&e)
                    .with_model(Some($model))
                    .with_exchange(seen.clone());
                (Err(info), seen)
            }
        }
    }};
}
