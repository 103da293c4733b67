//! The stream kinds the pump reads: a ConverseStream's events and an
//! InvokeModelWithResponseStream's chunks. Each says how to receive its next item and how
//! to name what ended it; the pump, the readers, cancellation and Ctrl-C are shared.

use std::future::Future;

use aws_sdk_bedrockruntime::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_bedrockruntime::primitives::event_stream::EventReceiver;
use aws_sdk_bedrockruntime::types::error::{ConverseStreamOutputError, ResponseStreamError};
use aws_sdk_bedrockruntime::types::{ConverseStreamOutput, ResponseStream};

use super::Item;
use crate::errors::ErrorInfo;

/// One item received: its kind decides whether a restart may still repeat it.
pub enum Received {
    /// The answer's opening (a ConverseStream's `messageStart`): a restarted stream sends
    /// it again, and the reader sees it once.
    Start(Item),
    /// Part of the answer: after it, the stream is never restarted.
    Content(Item),
}

/// A stream the pump can read.
pub trait Events: Send + 'static {
    /// The operation, for errors (`ConverseStream`).
    const OPERATION: &'static str;
    /// The next item, `None` at the end, or what ended the stream.
    fn next(&mut self) -> impl Future<Output = Result<Option<Received>, ErrorInfo>> + Send;
}

pub fn interrupted(message: String) -> ErrorInfo {
    let mut info = ErrorInfo::new("StreamInterruptedError", message);
    info.retryable = true;
    info
}

/// An error that ended a stream: an in-stream exception (its code from the payload, or the
/// SDK's variant), else a cut connection.
fn stream_error<E, R>(err: &SdkError<E, R>, code_of: impl Fn(&E) -> &'static str) -> ErrorInfo
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match err {
        SdkError::ServiceError(service) => {
            let e = service.err();
            let code = e.code().unwrap_or_else(|| code_of(e));
            // Note: an in-stream exception arrives inside a response that began with 200.
            ErrorInfo::service(code, e.message().unwrap_or("")).with_status(200)
        }
        other => interrupted(format!(
            "the stream was cut before it ended: {}",
            crate::errors::readable(other)
        )),
    }
}

pub type ConverseReceiver = EventReceiver<ConverseStreamOutput, ConverseStreamOutputError>;

/// The code of a ConverseStream exception: the SDK knows it from `:exception-type` only,
/// as the variant (the payload carries just the message).
fn converse_code(err: &ConverseStreamOutputError) -> &'static str {
    match err {
        ConverseStreamOutputError::ThrottlingException(_) => "ThrottlingException",
        ConverseStreamOutputError::ValidationException(_) => "ValidationException",
        ConverseStreamOutputError::ModelStreamErrorException(_) => "ModelStreamErrorException",
        ConverseStreamOutputError::InternalServerException(_) => "InternalServerException",
        ConverseStreamOutputError::ServiceUnavailableException(_) => "ServiceUnavailableException",
        _ => "Unknown",
    }
}

impl Events for ConverseReceiver {
    const OPERATION: &'static str = "ConverseStream";

    async fn next(&mut self) -> Result<Option<Received>, ErrorInfo> {
        match self.recv().await {
            Ok(Some(event @ ConverseStreamOutput::MessageStart(_))) => {
                Ok(Some(Received::Start(Item::from_event(event))))
            }
            Ok(Some(event)) => Ok(Some(Received::Content(Item::from_event(event)))),
            Ok(None) => Ok(None),
            Err(err) => Err(stream_error(&err, converse_code)),
        }
    }
}

pub type ChunkReceiver = EventReceiver<ResponseStream, ResponseStreamError>;

fn chunk_code(err: &ResponseStreamError) -> &'static str {
    match err {
        ResponseStreamError::ThrottlingException(_) => "ThrottlingException",
        ResponseStreamError::ValidationException(_) => "ValidationException",
        ResponseStreamError::ModelStreamErrorException(_) => "ModelStreamErrorException",
        ResponseStreamError::ModelTimeoutException(_) => "ModelTimeoutException",
        ResponseStreamError::InternalServerException(_) => "InternalServerException",
        ResponseStreamError::ServiceUnavailableException(_) => "ServiceUnavailableException",
        _ => "Unknown",
    }
}

impl Events for ChunkReceiver {
    const OPERATION: &'static str = "InvokeModelWithResponseStream";

    async fn next(&mut self) -> Result<Option<Received>, ErrorInfo> {
        match self.recv().await {
            Ok(Some(ResponseStream::Chunk(part))) => {
                let bytes = part.bytes.map(|b| b.into_inner()).unwrap_or_default();
                Ok(Some(Received::Content(Item::Chunk(bytes))))
            }
            // (an event this SDK version does not know: shown as botocore shows it, and
            // like any event it proves the stream alive)
            Ok(Some(_)) => Ok(Some(Received::Content(Item::Unknown))),
            Ok(None) => Ok(None),
            Err(err) => Err(stream_error(&err, chunk_code)),
        }
    }
}
