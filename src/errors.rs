//! SDK errors -> the exceptions of `fastconverse.errors`, with code, message, status,
//! request id, retryability, model id and a hint that says what to do.

use aws_sdk_bedrockruntime::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyDict;

use crate::reply::{PyReply, PyUsage, ReplyData, Tokens};
use crate::wire::error_codes;
use crate::wire::response;

/// The raw HTTP response of an SDK call.
pub type HttpResponse = aws_smithy_runtime_api::client::orchestrator::HttpResponse;

/// How far a failed turn got: for `ToolLoopLimitError` and `EmptyReplyError`.
#[derive(Debug, Clone)]
pub struct TurnDetail {
    pub rounds: u32,
    pub messages: Vec<aws_sdk_bedrockruntime::types::Message>,
    pub usage: Tokens,
    pub reply: Option<ReplyData>,
}

/// Wordings of a context overflow, as the various model providers phrase it (WIRE.md).
const OVERFLOW_WORDINGS: &[&str] = &[
    "input is too long for requested model",
    "input length and `max_tokens` exceed context limit",
    "prompt is too long",
    "too many total text bytes",
    "maximum context length is",
];

pub fn is_context_overflow(message: &str) -> bool {
    let lower = message.to_lowercase();
    OVERFLOW_WORDINGS.iter().any(|w| lower.contains(w))
}

/// Everything an exception carries.
#[derive(Debug, Clone)]
pub struct ErrorInfo {
    pub class: &'static str,
    pub code: Option<String>,
    pub message: String,
    pub status: Option<u16>,
    pub request_id: Option<String>,
    pub retryable: bool,
    pub model_id: Option<String>,
    pub hint: Option<&'static str>,
    pub detail: Option<Box<TurnDetail>>,
    /// A conflict's versions: the one the turn was based on, the one the store has.
    pub versions: Option<(u64, Option<u64>)>,
    /// The HTTP exchange behind a service error (boto3's `HTTPHeaders`, `RetryAttempts`).
    pub exchange: Option<Box<crate::exchange::Seen>>,
    /// The retries made before this failure (also when no HTTP status came back), for
    /// `after_response` hooks.
    pub retries: Vec<crate::exchange::Retry>,
    /// The API operation the error came from (botocore's `operation_name`), set where the
    /// request is made; None for errors outside any request.
    pub operation: Option<&'static str>,
}

impl ErrorInfo {
    pub fn new(class: &'static str, message: impl Into<String>) -> Self {
        Self {
            class,
            code: None,
            message: message.into(),
            status: None,
            request_id: None,
            retryable: false,
            model_id: None,
            hint: hint_for(class),
            detail: None,
            versions: None,
            exchange: None,
            retries: Vec::new(),
            operation: None,
        }
    }

