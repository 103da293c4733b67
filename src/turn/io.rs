//! The requests a turn asks for, made through the SDK: `converse` as one future, and
//! `converse_stream` as a restartable start for the stream pump.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_bedrockruntime::operation::RequestId;
use aws_sdk_bedrockruntime::types as t;

use super::machine::RequestParts;
use crate::errors::ErrorInfo;
use crate::limit::{self, Limiter};
use crate::reply::{ReplyData, Tokens};
use crate::stream::{Pump, PumpOptions, Restart, Started};
use crate::wire::request::with_request;

/// What a conversation needs of its client (cheap to clone: the SDK client is an Arc).
#[derive(Clone)]
pub struct Backend {
    pub sdk: aws_sdk_bedrockruntime::Client,
    pub read_timeout: Duration,
    pub max_attempts: u32,
    /// How many times a conversation's stream cut after content resumes (`turn::resume`).
    pub resume: u32,
    pub limiter: Option<Arc<Limiter>>,
}

/// One Converse request and its reply.
pub fn converse(
    backend: &Backend,
    parts: RequestParts,
    tokens: u64,
) -> impl Future<Output = Result<ReplyData, ErrorInfo>> + Send + 'static {
    let model = parts.model_id.clone();
    let fluent = with_request!(backend.sdk.converse(), parts.into_request(), converse);
    let limiter = backend.limiter.clone();
    async move {
        let reservation = limit::admit(limiter.as_ref(), tokens).await;
        let (out, seen) = crate::send_watched!(fluent, &model, "Converse");
        let (out, reservation) = limit::answered(reservation, out)?;
        let usage = Tokens::from_sdk(out.usage.as_ref());
        // (an answer without usage leaves the estimate standing)
        if let (Some(r), true) = (reservation, out.usage.is_some()) {
            r.used((usage.input + usage.output).max(0) as u64);
        }
        let request_id = out.request_id().map(str::to_owned);
        let message = match out.output {
            Some(t::ConverseOutput::Message(m)) => m,
            _ => {
                return Err(
                    ErrorInfo::new("ConverseError", "the response carried no message")
                        .with_model(Some(&model)),
                )
            }
        };
        Ok(ReplyData {
            message,
            stop_reason: out.stop_reason.as_str().to_owned(),
            usage,
            latency_ms: out.metrics.map(|m| m.latency_ms),
            request_id,
            model_id: model,
            fields: out.additional_model_response_fields,
            turn: None,
            output: None,
            grounding: None,
            served: crate::wire::serving::Served::new(
                out.service_tier.as_ref(),
                out.performance_config.as_ref(),
            ),
            trace: out
                .trace
                .as_ref()
                .and_then(|t| crate::wire::trace::trace(t.guardrail(), t.prompt_router()))
                .map(std::sync::Arc::new),
            retries: seen.retries,
        })
    }
}

/// One ConverseStream request, read by a pump that retries a failed start.
pub fn converse_stream(backend: &Backend, parts: Arc<RequestParts>, tokens: u64) -> Pump {
    let model = parts.model_id.clone();
    let sdk = backend.sdk.clone();
    let limiter = backend.limiter.clone();
    let restart_model = model.clone();
    let restart: Restart = Box::new(move || {
        // Note: the SDK takes its input by value: one copy of the history per attempt.
        let parts = RequestParts::clone(&parts);
        let fluent = with_request!(sdk.converse_stream(), parts.into_request(), stream);
        let model = restart_model.clone();
        let limiter = limiter.clone();
        Box::pin(async move {
            // Each attempt waits its turn (a restarted stream is a new request); the pump
            // settles it.
            let reservation = limit::admit(limiter.as_ref(), tokens).await;
            let (out, seen) = crate::send_watched!(fluent, &model, "ConverseStream");
            let (out, reservation) = limit::answered(reservation, out)?;
            let request_id = out.request_id().map(str::to_owned);
            Ok(Started {
                receiver: out.stream,
                request_id,
                seen,
                reservation,
            })
        })
    });
    Pump::spawn(
        None,
        Some(restart),
        PumpOptions {
            idle_timeout: backend.read_timeout,
            model_id: model,
            max_attempts: backend.max_attempts,
        },
    )
}

/// Makes a streamed request again, with messages after its own: a resumed stream's
/// (`turn::resume`).
pub struct Resumer {
    backend: Backend,
    parts: Arc<RequestParts>,
}

impl Resumer {
    pub fn new(backend: &Backend, parts: Arc<RequestParts>) -> Self {
        Self {
            backend: backend.clone(),
            parts,
        }
    }

    /// The request again, `added` after its messages (cache points where they were).
    pub fn start(&self, added: Vec<t::Message>) -> Pump {
        let mut parts = RequestParts::clone(&self.parts);
        if !added.is_empty() {
            let mut messages = parts.messages();
            messages.extend(added);
            parts.history = Arc::new(messages);
            (parts.from, parts.added, parts.cache_history) = (0, Vec::new(), 0);
        }
        let tokens = tokens(&self.backend, &parts);
        converse_stream(&self.backend, Arc::new(parts), tokens)
    }

    /// The estimate of the first request's input tokens.
    pub fn input_estimate(&self) -> u64 {
        estimate(&self.parts)
    }
}

/// What a request reserves from the limiter (0 without one: nothing to estimate).
pub fn tokens(backend: &Backend, parts: &RequestParts) -> u64 {
    if backend.limiter.is_none() {
        return 0;
    }
    estimate(parts)
}

/// The estimate of a request's input tokens.
fn estimate(parts: &RequestParts) -> u64 {
    let kept = &parts.history[parts.from.min(parts.history.len())..];
    limit::request_tokens(kept, &parts.system, parts.tool_config.as_ref())
        + limit::request_tokens(&parts.added, &[], None)
}
