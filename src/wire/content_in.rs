//! The Converse wire shape -> SDK messages and content blocks, written once for every
//! source: boto3-shaped Python arguments and the JSON a store keeps. Errors name the
//! argument (`messages[0].content[1].image.format`). A new content block is added here and in
//! `content_out`, nowhere else.

use aws_sdk_bedrockruntime::types as t;
use aws_smithy_types::Blob;

use super::reader::{built, items, text, Node, Read, Reader, WireError};

// (the blocks of citations: search results and cited answers, in a child module of their own)
#[path = "content_in_cited.rs"]
mod cited;
use cited::{citations_content, search_result};

pub fn message<N: Node>(obj: &N, path: &str) -> Read<t::Message> {
    let m = Reader::new(obj, path)?;
    m.only(&["role", "content"])?;
    let role = match m.req_str("role")?.as_str() {
        "user" => t::ConversationRole::User,
        "assistant" => t::ConversationRole::Assistant,
        other => {
            return Err(WireError::value(
                &m.at("role"),
                format!("expected 'user' or 'assistant', got {other:?}"),
            ))
        }
    };
    let content = items(&m.req("content")?, &m.at("content"))?
        .iter()
        .enumerate()
        .map(|(i, b)| content_block(b, &format!("{path}.content[{i}]")))
        .collect::<Read<Vec<_>>>()?;
    built(
        t::Message::builder()
            .role(role)
            .set_content(Some(content))
            .build(),
        path,
    )
}

const CONTENT_MEMBERS: &[&str] = &[
    "text",
    "image",
    "document",
    "video",
    "audio",
    "toolUse",
    "toolResult",
    "guardContent",
    "cachePoint",
    "reasoningContent",
    "citationsContent",
    "searchResult",
];

pub fn content_block<N: Node>(obj: &N, path: &str) -> Read<t::ContentBlock> {
    let b = Reader::new(obj, path)?;
    let (key, value) = b.union(CONTENT_MEMBERS)?;
    let at = b.at(&key);
    Ok(match key.as_str() {
        "text" => t::ContentBlock::Text(text(&value, &at)?),
        "image" => t::ContentBlock::Image(image(&Reader::new(&value, at)?)?),
        "document" => t::ContentBlock::Document(document(&Reader::new(&value, at)?)?),
        "video" => t::ContentBlock::Video(video(&Reader::new(&value, at)?)?),
        "audio" => t::ContentBlock::Audio(audio(&Reader::new(&value, at)?)?),
        "toolUse" => {
            let u = Reader::new(&value, at)?;
            u.only(&["toolUseId", "name", "input", "type"])?;
            t::ContentBlock::ToolUse(built(
                t::ToolUseBlock::builder()
                    .tool_use_id(u.req_str("toolUseId")?)
                    .name(u.req_str("name")?)
                    // (a null input is a document too: the service may send one)
                    .input(u.present("input")?.to_document(&u.at("input"))?)
                    // (`server_tool_use`: a system tool's call, which the service ran)
                    .set_type(u.str("type")?.map(|s| t::ToolUseType::from(s.as_str())))
                    .build(),
                &u.path,
            )?)
        }
        "toolResult" => t::ContentBlock::ToolResult(tool_result(&Reader::new(&value, at)?)?),
        "guardContent" => t::ContentBlock::GuardContent(guard_content(&Reader::new(&value, at)?)?),
        "cachePoint" => t::ContentBlock::CachePoint(cache_point(&Reader::new(&value, at)?)?),
        "citationsContent" => {
            t::ContentBlock::CitationsContent(citations_content(&Reader::new(&value, at)?)?)
        }
        "searchResult" => t::ContentBlock::SearchResult(search_result(&Reader::new(&value, at)?)?),
        "reasoningContent" => {
            let r = Reader::new(&value, at)?;
            let (kind, inner) = r.union(&["reasoningText", "redactedContent"])?;
            t::ContentBlock::ReasoningContent(if kind == "reasoningText" {
                let rt = Reader::new(&inner, r.at("reasoningText"))?;
                rt.only(&["text", "signature"])?;
                t::ReasoningContentBlock::ReasoningText(built(
                    t::ReasoningTextBlock::builder()
                        .text(rt.req_str("text")?)
                        .set_signature(rt.str("signature")?)
                        .build(),
                    &rt.path,
                )?)
            } else {
                t::ReasoningContentBlock::RedactedContent(Blob::new(r.bytes("redactedContent")?))
            })
        }
        _ => unreachable!("union() checked the members"),
    })
}

