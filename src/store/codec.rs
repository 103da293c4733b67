//! Messages to and from the JSON a store keeps: the Converse wire shape (the one boto3's
//! dicts have), bytes as base64. Decoding refuses what it does not know, naming where: a
//! record is loaded whole or not at all.

use aws_sdk_bedrockruntime::types as t;
use aws_smithy_types::Blob;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde_json::{json, Map, Value};

use crate::wire::document::{document_to_json, json_to_document};

pub type Decoded<T> = Result<T, String>;

fn bytes(b: &Blob) -> Value {
    json!({ "bytes": B64.encode(b.as_ref()) })
}

fn s3(l: &t::S3Location) -> Value {
    let mut m = Map::new();
    m.insert("uri".into(), l.uri().into());
    if let Some(owner) = l.bucket_owner() {
        m.insert("bucketOwner".into(), owner.into());
    }
    json!({ "s3Location": m })
}

fn image(i: &t::ImageBlock) -> Result<Value, String> {
    let source = match i.source() {
        Some(t::ImageSource::Bytes(b)) => bytes(b),
        Some(t::ImageSource::S3Location(l)) => s3(l),
        _ => return Err("an image with a source this version cannot store".into()),
    };
    Ok(json!({ "format": i.format().as_str(), "source": source }))
}

fn document(d: &t::DocumentBlock) -> Result<Value, String> {
    let source = match d.source() {
        Some(t::DocumentSource::Bytes(b)) => bytes(b),
        Some(t::DocumentSource::Text(s)) => json!({ "text": s }),
        Some(t::DocumentSource::S3Location(l)) => s3(l),
        _ => return Err("a document with a source this version cannot store".into()),
    };
    let mut m = Map::new();
    m.insert("format".into(), d.format().as_str().into());
    m.insert("name".into(), d.name().into());
    m.insert("source".into(), source);
    if let Some(c) = d.context() {
        m.insert("context".into(), c.into());
    }
    if let Some(c) = d.citations() {
        m.insert("citations".into(), json!({ "enabled": c.enabled() }));
    }
    Ok(Value::Object(m))
}

fn video(v: &t::VideoBlock) -> Result<Value, String> {
    let source = match v.source() {
        Some(t::VideoSource::Bytes(b)) => bytes(b),
        Some(t::VideoSource::S3Location(l)) => s3(l),
        _ => return Err("a video with a source this version cannot store".into()),
    };
    Ok(json!({ "format": v.format().as_str(), "source": source }))
}

