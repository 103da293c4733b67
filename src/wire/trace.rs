//! A response's `trace` (guardrail assessments, the prompt router's choice) -> boto3's JSON
//! shape. The SDK parses it into types; users read it as the dicts boto3 gives. Kept as
//! JSON so a Reply carries it without the GIL.
//! Note: automated-reasoning findings and applied-guardrail details are left out: they
//! are large unions no example or test reads yet.

use aws_sdk_bedrockruntime::types as t;
use serde_json::{json, Map, Value};

/// Both the Converse and the ConverseStream trace.
pub fn trace(
    guardrail: Option<&t::GuardrailTraceAssessment>,
    router: Option<&t::PromptRouterTrace>,
) -> Option<Value> {
    let mut out = Map::new();
    if let Some(g) = guardrail {
        out.insert("guardrail".into(), guardrail_trace(g));
    }
    if let Some(model) = router.and_then(|r| r.invoked_model_id()) {
        out.insert("promptRouter".into(), json!({ "invokedModelId": model }));
    }
    (!out.is_empty()).then_some(Value::Object(out))
}

fn guardrail_trace(g: &t::GuardrailTraceAssessment) -> Value {
    let mut out = Map::new();
    if let Some(outputs) = &g.model_output {
        out.insert("modelOutput".into(), json!(outputs));
    }
    if let Some(input) = &g.input_assessment {
        let map: Map<String, Value> = input
            .iter()
            .map(|(id, a)| (id.clone(), assessment(a)))
            .collect();
        out.insert("inputAssessment".into(), Value::Object(map));
    }
    if let Some(outputs) = &g.output_assessments {
        let map: Map<String, Value> = outputs
            .iter()
            .map(|(id, list)| (id.clone(), list.iter().map(assessment).collect()))
            .collect();
        out.insert("outputAssessments".into(), Value::Object(map));
    }
    if let Some(reason) = &g.action_reason {
        out.insert("actionReason".into(), json!(reason));
    }
    Value::Object(out)
}

/// `detected` is optional on every finding: set only when the service sent it.
fn finding(mut v: Value, detected: Option<bool>) -> Value {
    if let Some(d) = detected {
        v["detected"] = json!(d);
    }
    v
}

fn assessment(a: &t::GuardrailAssessment) -> Value {
    let mut out = Map::new();
    if let Some(p) = &a.topic_policy {
        let topics: Vec<Value> = p
            .topics
            .iter()
            .map(|x| {
                finding(
                    json!({"name": x.name, "type": x.r#type.as_str(), "action": x.action.as_str()}),
                    x.detected,
                )
            })
            .collect();
        out.insert("topicPolicy".into(), json!({ "topics": topics }));
    }
    if let Some(p) = &a.content_policy {
        let filters: Vec<Value> = p
            .filters
            .iter()
            .map(|x| {
                let mut v = json!({
                    "type": x.r#type.as_str(),
                    "confidence": x.confidence.as_str(),
                    "action": x.action.as_str(),
                });
                if let Some(s) = &x.filter_strength {
                    v["filterStrength"] = json!(s.as_str());
                }
                finding(v, x.detected)
            })
            .collect();
        out.insert("contentPolicy".into(), json!({ "filters": filters }));
    }
    if let Some(p) = &a.word_policy {
        let custom: Vec<Value> = p
            .custom_words
            .iter()
            .map(|x| {
                finding(
                    json!({"match": x.r#match, "action": x.action.as_str()}),
                    x.detected,
                )
            })
            .collect();
        let managed: Vec<Value> = p
            .managed_word_lists
            .iter()
            .map(|x| {
                let v = json!({"match": x.r#match, "type": x.r#type.as_str(), "action": x.action.as_str()});
                finding(v, x.detected)
            })
            .collect();
        out.insert(
            "wordPolicy".into(),
            json!({ "customWords": custom, "managedWordLists": managed }),
        );
    }
    if let Some(p) = &a.sensitive_information_policy {
        let pii: Vec<Value> = p
            .pii_entities
            .iter()
            .map(|x| {
                let v = json!({"match": x.r#match, "type": x.r#type.as_str(), "action": x.action.as_str()});
                finding(v, x.detected)
            })
            .collect();
        let regexes: Vec<Value> = p
            .regexes
            .iter()
            .map(|x| {
                let mut v = json!({ "action": x.action.as_str() });
                for (key, value) in [
                    ("name", &x.name),
                    ("match", &x.r#match),
                    ("regex", &x.regex),
                ] {
                    if let Some(s) = value {
                        v[key] = json!(s);
                    }
                }
                finding(v, x.detected)
            })
            .collect();
        out.insert(
            "sensitiveInformationPolicy".into(),
            json!({ "piiEntities": pii, "regexes": regexes }),
        );
    }
    if let Some(p) = &a.contextual_grounding_policy {
        let filters: Vec<Value> = p
            .filters
            .iter()
            .flatten()
            .map(|x| {
                let v = json!({
                    "type": x.r#type.as_str(),
                    "threshold": x.threshold,
                    "score": x.score,
                    "action": x.action.as_str(),
                });
                finding(v, x.detected)
            })
            .collect();
        out.insert(
            "contextualGroundingPolicy".into(),
            json!({ "filters": filters }),
        );
    }
    if let Some(m) = &a.invocation_metrics {
        let mut v = Map::new();
        if let Some(ms) = m.guardrail_processing_latency {
            v.insert("guardrailProcessingLatency".into(), json!(ms));
        }
        if let Some(u) = &m.usage {
            v.insert(
                "usage".into(),
                json!({
                    "topicPolicyUnits": u.topic_policy_units,
                    "contentPolicyUnits": u.content_policy_units,
                    "wordPolicyUnits": u.word_policy_units,
                    "sensitiveInformationPolicyUnits": u.sensitive_information_policy_units,
                    "sensitiveInformationPolicyFreeUnits": u.sensitive_information_policy_free_units,
                    "contextualGroundingPolicyUnits": u.contextual_grounding_policy_units,
                }),
            );
        }
        out.insert("invocationMetrics".into(), Value::Object(v));
    }
    Value::Object(out)
}

/// Whether a guardrail trace shows the user's input was blocked (or masked): the part of
/// a stopped turn that must not be sent again.
pub fn input_blocked(trace: &Value) -> bool {
    fn blocked(v: &Value) -> bool {
        match v {
            Value::Object(m) => {
                m.get("action").and_then(Value::as_str) == Some("BLOCKED")
                    || m.values().any(blocked)
            }
            Value::Array(items) => items.iter().any(blocked),
            _ => false,
        }
    }
    blocked(&trace["guardrail"]["inputAssessment"])
}