fn s3_location<N: Node>(o: &Reader<N>) -> Read<t::S3Location> {
    o.only(&["uri", "bucketOwner"])?;
    built(
        t::S3Location::builder()
            .uri(o.req_str("uri")?)
            .set_bucket_owner(o.str("bucketOwner")?)
            .build(),
        &o.path,
    )
}

/// The `format` and `source` of an image, video or audio block.
enum Media {
    Bytes(Blob),
    S3(t::S3Location),
}

fn media<N: Node>(o: &Reader<N>) -> Read<(String, Media)> {
    o.only(&["format", "source"])?;
    let source = o.req_obj("source")?;
    let (kind, _) = source.union(&["bytes", "s3Location"])?;
    let media = if kind == "bytes" {
        Media::Bytes(Blob::new(source.bytes("bytes")?))
    } else {
        Media::S3(s3_location(&source.req_obj("s3Location")?)?)
    };
    Ok((o.req_str("format")?, media))
}

fn image<N: Node>(o: &Reader<N>) -> Read<t::ImageBlock> {
    let (format, media) = media(o)?;
    let source = match media {
        Media::Bytes(b) => t::ImageSource::Bytes(b),
        Media::S3(l) => t::ImageSource::S3Location(l),
    };
    built(
        t::ImageBlock::builder()
            .format(t::ImageFormat::from(format.as_str()))
            .source(source)
            .build(),
        &o.path,
    )
}

fn document<N: Node>(o: &Reader<N>) -> Read<t::DocumentBlock> {
    o.only(&["format", "name", "source", "context", "citations"])?;
    let source = o.req_obj("source")?;
    let (kind, value) = source.union(&["bytes", "s3Location", "text", "content"])?;
    let src = match kind.as_str() {
        "bytes" => t::DocumentSource::Bytes(Blob::new(source.bytes("bytes")?)),
        "text" => t::DocumentSource::Text(text(&value, &source.at("text"))?),
        "content" => t::DocumentSource::Content(
            texts(&source, "content")?
                .into_iter()
                .map(t::DocumentContentBlock::Text)
                .collect(),
        ),
        _ => t::DocumentSource::S3Location(s3_location(&source.req_obj("s3Location")?)?),
    };
    built(
        t::DocumentBlock::builder()
            .set_format(
                o.str("format")?
                    .map(|f| t::DocumentFormat::from(f.as_str())),
            )
            .name(o.req_str("name")?)
            .source(src)
            .set_context(o.str("context")?)
            .set_citations(citations_config(o)?)
            .build(),
        &o.path,
    )
}

/// `citations: {enabled}` of a document or a search result.
fn citations_config<N: Node>(o: &Reader<N>) -> Read<Option<t::CitationsConfig>> {
    let Some(c) = o.obj("citations")? else {
        return Ok(None);
    };
    c.only(&["enabled"])?;
    let enabled = c.bool("enabled")?.unwrap_or(false);
    built(
        t::CitationsConfig::builder().enabled(enabled).build(),
        &c.path,
    )
    .map(Some)
}

/// The texts of a list of `{"text": ...}` unions at `key` (a document's `content`, a
/// citation's `sourceContent`, a citations block's `content`); None when absent.
fn texts_at<N: Node>(o: &Reader<N>, key: &str) -> Read<Option<Vec<String>>> {
    let Some(list) = o.list(key)? else {
        return Ok(None);
    };
    list.iter()
        .enumerate()
        .map(|(i, item)| {
            let c = Reader::new(item, format!("{}[{i}]", o.at(key)))?;
            let (_, v) = c.union(&["text"])?;
            text(&v, &c.at("text"))
        })
        .collect::<Read<Vec<_>>>()
        .map(Some)
}

fn texts<N: Node>(o: &Reader<N>, key: &str) -> Read<Vec<String>> {
    texts_at(o, key)?.ok_or_else(|| WireError::value(&o.at(key), "is required"))
}

fn video<N: Node>(o: &Reader<N>) -> Read<t::VideoBlock> {
    let (format, media) = media(o)?;
    let source = match media {
        Media::Bytes(b) => t::VideoSource::Bytes(b),
        Media::S3(l) => t::VideoSource::S3Location(l),
    };
    built(
        t::VideoBlock::builder()
            .format(t::VideoFormat::from(format.as_str()))
            .source(source)
            .build(),
        &o.path,
    )
}

