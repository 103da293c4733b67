//! The modeled Bedrock Runtime error codes: HTTP status, in-stream member name, SDK retry
//! behaviour and a default message, as the real service sends them (see WIRE.md).

/// One modeled error of the Bedrock Runtime service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorCode {
    /// The code as sent in `x-amzn-ErrorType`, e.g. `ThrottlingException`.
    pub code: &'static str,
    /// The HTTP status of the error response.
    pub status: u16,
    /// Whether the SDKs' standard retry strategy retries it.
    pub retryable: bool,
    /// The message the service sends when none is given.
    pub default_message: &'static str,
}

/// Every modeled error code (plus the two auth failures), in WIRE.md's order.
pub const ERROR_CODES: &[ErrorCode] = &[
    ErrorCode {
        code: "ValidationException",
        status: 400,
        retryable: false,
        default_message: "The request failed validation.",
    },
    ErrorCode {
        code: "ServiceQuotaExceededException",
        status: 400,
        retryable: false,
        default_message: "Your request exceeds the service quota for your account. You can view your quotas at Viewing service quotas. You can resubmit your request later.",
    },
    ErrorCode {
        code: "AccessDeniedException",
        status: 403,
        retryable: false,
        default_message: "You don't have access to the model with the specified model ID.",
    },
    ErrorCode {
        code: "ResourceNotFoundException",
        status: 404,
        retryable: false,
        default_message: "The specified resource ARN was not found.",
    },
    ErrorCode {
        code: "ModelTimeoutException",
        status: 408,
        retryable: false,
        default_message: "Model has timed out in processing the request. Try your request again.",
    },
    ErrorCode {
        code: "ModelErrorException",
        status: 424,
        retryable: false,
        default_message: "The model encountered an error while processing the request.",
    },
    ErrorCode {
        code: "ModelStreamErrorException",
        status: 424,
        retryable: false,
        default_message: "The model encountered an error while streaming the response.",
    },
    ErrorCode {
        code: "ThrottlingException",
        status: 429,
        retryable: true,
        default_message: "Too many requests, please wait before trying again.",
    },
    ErrorCode {
        code: "ModelNotReadyException",
        status: 429,
        retryable: true,
        default_message: "Model is not ready to serve inference requests. Try your request again.",
    },
    ErrorCode {
        code: "InternalServerException",
        status: 500,
        retryable: true,
        default_message: "The server encountered an internal error. Try your request again.",
    },
    ErrorCode {
        code: "ServiceUnavailableException",
        status: 503,
        retryable: true,
        default_message: "The service isn't currently available. Try again later.",
    },
    ErrorCode {
        code: "UnrecognizedClientException",
        status: 403,
        retryable: false,
        default_message: "The security token included in the request is invalid.",
    },
    ErrorCode {
        code: "InvalidSignatureException",
        status: 403,
        retryable: false,
        default_message: "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
    },
];

/// The in-stream exception members of ConverseStream (`:exception-type` values).
pub const STREAM_EXCEPTIONS: &[(&str, &str)] = &[
    ("throttlingException", "ThrottlingException"),
    ("validationException", "ValidationException"),
    ("modelStreamErrorException", "ModelStreamErrorException"),
    ("internalServerException", "InternalServerException"),
    ("serviceUnavailableException", "ServiceUnavailableException"),
];

/// Looks a code up by its exact name (`ThrottlingException`).
pub fn lookup(code: &str) -> Option<&'static ErrorCode> {
    ERROR_CODES.iter().find(|c| c.code == code)
}

/// The in-stream member for a code given either as member (`throttlingException`) or as
/// code (`ThrottlingException`); returns `(member, code)`.
pub fn stream_exception(name: &str) -> Option<(&'static str, &'static str)> {
    STREAM_EXCEPTIONS
        .iter()
        .copied()
        .find(|(member, code)| *member == name || *code == name)
}

/// The names accepted by [`stream_exception`], for error messages.
pub fn stream_exception_names() -> String {
    STREAM_EXCEPTIONS
        .iter()
        .map(|(m, _)| *m)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The names accepted by [`lookup`], for error messages.
pub fn code_names() -> String {
    ERROR_CODES
        .iter()
        .map(|c| c.code)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_stream_exception_is_a_known_code() {
        for (_, code) in STREAM_EXCEPTIONS {
            assert!(lookup(code).is_some(), "{code}");
        }
        assert_eq!(
            stream_exception("ThrottlingException"),
            Some(("throttlingException", "ThrottlingException"))
        );
        assert_eq!(stream_exception("AccessDeniedException"), None);
    }
}