    /// A broken promise inside fastconverse (the drivers misused the turn): a `RuntimeError`.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new("RuntimeError", message)
    }

    pub fn with_detail(mut self, detail: TurnDetail) -> Self {
        self.detail = Some(Box::new(detail));
        self
    }

    /// The HTTP status the error came with; the retry advice of an unmodeled code follows it.
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        if self.code.as_deref().and_then(error_codes::lookup).is_none() {
            self.retryable = status == 429 || (500..600).contains(&status);
        }
        self
    }

    /// Classifies a service error code and message.
    pub fn service(code: &str, message: &str) -> Self {
        let class = match code {
            "ValidationException" if is_context_overflow(message) => "ContextWindowExceededError",
            "ValidationException" => "ValidationError",
            "ThrottlingException" => "ThrottlingError",
            "AccessDeniedException"
            | "UnrecognizedClientException"
            | "InvalidSignatureException"
            | "MissingAuthenticationTokenException"
            | "ExpiredTokenException" => "AccessDeniedError",
            "ResourceNotFoundException" => "ResourceNotFoundError",
            "ModelTimeoutException" => "ModelTimeoutError",
            "ModelNotReadyException" => "ModelNotReadyError",
            "ModelErrorException" => "ModelError",
            "ModelStreamErrorException" => "ModelStreamError",
            "ServiceUnavailableException" => "ServiceUnavailableError",
            "InternalServerException" => "InternalServerError",
            "ServiceQuotaExceededException" => "ServiceQuotaExceededError",
            _ => "ConverseError",
        };
        let known = error_codes::lookup(code);
        let mut info = Self::new(class, message);
        info.code = Some(code.to_owned());
        // Note: the status is the response's (`with_status`), never looked up: an in-stream
        // exception arrives on an HTTP 200, and an unmodeled code has no entry.
        info.retryable = known.is_some_and(|k| k.retryable);
        if matches!(
            code,
            "UnrecognizedClientException"
                | "InvalidSignatureException"
                | "MissingAuthenticationTokenException"
                | "ExpiredTokenException"
        ) {
            info.hint = Some(CREDENTIALS_HINT);
        }
        info
    }

    pub fn with_hint(mut self, hint: &'static str) -> Self {
        self.hint = Some(hint);
        self
    }

    /// Adds what the request's exchange showed (attempts; headers unless the error had some).
    pub fn with_exchange(mut self, seen: crate::exchange::Seen) -> Self {
        self.retries.clone_from(&seen.retries);
        if self.status.is_some() {
            let headers = self.exchange.take().map(|e| e.headers).unwrap_or_default();
            let headers = if headers.is_empty() {
                seen.headers.clone()
            } else {
                headers
            };
            self.exchange = Some(Box::new(seen.with_headers(headers)));
        }
        self
    }

    /// When the answer was not Bedrock's at all (a proxy's or a web server's HTML page, an
    /// empty body), this error says so instead of the parser's complaint about it: the
    /// endpoint answered with `expected` content neither as a success nor as an error.
    pub fn or_foreign(mut self, seen: &crate::exchange::Seen, expected: &str) -> Self {
        // Only an answer that came (a status), that the SDK could not read as a service
        // error of Bedrock's (no code, or its "Unknown"), and not marked as one.
        let unread = matches!(self.code.as_deref(), None | Some("Unknown"));
        let bedrock_error = seen.headers.iter().any(|(k, _)| k == "x-amzn-errortype");
        if self.status.is_none() || !unread || bedrock_error {
            return self;
        }
        let Some(message) = foreign_answer(seen, expected) else {
            return self;
        };
        self.class = "EndpointError";
        self.code = None;
        self.message = message;
        self.hint = hint_for("EndpointError");
        self
    }

    /// Names the operation, unless a nearer place named it already.
    pub fn with_operation(mut self, operation: &'static str) -> Self {
        self.operation.get_or_insert(operation);
        self
    }

    pub fn with_model(mut self, model_id: Option<&str>) -> Self {
        self.model_id = model_id.map(str::to_owned);
        self
    }

    /// The Python exception.
    pub fn into_pyerr(self, py: Python<'_>) -> PyErr {
        match build(py, &self) {
            Ok(err) => err,
            Err(err) => err,
        }
    }
}

const CREDENTIALS_HINT: &str = "Check the AWS credentials in use (environment variables, the shared profile, SSO login, or the aws_access_key_id/aws_secret_access_key arguments).";

