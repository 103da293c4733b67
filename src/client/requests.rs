//! The boto3-shaped layer's requests: `converse` and `converse_stream` built from boto3's
//! keyword arguments, admitted by the client's rate limiter.

use std::sync::Arc;

use aws_sdk_bedrockruntime::operation::RequestId;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::{PyConverseClient, StreamStart};
use crate::errors::ErrorInfo;
use crate::limit::{self, Limiter};
use crate::stream::Started;
use crate::wire::request::{with_request, ConverseRequest};

/// A Converse answer and what its HTTP exchange showed.
pub(super) type Answered = (
    aws_sdk_bedrockruntime::operation::converse::ConverseOutput,
    crate::exchange::Seen,
);

impl PyConverseClient {
    /// The client's limiter, and what a request reserves from it.
    fn admission(&self, req: &ConverseRequest) -> PyResult<(Option<Arc<Limiter>>, u64)> {
        let limiter = self.ready()?.limiter.clone();
        let tokens = match &limiter {
            Some(_) => limit::request_tokens(
                req.messages.as_deref().unwrap_or_default(),
                req.system.as_deref().unwrap_or_default(),
                req.tool_config.as_ref(),
            ),
            None => 0,
        };
        Ok((limiter, tokens))
    }

    pub(super) fn model_for(&self, req: &ConverseRequest) -> PyResult<String> {
        let ready = self.ready()?;
        req.model_id
            .clone()
            .or_else(|| ready.model_id.clone())
            .ok_or_else(|| {
                PyValueError::new_err(
                    "modelId: no model given; pass modelId=... or create the client with model_id=...",
                )
            })
    }

    pub(super) fn converse_future(
        &self,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<(
        String,
        impl std::future::Future<Output = Result<Answered, ErrorInfo>> + Send + 'static,
    )> {
        let mut req = ConverseRequest::from_kwargs(kwargs)?;
        let model = self.model_for(&req)?;
        let (limiter, tokens) = self.admission(&req)?;
        if req
            .guardrail
            .as_ref()
            .is_some_and(|g| g.stream_mode.is_some())
        {
            return Err(PyValueError::new_err(
                "guardrailConfig.streamProcessingMode: only converse_stream takes it",
            ));
        }
        req.model_id = Some(model.clone());
        let fluent = with_request!(self.ready()?.sdk.converse(), req, converse);
        let model_for_error = model.clone();
        let fut = async move {
            let reservation = limit::admit(limiter.as_ref(), tokens).await;
            let (out, seen) = crate::send_watched!(fluent, &model_for_error, "Converse");
            let (out, reservation) = limit::answered(reservation, out)?;
            if let (Some(r), Some(u)) = (reservation, out.usage()) {
                r.used((u.input_tokens() + u.output_tokens()).max(0) as u64);
            }
            Ok((out, seen))
        };
        Ok((model, fut))
    }

    /// Starts a ConverseStream: resolves once the response headers arrived.
    pub(super) fn stream_future(
        &self,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<impl std::future::Future<Output = StreamStart> + Send + 'static> {
        let mut req = ConverseRequest::from_kwargs(kwargs)?;
        let model = self.model_for(&req)?;
        let (limiter, tokens) = self.admission(&req)?;
        req.model_id = Some(model.clone());
        let fluent = with_request!(self.ready()?.sdk.converse_stream(), req, stream);
        Ok(async move {
            let reservation = limit::admit(limiter.as_ref(), tokens).await;
            let (out, seen) = crate::send_watched!(fluent, &model, "ConverseStream");
            let (out, reservation) = limit::answered(reservation, out)?;
            let request_id = out.request_id().map(str::to_owned);
            Ok((
                Started {
                    receiver: out.stream,
                    request_id,
                    seen,
                    reservation,
                },
                model,
            ))
        })
    }
}