// Note: no `audio` in tool results: botocore's ToolResultContentBlock has no such member,
// so `union()` refuses it there, naming the path, before any request.
fn audio<N: Node>(o: &Reader<N>) -> Read<t::AudioBlock> {
    let (format, media) = media(o)?;
    let source = match media {
        Media::Bytes(b) => t::AudioSource::Bytes(b),
        Media::S3(l) => t::AudioSource::S3Location(l),
    };
    built(
        t::AudioBlock::builder()
            .format(t::AudioFormat::from(format.as_str()))
            .source(source)
            .build(),
        &o.path,
    )
}

fn tool_result<N: Node>(o: &Reader<N>) -> Read<t::ToolResultBlock> {
    o.only(&["toolUseId", "content", "status", "type"])?;
    let content = items(&o.req("content")?, &o.at("content"))?
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let c = Reader::new(item, format!("{}.content[{i}]", o.path))?;
            let (kind, value) =
                c.union(&["text", "json", "image", "document", "video", "searchResult"])?;
            let at = c.at(&kind);
            Ok(match kind.as_str() {
                "text" => t::ToolResultContentBlock::Text(text(&value, &at)?),
                "json" => t::ToolResultContentBlock::Json(value.to_document(&at)?),
                "image" => t::ToolResultContentBlock::Image(image(&Reader::new(&value, at)?)?),
                "document" => {
                    t::ToolResultContentBlock::Document(document(&Reader::new(&value, at)?)?)
                }
                "searchResult" => t::ToolResultContentBlock::SearchResult(search_result(
                    &Reader::new(&value, at)?,
                )?),
                _ => t::ToolResultContentBlock::Video(video(&Reader::new(&value, at)?)?),
            })
        })
        .collect::<Read<Vec<_>>>()?;
    built(
        t::ToolResultBlock::builder()
            .tool_use_id(o.req_str("toolUseId")?)
            .set_content(Some(content))
            .set_status(
                o.str("status")?
                    .map(|s| t::ToolResultStatus::from(s.as_str())),
            )
            // (a system tool's result names its kind, e.g. `nova_code_interpreter_result`)
            .set_type(o.str("type")?)
            .build(),
        &o.path,
    )
}

fn guard_content<N: Node>(o: &Reader<N>) -> Read<t::GuardrailConverseContentBlock> {
    let (kind, value) = o.union(&["text"])?;
    let g = Reader::new(&value, o.at(&kind))?;
    g.only(&["text", "qualifiers"])?;
    let qualifiers = g
        .list("qualifiers")?
        .map(|q| {
            q.iter()
                .map(|v| {
                    text(v, &g.at("qualifiers"))
                        .map(|s| t::GuardrailConverseContentQualifier::from(s.as_str()))
                })
                .collect::<Read<Vec<_>>>()
        })
        .transpose()?;
    Ok(t::GuardrailConverseContentBlock::Text(built(
        t::GuardrailConverseTextBlock::builder()
            .text(g.req_str("text")?)
            .set_qualifiers(qualifiers)
            .build(),
        &g.path,
    )?))
}

pub fn cache_point<N: Node>(o: &Reader<N>) -> Read<t::CachePointBlock> {
    o.only(&["type", "ttl"])?;
    built(
        t::CachePointBlock::builder()
            .r#type(t::CachePointType::from(
                o.str("type")?.as_deref().unwrap_or("default"),
            ))
            .set_ttl(o.str("ttl")?.map(|s| t::CacheTtl::from(s.as_str())))
            .build(),
        &o.path,
    )
}

pub fn system_block<N: Node>(obj: &N, path: &str) -> Read<t::SystemContentBlock> {
    let b = Reader::new(obj, path)?;
    let (key, value) = b.union(&["text", "guardContent", "cachePoint"])?;
    let at = b.at(&key);
    Ok(match key.as_str() {
        "text" => t::SystemContentBlock::Text(text(&value, &at)?),
        "guardContent" => {
            t::SystemContentBlock::GuardContent(guard_content(&Reader::new(&value, at)?)?)
        }
        _ => t::SystemContentBlock::CachePoint(cache_point(&Reader::new(&value, at)?)?),
    })
}