fn hint_for(class: &str) -> Option<&'static str> {
    Some(match class {
        "ThrottlingError" => "Slow down (fewer concurrent requests or tokens per minute) or request a higher quota in Service Quotas.",
        "AccessDeniedError" => "Make sure your IAM identity may call bedrock:InvokeModel and that access to this model is enabled in the Bedrock console for this region.",
        "ResourceNotFoundError" => "Check the model id (or inference profile ARN) and that it is offered in this region.",
        "ContextWindowExceededError" => "Shorten the conversation (drop or summarise older turns) or lower maxTokens.",
        "ModelTimeoutError" => "Try again, or ask for a shorter answer.",
        "ModelNotReadyError" | "ServiceUnavailableError" | "InternalServerError" => "This is transient: try again in a moment.",
        "ServiceQuotaExceededError" => "Request a higher quota in Service Quotas, or reduce the request.",
        "CredentialsError" => "Set AWS credentials (environment variables, ~/.aws/credentials, `aws sso login`, an instance or container role, or AWS_BEARER_TOKEN_BEDROCK), or pass aws_access_key_id and aws_secret_access_key.",
        "EndpointError" => "Check endpoint_url, region_name and network connectivity.",
        "ConversationBusyError" => "Finish or close() the previous turn's stream first, or give each concurrent task its own Conversation.",
        "StreamInterruptedError" => "The connection was lost mid-stream; nothing was added to the conversation, so the turn can be sent again.",
        "ToolLoopLimitError" => "Raise max_tool_rounds, or look at the tool results in error.messages: a model that keeps calling tools is often stuck on a failing one.",
        "ConversationConflictError" => "Another worker continued this conversation meanwhile: its history is now the store's, and nothing of this turn was kept, so send the message again (error.reply holds the reply that was not kept).",
        "StoreError" => "Nothing of this turn was kept (error.reply holds the reply); send it again once the store is back.",
        "EmptyReplyError" => "The tools ran (see error.messages); send the turn again, or ask the model to answer from the tool results.",
        _ => return None,
    })
}

/// The exception classes by name, handed down by `fastconverse.errors` when it is imported
/// (`_register_errors`): the native layer never imports the Python layer above it.
static CLASSES: PyOnceLock<Py<PyDict>> = PyOnceLock::new();

/// Takes the classes of `fastconverse.errors` (once; called by that module).
#[pyfunction]
pub fn _register_errors(py: Python<'_>, classes: Bound<'_, PyDict>) -> PyResult<()> {
    CLASSES
        .set(py, classes.unbind())
        .map_err(|_| PyRuntimeError::new_err("the error classes are registered already"))
}

fn build(py: Python<'_>, info: &ErrorInfo) -> PyResult<PyErr> {
    if info.class == "RuntimeError" {
        return Ok(pyo3::exceptions::PyRuntimeError::new_err(
            info.message.clone(),
        ));
    }
    let classes = CLASSES.get(py).ok_or_else(|| {
        PyRuntimeError::new_err("fastconverse.errors was not imported: import fastconverse")
    })?;
    let class = classes.bind(py).get_item(info.class)?.ok_or_else(|| {
        PyRuntimeError::new_err(format!("no error class {:?} is registered", info.class))
    })?;
    let kwargs = PyDict::new(py);
    kwargs.set_item("code", info.code.as_deref())?;
    kwargs.set_item("status_code", info.status)?;
    kwargs.set_item("request_id", info.request_id.as_deref())?;
    kwargs.set_item("retryable", info.retryable)?;
    kwargs.set_item("model_id", info.model_id.as_deref())?;
    kwargs.set_item("hint", info.hint)?;
    kwargs.set_item("operation_name", info.operation)?;
    if let Some(seen) = &info.exchange {
        kwargs.set_item("http_headers", response::headers(py, &seen.headers)?)?;
        kwargs.set_item("retry_attempts", seen.retries())?;
    }
    if let Some(detail) = &info.detail {
        kwargs.set_item("rounds", detail.rounds)?;
        kwargs.set_item("messages", response::message_list(py, &detail.messages)?)?;
        kwargs.set_item("usage", PyUsage(detail.usage))?;
        let reply = detail
            .reply
            .clone()
            .map(|r| Py::new(py, PyReply(r)))
            .transpose()?;
        kwargs.set_item("reply", reply)?;
    }
    if let Some((ours, theirs)) = info.versions {
        kwargs.set_item("ours", ours)?;
        kwargs.set_item("theirs", theirs)?;
    }
    let exc = class.call((info.message.as_str(),), Some(&kwargs))?;
    Ok(PyErr::from_value(exc))
}

/// The readable part of a credential-chain failure: the SDK appends a debug dump of the
/// same facts after its message.
fn credentials_text(text: &str) -> String {
    let text = text.split(" (DispatchFailure(").next().unwrap_or(text);
    let text = text
        .trim_start_matches("dispatch failure: ")
        .trim_start_matches("other: ");
    if let Some(rest) = text.split("no credentials found in chain.").nth(1) {
        format!("No AWS credentials found.{rest}")
    } else {
        text.to_owned()
    }
}

