//! Checking a request's credentials: SigV4 signatures (recomputed with `aws-sigv4`, the
//! signer the Rust SDK itself uses) and Bedrock API keys sent as `Authorization: Bearer`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use http::HeaderMap;

use super::script::HttpError;
use crate::wire::error_codes;

/// Who may call FakeBedrock. Empty: anybody, signed or not.
#[derive(Debug, Clone, Default)]
pub struct AuthConfig {
    /// Known `(access key id, secret access key)` pairs; with any, SigV4 signatures are verified.
    pub credentials: Vec<(String, String)>,
    /// Accepted Bedrock API keys (`Authorization: Bearer <key>`).
    pub bearer_tokens: Vec<String>,
}

impl AuthConfig {
    pub fn is_open(&self) -> bool {
        self.credentials.is_empty() && self.bearer_tokens.is_empty()
    }
}

fn denied(code: &str) -> HttpError {
    let known = error_codes::lookup(code).expect("auth codes are in the table");
    HttpError {
        code: known.code.into(),
        status: known.status,
        message: known.default_message.into(),
        extra: Default::default(),
    }
}

/// The parts of an `AWS4-HMAC-SHA256` Authorization header.
#[derive(Debug, PartialEq)]
struct SigV4Header<'a> {
    access_key: &'a str,
    region: &'a str,
    service: &'a str,
    signed_headers: Vec<&'a str>,
    signature: &'a str,
}

fn parse_sigv4(value: &str) -> Option<SigV4Header<'_>> {
    let rest = value.strip_prefix("AWS4-HMAC-SHA256 ")?;
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let (key, val) = part.trim().split_once('=')?;
        match key {
            "Credential" => credential = Some(val),
            "SignedHeaders" => signed = Some(val),
            "Signature" => signature = Some(val),
            _ => {}
        }
    }
    let mut scope = credential?.split('/');
    let access_key = scope.next()?;
    let _date = scope.next()?;
    Some(SigV4Header {
        access_key,
        region: scope.next()?,
        service: scope.next()?,
        signed_headers: signed?.split(';').collect(),
        signature: signature?,
    })
}

/// Parses an `x-amz-date` value (`20240102T030405Z`).
fn parse_amz_date(value: &str) -> Option<SystemTime> {
    let digits = |r: std::ops::Range<usize>| value.get(r)?.parse::<i64>().ok();
    if value.len() != 16 || &value[8..9] != "T" || !value.ends_with('Z') {
        return None;
    }
    let (y, m, d) = (digits(0..4)?, digits(4..6)?, digits(6..8)?);
    let (hh, mm, ss) = (digits(9..11)?, digits(11..13)?, digits(13..15)?);
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + hh * 3600 + mm * 60 + ss;
    Some(UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).ok()?))
}

/// Checks the request's authorization against `config`.
pub fn check(
    config: &AuthConfig,
    method: &str,
    path_and_query: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), HttpError> {
    if config.is_open() {
        return Ok(());
    }
    let Some(auth) = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return Err(HttpError {
            code: "MissingAuthenticationTokenException".into(),
            status: 403,
            message: "Missing Authentication Token".into(),
            extra: Default::default(),
        });
    };
    if let Some(token) = auth.strip_prefix("Bearer ") {
        return if config.bearer_tokens.iter().any(|t| t == token) {
            Ok(())
        } else {
            Err(denied("UnrecognizedClientException"))
        };
    }
    let Some(parsed) = parse_sigv4(auth) else {
        return Err(denied("InvalidSignatureException"));
    };
    let Some((_, secret)) = config
        .credentials
        .iter()
        .find(|(key, _)| key == parsed.access_key)
    else {
        return Err(denied("UnrecognizedClientException"));
    };
    let expected = signature_for(&parsed, secret, method, path_and_query, headers, body);
    if expected.as_deref() == Some(parsed.signature) {
        Ok(())
    } else {
        Err(denied("InvalidSignatureException"))
    }
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The signature a client holding `secret` would have computed for this request.
fn signature_for(
    parsed: &SigV4Header<'_>,
    secret: &str,
    method: &str,
    path_and_query: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Option<String> {
    let time = parse_amz_date(header_str(headers, "x-amz-date")?)?;
    let token = header_str(headers, "x-amz-security-token").map(str::to_owned);
    let identity = Credentials::new(parsed.access_key, secret, token, None, "fake-bedrock").into();
    let mut settings = SigningSettings::default();
    // Sign exactly what the client signed: the signer adds x-amz-date and the session token
    // itself, and must not drop a header the client chose to sign.
    settings.excluded_headers = Some(Vec::new());
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(parsed.region)
        .name(parsed.service)
        .time(time)
        .settings(settings)
        .build()
        .ok()?
        .into();
    let mut signed = Vec::with_capacity(parsed.signed_headers.len());
    for name in &parsed.signed_headers {
        if *name == "x-amz-date" || *name == "x-amz-security-token" {
            continue;
        }
        signed.push((*name, header_str(headers, name)?));
    }
    let host = header_str(headers, "host")?;
    // Note: the raw received path goes in as it came; the signer encodes each segment once
    // more (`%3A` -> `%253A`), as both SDKs did when they signed.
    let uri = format!("http://{host}{path_and_query}");
    let request =
        SignableRequest::new(method, uri, signed.into_iter(), SignableBody::Bytes(body)).ok()?;
    let output = sign(request, &params).ok()?;
    Some(output.signature().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_an_authorization_header() {
        let h = "AWS4-HMAC-SHA256 Credential=AKID/20240102/us-east-1/bedrock/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=abc123";
        assert_eq!(
            parse_sigv4(h),
            Some(SigV4Header {
                access_key: "AKID",
                region: "us-east-1",
                service: "bedrock",
                signed_headers: vec!["content-type", "host", "x-amz-date"],
                signature: "abc123",
            })
        );
        assert_eq!(parse_sigv4("Basic abc"), None);
    }

    #[test]
    fn parses_amz_dates() {
        let t = parse_amz_date("20240102T030405Z").unwrap();
        assert_eq!(
            t.duration_since(UNIX_EPOCH).unwrap().as_secs(),
            1_704_164_645
        );
        assert_eq!(parse_amz_date("2024-01-02"), None);
    }
}