fn tool_result(r: &t::ToolResultBlock) -> Result<Value, String> {
    let content = r
        .content()
        .iter()
        .map(|c| {
            Ok(match c {
                t::ToolResultContentBlock::Text(s) => json!({ "text": s }),
                t::ToolResultContentBlock::Json(d) => json!({ "json": document_to_json(d) }),
                t::ToolResultContentBlock::Image(i) => json!({ "image": image(i)? }),
                t::ToolResultContentBlock::Document(d) => json!({ "document": document(d)? }),
                t::ToolResultContentBlock::Video(v) => json!({ "video": video(v)? }),
                _ => return Err("a tool result block this version cannot store".to_owned()),
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let mut m = Map::new();
    m.insert("toolUseId".into(), r.tool_use_id().into());
    m.insert("content".into(), content.into());
    if let Some(s) = r.status() {
        m.insert("status".into(), s.as_str().into());
    }
    Ok(Value::Object(m))
}

fn block(b: &t::ContentBlock) -> Result<Value, String> {
    Ok(match b {
        t::ContentBlock::Text(s) => json!({ "text": s }),
        t::ContentBlock::Image(i) => json!({ "image": image(i)? }),
        t::ContentBlock::Document(d) => json!({ "document": document(d)? }),
        t::ContentBlock::Video(v) => json!({ "video": video(v)? }),
        t::ContentBlock::ToolUse(u) => json!({ "toolUse": {
            "toolUseId": u.tool_use_id(), "name": u.name(), "input": document_to_json(u.input()),
        }}),
        t::ContentBlock::ToolResult(r) => json!({ "toolResult": tool_result(r)? }),
        t::ContentBlock::CachePoint(c) => {
            let mut m = Map::new();
            m.insert("type".into(), c.r#type().as_str().into());
            if let Some(ttl) = c.ttl() {
                m.insert("ttl".into(), ttl.as_str().into());
            }
            json!({ "cachePoint": m })
        }
        t::ContentBlock::ReasoningContent(t::ReasoningContentBlock::ReasoningText(r)) => {
            let mut m = Map::new();
            m.insert("text".into(), r.text().into());
            if let Some(s) = r.signature() {
                m.insert("signature".into(), s.into());
            }
            json!({ "reasoningContent": { "reasoningText": m } })
        }
        t::ContentBlock::ReasoningContent(t::ReasoningContentBlock::RedactedContent(b)) => {
            json!({ "reasoningContent": { "redactedContent": B64.encode(b.as_ref()) } })
        }
        t::ContentBlock::GuardContent(t::GuardrailConverseContentBlock::Text(g)) => {
            let q: Vec<&str> = g.qualifiers().iter().map(|q| q.as_str()).collect();
            json!({ "guardContent": { "text": { "text": g.text(), "qualifiers": q } } })
        }
        _ => return Err("a content block this version cannot store".into()),
    })
}

/// A message as the JSON a store keeps.
pub fn encode(m: &t::Message) -> Result<String, String> {
    let content = m
        .content()
        .iter()
        .map(block)
        .collect::<Result<Vec<_>, String>>()?;
    Ok(json!({ "role": m.role().as_str(), "content": content }).to_string())
}

// ---- decoding ----

fn obj<'a>(v: &'a Value, at: &str) -> Decoded<&'a Map<String, Value>> {
    v.as_object()
        .ok_or_else(|| format!("{at}: expected an object"))
}

fn string<'a>(m: &'a Map<String, Value>, key: &str, at: &str) -> Decoded<&'a str> {
    m.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{at}.{key}: expected a string"))
}

fn blob(s: &str, at: &str) -> Decoded<Blob> {
    B64.decode(s)
        .map(Blob::new)
        .map_err(|e| format!("{at}: invalid base64 ({e})"))
}

fn built<T, E: std::fmt::Display>(r: Result<T, E>, at: &str) -> Decoded<T> {
    r.map_err(|e| format!("{at}: {e}"))
}

fn only<'a>(m: &'a Map<String, Value>, at: &str) -> Decoded<(&'a str, &'a Value)> {
    match m.iter().next() {
        Some((k, v)) if m.len() == 1 => Ok((k.as_str(), v)),
        _ => Err(format!("{at}: expected exactly one member")),
    }
}

fn s3_in(v: &Value, at: &str) -> Decoded<t::S3Location> {
    let m = obj(v, at)?;
    built(
        t::S3Location::builder()
            .uri(string(m, "uri", at)?)
            .set_bucket_owner(m.get("bucketOwner").and_then(Value::as_str).map(Into::into))
            .build(),
        at,
    )
}

fn image_in(v: &Value, at: &str) -> Decoded<t::ImageBlock> {
    let m = obj(v, at)?;
    let at_s = format!("{at}.source");
    let source = match only(obj(m.get("source").unwrap_or(&Value::Null), &at_s)?, &at_s)? {
        ("bytes", Value::String(s)) => t::ImageSource::Bytes(blob(s, &at_s)?),
        ("s3Location", l) => t::ImageSource::S3Location(s3_in(l, &at_s)?),
        (k, _) => return Err(format!("{at_s}: unknown source {k:?}")),
    };
    built(
        t::ImageBlock::builder()
            .format(string(m, "format", at)?.into())
            .source(source)
            .build(),
        at,
    )
}

