//! `guardrailConfig`: one checked value for the boto3 layer and conversations, building the
//! Converse and the ConverseStream configuration (they are different SDK types).

use aws_sdk_bedrockruntime::types as t;
use pyo3::prelude::*;

use super::pyobj::{value_error, Obj};

/// A `guardrailConfig`: the same for Converse and ConverseStream, built per request kind.
#[derive(Debug, Clone, PartialEq)]
pub struct Guardrail {
    pub id: String,
    pub version: String,
    pub trace: Option<String>,
    pub stream_mode: Option<String>,
}

impl Guardrail {
    pub fn converse(&self) -> t::GuardrailConfiguration {
        t::GuardrailConfiguration::builder()
            .guardrail_identifier(&self.id)
            .guardrail_version(&self.version)
            .set_trace(self.trace.as_deref().map(t::GuardrailTrace::from))
            .build()
    }

    /// boto3's `guardrailConfig` dict, as it was given.
    pub fn to_py<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, pyo3::types::PyDict>> {
        let d = pyo3::types::PyDict::new(py);
        d.set_item("guardrailIdentifier", &self.id)?;
        d.set_item("guardrailVersion", &self.version)?;
        if let Some(trace) = &self.trace {
            d.set_item("trace", trace)?;
        }
        if let Some(mode) = &self.stream_mode {
            d.set_item("streamProcessingMode", mode)?;
        }
        Ok(d)
    }

    pub fn stream(&self) -> t::GuardrailStreamConfiguration {
        t::GuardrailStreamConfiguration::builder()
            .guardrail_identifier(&self.id)
            .guardrail_version(&self.version)
            .set_trace(self.trace.as_deref().map(t::GuardrailTrace::from))
            .set_stream_processing_mode(
                self.stream_mode
                    .as_deref()
                    .map(t::GuardrailStreamProcessingMode::from),
            )
            .build()
    }
}

/// boto3's `guardrailConfig` dict, checked.
pub fn guardrail(g: &Obj<'_>) -> PyResult<Guardrail> {
    g.only(&[
        "guardrailIdentifier",
        "guardrailVersion",
        "trace",
        "streamProcessingMode",
    ])?;
    let trace = g.str("trace")?;
    if let Some(t) = trace.as_deref() {
        if !["enabled", "disabled", "enabled_full"].contains(&t) {
            return Err(value_error(
                &g.at("trace"),
                format!("expected 'enabled', 'enabled_full' or 'disabled', got {t:?}"),
            ));
        }
    }
    let mode = g.str("streamProcessingMode")?;
    if let Some(m) = mode.as_deref() {
        if !["sync", "async"].contains(&m) {
            return Err(value_error(
                &g.at("streamProcessingMode"),
                format!("expected 'sync' or 'async', got {m:?}"),
            ));
        }
    }
    Ok(Guardrail {
        id: g.req_str("guardrailIdentifier")?,
        version: g.req_str("guardrailVersion")?,
        trace,
        stream_mode: mode,
    })
}
