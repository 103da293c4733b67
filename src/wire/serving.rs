//! How Bedrock serves a request: its service tier (`serviceTier`), its latency setting
//! (`performanceConfig`) and the key-value pairs its invocation logs are filtered by
//! (`requestMetadata`). Top-level request fields, not `additionalModelRequestFields` (where
//! Bedrock ignores them). Checked here, before any request, against the service model's
//! constraints (botocore's `bedrock-runtime` model), for the boto3 layer and conversations.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_bedrockruntime::types as t;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::reader::{text, Node, Read, Reader, WireError};

pub const TIERS: &[&str] = &["priority", "default", "flex", "reserved"];
pub const LATENCIES: &[&str] = &["standard", "optimized"];
/// `requestMetadata`: at most 16 pairs; keys of 1 to 256 and values of 0 to 256 of these
/// characters (letters, digits, whitespace and `:_@$#=/+,-.`).
pub const MAX_METADATA: usize = 16;
pub const MAX_METADATA_LEN: usize = 256;

/// A request's serving settings (each None: not sent).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Serving {
    pub tier: Option<String>,
    pub latency: Option<String>,
    pub metadata: Option<BTreeMap<String, String>>,
}

impl Serving {
    /// These settings, with each one `turn` gives instead; request metadata is merged key
    /// by key (the turn's win).
    pub fn over(&self, turn: &Serving) -> Serving {
        let metadata = match (&self.metadata, &turn.metadata) {
            (Some(mine), Some(theirs)) => {
                let mut both = mine.clone();
                both.extend(theirs.iter().map(|(k, v)| (k.clone(), v.clone())));
                Some(both)
            }
            (mine, theirs) => theirs.clone().or_else(|| mine.clone()),
        };
        Serving {
            tier: turn.tier.clone().or_else(|| self.tier.clone()),
            latency: turn.latency.clone().or_else(|| self.latency.clone()),
            metadata,
        }
    }

    pub fn is_empty(&self) -> bool {
        self == &Serving::default()
    }

    pub fn service_tier(&self) -> Option<t::ServiceTier> {
        self.tier.as_deref().map(|tier| {
            t::ServiceTier::builder()
                .r#type(t::ServiceTierType::from(tier))
                .build()
                .expect("type is set")
        })
    }

    pub fn performance_config(&self) -> Option<t::PerformanceConfiguration> {
        self.latency.as_deref().map(|l| {
            t::PerformanceConfiguration::builder()
                .latency(t::PerformanceConfigLatency::from(l))
                .build()
        })
    }

    /// As the conversation layer takes them: `{"service_tier": "flex", "performance_config":
    /// {"latency": ...}, "request_metadata": {...}}`, None where not set.
    pub fn to_py<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("service_tier", &self.tier)?;
        let latency = self
            .latency
            .as_ref()
            .map(|l| one(py, "latency", l))
            .transpose()?;
        d.set_item("performance_config", latency)?;
        d.set_item("request_metadata", &self.metadata)?;
        Ok(d)
    }

    /// Into Converse's keyword arguments, boto3-shaped (`serviceTier`, `performanceConfig`,
    /// `requestMetadata`; None where not set).
    pub fn put_request(&self, d: &Bound<'_, PyDict>) -> PyResult<()> {
        let py = d.py();
        let tier = self.tier.as_ref().map(|t| one(py, "type", t)).transpose()?;
        d.set_item("serviceTier", tier)?;
        let latency = self
            .latency
            .as_ref()
            .map(|l| one(py, "latency", l))
            .transpose()?;
        d.set_item("performanceConfig", latency)?;
        d.set_item("requestMetadata", &self.metadata)
    }

    pub fn request_metadata(&self) -> Option<HashMap<String, String>> {
        self.metadata
            .as_ref()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
    }
}

/// How Bedrock says it served a response (`serviceTier.type`, `performanceConfig.latency`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Served {
    pub tier: Option<String>,
    pub latency: Option<String>,
}

impl Served {
    pub fn new(
        tier: Option<&t::ServiceTier>,
        performance: Option<&t::PerformanceConfiguration>,
    ) -> Self {
        Served {
            tier: tier.map(|t| t.r#type().as_str().to_owned()),
            latency: performance.map(|p| p.latency().as_str().to_owned()),
        }
    }

    /// Into a response dict, boto3-shaped (`serviceTier`, `performanceConfig`).
    pub fn put(&self, d: &Bound<'_, PyDict>) -> PyResult<()> {
        let py = d.py();
        if let Some(tier) = &self.tier {
            d.set_item("serviceTier", one(py, "type", tier)?)?;
        }
        if let Some(latency) = &self.latency {
            d.set_item("performanceConfig", one(py, "latency", latency)?)?;
        }
        Ok(())
    }
}

/// `{key: value}`.
fn one<'py>(py: Python<'py>, key: &str, value: &str) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item(key, value)?;
    Ok(d)
}

/// How the values are checked: `Strict` (the conversation layer: the service model's enums,
/// lengths and patterns, before anything is sent) or `Shape` (the boto3 layer: types only,
/// as botocore checks them, so that the service answers a bad value as it does for boto3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    Strict,
    Shape,
}

fn one_of(value: String, allowed: &[&str], path: &str, check: Check) -> Read<String> {
    if check == Check::Shape || allowed.contains(&value.as_str()) {
        return Ok(value);
    }
    let listed: Vec<String> = allowed.iter().map(|a| format!("{a:?}")).collect();
    Err(WireError::value(
        path,
        format!("expected one of {}, got {value:?}", listed.join(", ")),
    ))
}