fn document_in(v: &Value, at: &str) -> Decoded<t::DocumentBlock> {
    let m = obj(v, at)?;
    let at_s = format!("{at}.source");
    let source = match only(obj(m.get("source").unwrap_or(&Value::Null), &at_s)?, &at_s)? {
        ("bytes", Value::String(s)) => t::DocumentSource::Bytes(blob(s, &at_s)?),
        ("text", Value::String(s)) => t::DocumentSource::Text(s.clone()),
        ("s3Location", l) => t::DocumentSource::S3Location(s3_in(l, &at_s)?),
        (k, _) => return Err(format!("{at_s}: unknown source {k:?}")),
    };
    built(
        t::DocumentBlock::builder()
            .format(string(m, "format", at)?.into())
            .name(string(m, "name", at)?)
            .source(source)
            .set_context(m.get("context").and_then(Value::as_str).map(Into::into))
            .set_citations(
                m.get("citations")
                    .and_then(|c| c.get("enabled"))
                    .and_then(Value::as_bool)
                    .map(|enabled| t::CitationsConfig::builder().enabled(enabled).build())
                    .transpose()
                    .map_err(|e| format!("{at}.citations: {e}"))?,
            )
            .build(),
        at,
    )
}

fn video_in(v: &Value, at: &str) -> Decoded<t::VideoBlock> {
    let m = obj(v, at)?;
    let at_s = format!("{at}.source");
    let source = match only(obj(m.get("source").unwrap_or(&Value::Null), &at_s)?, &at_s)? {
        ("bytes", Value::String(s)) => t::VideoSource::Bytes(blob(s, &at_s)?),
        ("s3Location", l) => t::VideoSource::S3Location(s3_in(l, &at_s)?),
        (k, _) => return Err(format!("{at_s}: unknown source {k:?}")),
    };
    built(
        t::VideoBlock::builder()
            .format(string(m, "format", at)?.into())
            .source(source)
            .build(),
        at,
    )
}

fn tool_result_in(v: &Value, at: &str) -> Decoded<t::ToolResultBlock> {
    let m = obj(v, at)?;
    let mut b = t::ToolResultBlock::builder().tool_use_id(string(m, "toolUseId", at)?);
    let content = m
        .get("content")
        .and_then(Value::as_array)
        .ok_or_else(|| format!("{at}.content: expected a list"))?;
    for (i, c) in content.iter().enumerate() {
        let at_c = format!("{at}.content[{i}]");
        b = b.content(match only(obj(c, &at_c)?, &at_c)? {
            ("text", Value::String(s)) => t::ToolResultContentBlock::Text(s.clone()),
            ("json", j) => t::ToolResultContentBlock::Json(json_to_document(j.clone())),
            ("image", i) => t::ToolResultContentBlock::Image(image_in(i, &at_c)?),
            ("document", d) => t::ToolResultContentBlock::Document(document_in(d, &at_c)?),
            ("video", v) => t::ToolResultContentBlock::Video(video_in(v, &at_c)?),
            (k, _) => return Err(format!("{at_c}: unknown block {k:?}")),
        });
    }
    if let Some(s) = m.get("status").and_then(Value::as_str) {
        b = b.status(s.into());
    }
    built(b.build(), at)
}