/// An SDK error as text: its chain of messages, without the debug dump of the same facts
/// that `DisplayErrorContext` appends.
pub fn readable<E: std::error::Error>(err: &E) -> String {
    let text = DisplayErrorContext(err).to_string();
    for dump in [
        " (DispatchFailure(",
        " (TimeoutError(",
        " (ResponseError(",
        " (ConstructionFailure(",
        " (ServiceError(",
    ] {
        if let Some(at) = text.find(dump) {
            return text[..at].to_owned();
        }
    }
    text
}

/// Classifies any SDK error.
pub fn from_sdk<E>(err: &SdkError<E, HttpResponse>) -> ErrorInfo
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match err {
        SdkError::ServiceError(service) => {
            let e = service.err();
            let code = e.code().unwrap_or("Unknown");
            let mut info = ErrorInfo::service(code, e.message().unwrap_or(""))
                .with_status(service.raw().status().as_u16());
            info.request_id = e.meta().extra("aws_request_id").map(str::to_owned);
            info.exchange = Some(Box::new(crate::exchange::Seen {
                headers: service
                    .raw()
                    .headers()
                    .iter()
                    .map(|(k, v)| (k.to_ascii_lowercase(), v.to_owned()))
                    .collect(),
                attempts: 1,
                ..Default::default()
            }));
            info
        }
        SdkError::TimeoutError(_) => {
            ErrorInfo::new("EndpointError", format!("timed out: {}", readable(err)))
        }
        SdkError::DispatchFailure(failure) => {
            let text = readable(err);
            if text.contains("credentials") || text.contains("identity") {
                ErrorInfo::new("CredentialsError", credentials_text(&text))
            } else if failure.is_io() || failure.is_timeout() {
                let mut info = ErrorInfo::new("EndpointError", text);
                info.retryable = true;
                info
            } else {
                ErrorInfo::new("EndpointError", text)
            }
        }
        SdkError::ConstructionFailure(_) => {
            let text = readable(err);
            let class = if text.contains("region")
                || text.contains("credentials")
                || text.contains("identity")
            {
                "CredentialsError"
            } else {
                "ConverseError"
            };
            ErrorInfo::new(class, text)
        }
        SdkError::ResponseError(response) => {
            let mut info = ErrorInfo::new("StreamInterruptedError", readable(err));
            info.retryable = true;
            info.status = Some(response.raw().status().as_u16());
            info
        }
        _ => ErrorInfo::new("ConverseError", readable(err)),
    }
}

/// "the endpoint answered text/html, not ..." when the response's content type is not
/// `expected` (Bedrock's own errors are JSON too, and a stream's are JSON before it begins).
pub fn foreign_answer(seen: &crate::exchange::Seen, expected: &str) -> Option<String> {
    let content_type = seen
        .headers
        .iter()
        .find(|(k, _)| k == "content-type")
        .map(|(_, v)| v.as_str());
    match content_type {
        Some(ct)
            if ct.starts_with(expected)
                || ct.starts_with("application/json")
                || ct.starts_with("application/x-amz-json") =>
        {
            None
        }
        None if seen.headers.is_empty() => None, // (no response at all: not this case)
        other => Some(format!(
            "the endpoint answered {}, not a Bedrock {}: check endpoint_url (a proxy or a web server may have answered)",
            other.unwrap_or("with no content type"),
            if expected == "application/json" { "response" } else { "event stream" }
        )),
    }
}

/// Sends a fluent SDK request with an `Exchange` watching it (inside an async block):
/// `(result, seen)`, an error already an `ErrorInfo` naming `model` and carrying the
/// exchange (headers, attempts).
#[macro_export]
macro_rules! send_watched {
    ($fluent:expr, $model:expr, $operation:expr) => {{
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
                    .with_operation($operation)
                    .with_model(Some($model))
                    .with_exchange(seen.clone())
                    .or_foreign(&seen, "application/json");
                (Err(info), seen)
            }
        }
    }};
}