/// `serviceTier`: boto3's `{"type": "priority"}`, or (`text_ok`, the conversation layer's
/// `service_tier="priority"`) the type alone.
pub fn service_tier<N: Node>(v: &N, path: &str, check: Check) -> Read<String> {
    if check == Check::Strict {
        if let Some(tier) = v.as_text()? {
            return one_of(tier, TIERS, path, check);
        }
    }
    let o = Reader::new(v, path)?;
    o.only(&["type"])?;
    one_of(o.req_str("type")?, TIERS, &o.at("type"), check)
}

/// `performanceConfig`: `{"latency": "standard" | "optimized"}`.
pub fn latency<N: Node>(v: &N, path: &str, check: Check) -> Read<Option<String>> {
    let o = Reader::new(v, path)?;
    o.only(&["latency"])?;
    o.str("latency")?
        .map(|l| one_of(l, LATENCIES, &o.at("latency"), check))
        .transpose()
}

fn metadata_text(s: &str, min: usize, path: &str, what: &str) -> Read<()> {
    let n = s.chars().count();
    if n < min || n > MAX_METADATA_LEN {
        return Err(WireError::value(
            path,
            format!("{what} must be {min} to {MAX_METADATA_LEN} characters, got {n}"),
        ));
    }
    if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || c.is_whitespace() || ":_@$#=/+,-.".contains(*c)))
    {
        return Err(WireError::value(
            path,
            format!(
                "{what} may hold letters, digits, spaces and :_@$#=/+,-. only; got {c:?} in {s:?}"
            ),
        ));
    }
    Ok(())
}

/// `requestMetadata`: 1 to 16 pairs of text, as Bedrock takes them.
pub fn request_metadata<N: Node>(
    v: &N,
    path: &str,
    check: Check,
) -> Read<BTreeMap<String, String>> {
    let o = Reader::new(v, path)?;
    let entries = N::entries(&o.dict)?;
    if check == Check::Shape {
        return entries
            .into_iter()
            .map(|(key, value)| {
                let value = text(&value, &o.at(&key))?;
                Ok((key, value))
            })
            .collect();
    }
    if entries.is_empty() || entries.len() > MAX_METADATA {
        return Err(WireError::value(
            path,
            format!("expected 1 to {MAX_METADATA} pairs, got {}", entries.len()),
        ));
    }
    let mut map = BTreeMap::new();
    for (key, value) in entries {
        let at = o.at(&key);
        metadata_text(&key, 1, &at, "a key")?;
        let value = text(&value, &at)?;
        metadata_text(&value, 0, &at, "a value")?;
        map.insert(key, value);
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn metadata_is_checked_as_bedrock_constrains_it() {
        let ok = json!({"team": "support", "ticket": "T-1042 a:b"});
        assert_eq!(request_metadata(&&ok, "m", Check::Strict).unwrap().len(), 2);
        let too_many: serde_json::Map<String, serde_json::Value> =
            (0..17).map(|i| (format!("k{i}"), json!("v"))).collect();
        let err = request_metadata(&&serde_json::Value::Object(too_many), "m", Check::Strict)
            .unwrap_err();
        assert!(err.to_string().contains("expected 1 to 16 pairs, got 17"));
        let err = request_metadata(&&json!({"bad!": "v"}), "m", Check::Strict).unwrap_err();
        assert!(err.to_string().starts_with("m.bad!: a key may hold"));
        let err =
            request_metadata(&&json!({"k": "x".repeat(257)}), "m", Check::Strict).unwrap_err();
        assert!(err
            .to_string()
            .contains("a value must be 0 to 256 characters, got 257"));
        assert!(request_metadata(&&json!({"k": ""}), "m", Check::Strict).is_ok());
        // (the boto3 layer leaves the values to the service, as botocore does)
        assert!(request_metadata(&&json!({"bad!": "v"}), "m", Check::Shape).is_ok());
        assert!(request_metadata(&&json!({"k": 1}), "m", Check::Shape).is_err());
    }

    #[test]
    fn tiers_and_latency_take_the_models_values_only() {
        assert_eq!(
            service_tier(&&json!("flex"), "t", Check::Strict).unwrap(),
            "flex"
        );
        assert_eq!(
            service_tier(&&json!({"type": "priority"}), "t", Check::Shape).unwrap(),
            "priority"
        );
        let err = service_tier(&&json!("fast"), "service_tier", Check::Strict).unwrap_err();
        assert_eq!(
            err.to_string(),
            "service_tier: expected one of \"priority\", \"default\", \"flex\", \"reserved\", got \"fast\""
        );
        assert!(service_tier(&&json!("flex"), "serviceTier", Check::Shape).is_err());
        assert_eq!(
            latency(&&json!({"latency": "optimized"}), "p", Check::Strict)
                .unwrap()
                .as_deref(),
            Some("optimized")
        );
        assert!(latency(&&json!({"latency": "fastest"}), "p", Check::Strict).is_err());
        assert!(latency(&&json!({"latency": "fastest"}), "p", Check::Shape).is_ok());
        let turn = Serving {
            tier: Some("flex".into()),
            ..Serving::default()
        };
        let conv = Serving {
            tier: Some("priority".into()),
            latency: Some("optimized".into()),
            metadata: None,
        };
        let both = conv.over(&turn);
        assert_eq!(both.tier.as_deref(), Some("flex"));
        assert_eq!(both.latency.as_deref(), Some("optimized"));
    }
}