fn block_in(v: &Value, at: &str) -> Decoded<t::ContentBlock> {
    let m = obj(v, at)?;
    Ok(match only(m, at)? {
        ("text", Value::String(s)) => t::ContentBlock::Text(s.clone()),
        ("image", i) => t::ContentBlock::Image(image_in(i, at)?),
        ("document", d) => t::ContentBlock::Document(document_in(d, at)?),
        ("video", v) => t::ContentBlock::Video(video_in(v, at)?),
        ("toolUse", u) => {
            let u = obj(u, at)?;
            t::ContentBlock::ToolUse(built(
                t::ToolUseBlock::builder()
                    .tool_use_id(string(u, "toolUseId", at)?)
                    .name(string(u, "name", at)?)
                    .input(json_to_document(
                        u.get("input").cloned().unwrap_or(Value::Null),
                    ))
                    .build(),
                at,
            )?)
        }
        ("toolResult", r) => t::ContentBlock::ToolResult(tool_result_in(r, at)?),
        ("cachePoint", c) => {
            let c = obj(c, at)?;
            t::ContentBlock::CachePoint(built(
                t::CachePointBlock::builder()
                    .r#type(string(c, "type", at)?.into())
                    .set_ttl(c.get("ttl").and_then(Value::as_str).map(Into::into))
                    .build(),
                at,
            )?)
        }
        ("reasoningContent", r) => {
            t::ContentBlock::ReasoningContent(match only(obj(r, at)?, at)? {
                ("reasoningText", rt) => {
                    let rt = obj(rt, at)?;
                    t::ReasoningContentBlock::ReasoningText(built(
                        t::ReasoningTextBlock::builder()
                            .text(string(rt, "text", at)?)
                            .set_signature(
                                rt.get("signature").and_then(Value::as_str).map(Into::into),
                            )
                            .build(),
                        at,
                    )?)
                }
                ("redactedContent", Value::String(s)) => {
                    t::ReasoningContentBlock::RedactedContent(blob(s, at)?)
                }
                (k, _) => return Err(format!("{at}.reasoningContent: unknown member {k:?}")),
            })
        }
        ("guardContent", g) => {
            let text = obj(obj(g, at)?.get("text").unwrap_or(&Value::Null), at)?;
            let mut b = t::GuardrailConverseTextBlock::builder().text(string(text, "text", at)?);
            for q in text
                .get("qualifiers")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                b = b.qualifiers(q.as_str().unwrap_or_default().into());
            }
            t::ContentBlock::GuardContent(t::GuardrailConverseContentBlock::Text(built(
                b.build(),
                at,
            )?))
        }
        (k, _) => return Err(format!("{at}: unknown content block {k:?}")),
    })
}

/// A stored message, checked whole.
pub fn decode(text: &str, at: &str) -> Decoded<t::Message> {
    let v: Value = serde_json::from_str(text).map_err(|e| format!("{at}: not JSON ({e})"))?;
    let m = obj(&v, at)?;
    let role = match string(m, "role", at)? {
        "user" => t::ConversationRole::User,
        "assistant" => t::ConversationRole::Assistant,
        other => {
            return Err(format!(
                "{at}.role: expected 'user' or 'assistant', got {other:?}"
            ))
        }
    };
    let content = m
        .get("content")
        .and_then(Value::as_array)
        .ok_or_else(|| format!("{at}.content: expected a list"))?
        .iter()
        .enumerate()
        .map(|(i, b)| block_in(b, &format!("{at}.content[{i}]")))
        .collect::<Decoded<Vec<_>>>()?;
    built(
        t::Message::builder()
            .role(role)
            .set_content(Some(content))
            .build(),
        at,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_block_kind_round_trips() {
        let text = r#"{"role":"user","content":[{"text":"hi"},
            {"image":{"format":"png","source":{"bytes":"AAEC"}}},
            {"document":{"format":"txt","name":"d","source":{"text":"body"},"context":"c"}},
            {"video":{"format":"mp4","source":{"s3Location":{"uri":"s3://b/k","bucketOwner":"1"}}}},
            {"toolUse":{"toolUseId":"t1","name":"f","input":{"a":[1,2.5,null,true]}}},
            {"toolResult":{"toolUseId":"t1","content":[{"text":"x"},{"json":{"k":"v"}}],"status":"error"}},
            {"cachePoint":{"type":"default"}},
            {"reasoningContent":{"reasoningText":{"text":"why","signature":"s"}}},
            {"reasoningContent":{"redactedContent":"AAE="}},
            {"guardContent":{"text":{"text":"g","qualifiers":["query"]}}}]}"#;
        let m = decode(text, "m").unwrap();
        let again = decode(&encode(&m).unwrap(), "m").unwrap();
        assert_eq!(m, again);
        assert_eq!(m.content().len(), 10);
    }

    #[test]
    fn a_foreign_record_is_refused_with_where() {
        let e = decode(
            r#"{"role":"user","content":[{"sticker":{}}]}"#,
            "messages[3]",
        )
        .unwrap_err();
        assert!(
            e.contains("messages[3].content[0]") && e.contains("sticker"),
            "{e}"
        );
        let e = decode(r#"{"role":"system","content":[]}"#, "m").unwrap_err();
        assert!(e.contains("m.role"), "{e}");
        assert!(decode("not json", "m").unwrap_err().contains("not JSON"));
    }
}
