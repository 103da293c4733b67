//! `key_order` on the wire. The SDK writes a request's documents from its hash maps, and
//! reads an answer's into them: this interceptor puts each document of a request body back
//! in the order it was written (once, before the retry loop, so before signing), and keeps
//! the order of the documents in a Converse answer (its tool inputs) before the SDK's types
//! lose it. A stream's tool inputs arrive as JSON text, kept in order where they are
//! parsed (`assembler.rs`).

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    AfterDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextMut,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::ConfigBag;
use memchr::memmem;
use serde_json::Value;

use super::key_order;

/// Installed on every SDK client (`config.rs`).
#[derive(Debug)]
pub struct KeyOrderOnWire;

fn operation(cfg: &ConfigBag) -> &str {
    cfg.load::<Metadata>().map(Metadata::name).unwrap_or("")
}

fn mentions(body: &[u8], names: &[&str]) -> bool {
    names
        .iter()
        .any(|n| memmem::find(body, n.as_bytes()).is_some())
}

impl Intercept for KeyOrderOnWire {
    fn name(&self) -> &'static str {
        "fastconverse::KeyOrderOnWire"
    }

    fn modify_before_retry_loop(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        // (InvokeModel's body is the caller's own bytes: never touched)
        let nested = match operation(cfg) {
            "Converse" | "ConverseStream" => false,
            "CountTokens" => true,
            _ => return Ok(()),
        };
        let request = context.request_mut();
        let Some(body) = request.body().bytes().and_then(|b| in_order(b, nested)) else {
            return Ok(());
        };
        let len = body.len();
        *request.body_mut() = SdkBody::from(body);
        request
            .headers_mut()
            .insert("content-length", len.to_string());
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if operation(cfg) == "Converse" {
            if let Some(body) = context.response().body().bytes() {
                keep_answer(body);
            }
        }
        Ok(())
    }
}

/// A Converse request body (CountTokens': `nested` under `input.converse`) with its
/// documents in their written order; None when there is nothing to put back.
fn in_order(body: &[u8], nested: bool) -> Option<Vec<u8>> {
    if !mentions(
        body,
        &[
            "\"inputSchema\"",
            "\"toolUse\"",
            "\"toolResult\"",
            "\"additionalModelRequestFields\"",
        ],
    ) {
        return None;
    }
    let mut json: Value = serde_json::from_slice(body).ok()?;
    let root = if nested {
        json.pointer_mut("/input/converse")?
    } else {
        &mut json
    };
    let mut changed = false;
    let mut restore = |slot: Option<&mut Value>| {
        if let Some(slot) = slot {
            if let Some(ordered) = key_order::ordered_json(slot) {
                *slot = (*ordered).clone();
                changed = true;
            }
        }
    };
    for tool in each(root.pointer_mut("/toolConfig/tools")) {
        restore(tool.pointer_mut("/toolSpec/inputSchema/json"));
    }
    for message in each(root.get_mut("messages")) {
        for block in each(message.get_mut("content")) {
            restore(block.pointer_mut("/toolUse/input"));
            for part in each(block.pointer_mut("/toolResult/content")) {
                restore(part.get_mut("json"));
            }
        }
    }
    restore(root.get_mut("additionalModelRequestFields"));
    changed.then(|| serde_json::to_vec(&json).expect("JSON values serialise"))
}

fn each(list: Option<&mut Value>) -> impl Iterator<Item = &mut Value> {
    list.and_then(Value::as_array_mut)
        .into_iter()
        .flat_map(|items| items.iter_mut())
}

/// Keeps the order of a Converse answer's tool inputs and additional fields.
fn keep_answer(body: &[u8]) {
    if !mentions(body, &["\"toolUse\"", "\"additionalModelResponseFields\""]) {
        return;
    }
    let Ok(mut json) = serde_json::from_slice::<Value>(body) else {
        return;
    };
    for block in each(json.pointer_mut("/output/message/content")) {
        if let Some(input) = block.pointer_mut("/toolUse/input") {
            key_order::keep(input.take());
        }
    }
    if let Some(fields) = json.get_mut("additionalModelResponseFields") {
        key_order::keep(fields.take());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::document::json_to_document;
    use crate::wire::key_order::tests::map_order;

    #[test]
    fn a_shuffled_request_body_is_put_back_in_order() {
        let schema: Value = serde_json::from_str(
            r#"{"type":"object","properties":{"zeta":{"type":"string"},"alpha":{"type":"integer"},
               "mid":{"type":"boolean"}},"required":["zeta"]}"#,
        )
        .unwrap();
        let input: Value = serde_json::from_str(r#"{"q":1,"c":2,"x":{"k":1,"b":2}}"#).unwrap();
        let (s, i) = (
            json_to_document(schema.clone()),
            json_to_document(input.clone()),
        );
        // The body as the SDK writes it: maps in their own order.
        let sdk = serde_json::json!({
            "messages": [{"role": "assistant", "content": [
                {"toolUse": {"toolUseId": "t", "name": "f", "input": map_order(&i)}}]}],
            "toolConfig": {"tools": [{"toolSpec": {"name": "f",
                "inputSchema": {"json": map_order(&s)}}}]},
        });
        let out: Value =
            serde_json::from_slice(&in_order(&serde_json::to_vec(&sdk).unwrap(), false).unwrap())
                .unwrap();
        let text = serde_json::to_string(&out).unwrap();
        assert!(
            text.contains(&serde_json::to_string(&schema).unwrap()),
            "{text}"
        );
        assert!(
            text.contains(&serde_json::to_string(&input).unwrap()),
            "{text}"
        );
        // Nothing to put back: the body is left alone.
        assert!(in_order(
            br#"{"messages":[{"role":"user","content":[{"text":"hi"}]}]}"#,
            false
        )
        .is_none());
    }
}
