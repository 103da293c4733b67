//! SDK messages and content blocks -> the Converse wire shape, written once for every sink:
//! boto3's dicts (replies, history, events) and the JSON a store keeps. A new content block
//! is added here and in `content_in`, nowhere else.

use aws_sdk_bedrockruntime::types as t;

use super::sink::{key, Sink};

type Out<S> = Result<<S as Sink>::Map, <S as Sink>::Err>;

fn s3<S: Sink>(s: &S, loc: &t::S3Location) -> Out<S> {
    let mut d = s.map();
    s.put_text(&mut d, key!("uri"), loc.uri())?;
    if let Some(owner) = loc.bucket_owner() {
        s.put_text(&mut d, key!("bucketOwner"), owner)?;
    }
    Ok(d)
}

enum Source<'a> {
    Bytes(&'a [u8]),
    S3(&'a t::S3Location),
    Text(&'a str),
    Content(&'a [t::DocumentContentBlock]),
    Unknown,
}

fn source<S: Sink>(s: &S, src: Source<'_>, what: &str) -> Out<S> {
    match src {
        Source::Bytes(b) => s.map1(key!("bytes"), s.blob(b)),
        Source::S3(l) => s.wrap(key!("s3Location"), s3(s, l)?),
        Source::Text(text) => s.map1(key!("text"), s.text(text)?),
        Source::Content(parts) => {
            let parts = parts
                .iter()
                .map(|p| match p {
                    t::DocumentContentBlock::Text(text) => s.map1(key!("text"), s.text(text)?),
                    _ => s.unknown("a document content block"),
                })
                .map(|m| m.map(|m| s.done(m)))
                .collect::<Result<Vec<_>, _>>()?;
            s.map1(key!("content"), s.list(parts)?)
        }
        Source::Unknown => s.unknown(what),
    }
}

/// An image, video or audio clip: its format and source.
fn media<S: Sink>(s: &S, format: &str, src: Source<'_>, what: &str) -> Out<S> {
    let mut d = s.map();
    s.put_text(&mut d, key!("format"), format)?;
    s.put_map(&mut d, key!("source"), source(s, src, what)?)?;
    Ok(d)
}

fn image<S: Sink>(s: &S, img: &t::ImageBlock) -> Out<S> {
    let src = match img.source() {
        Some(t::ImageSource::Bytes(b)) => Source::Bytes(b.as_ref()),
        Some(t::ImageSource::S3Location(l)) => Source::S3(l),
        _ => Source::Unknown,
    };
    media(s, img.format().as_str(), src, "an image source")
}

fn video<S: Sink>(s: &S, v: &t::VideoBlock) -> Out<S> {
    let src = match v.source() {
        Some(t::VideoSource::Bytes(b)) => Source::Bytes(b.as_ref()),
        Some(t::VideoSource::S3Location(l)) => Source::S3(l),
        _ => Source::Unknown,
    };
    media(s, v.format().as_str(), src, "a video source")
}

fn audio<S: Sink>(s: &S, a: &t::AudioBlock) -> Out<S> {
    let src = match a.source() {
        Some(t::AudioSource::Bytes(b)) => Source::Bytes(b.as_ref()),
        Some(t::AudioSource::S3Location(l)) => Source::S3(l),
        _ => Source::Unknown,
    };
    media(s, a.format().as_str(), src, "an audio source")
}

fn document<S: Sink>(s: &S, doc: &t::DocumentBlock) -> Out<S> {
    let mut d = s.map();
    s.put_text(&mut d, key!("format"), doc.format().as_str())?;
    s.put_text(&mut d, key!("name"), doc.name())?;
    let src = match doc.source() {
        Some(t::DocumentSource::Bytes(b)) => Source::Bytes(b.as_ref()),
        Some(t::DocumentSource::Text(text)) => Source::Text(text),
        Some(t::DocumentSource::Content(parts)) => Source::Content(parts),
        Some(t::DocumentSource::S3Location(l)) => Source::S3(l),
        _ => Source::Unknown,
    };
    s.put_map(&mut d, key!("source"), source(s, src, "a document source")?)?;
    if let Some(context) = doc.context() {
        s.put_text(&mut d, key!("context"), context)?;
    }
    put_citations_config(s, &mut d, doc.citations())?;
    Ok(d)
}

fn put_citations_config<S: Sink>(
    s: &S,
    d: &mut S::Map,
    config: Option<&t::CitationsConfig>,
) -> Result<(), S::Err> {
    if let Some(config) = config {
        let enabled = s.map1(key!("enabled"), s.boolean(config.enabled()))?;
        s.put_map(d, key!("citations"), enabled)?;
    }
    Ok(())
}

/// `[{"text": ...}, ...]`.
fn text_list<'a, S: Sink>(
    s: &S,
    texts: impl Iterator<Item = Option<&'a str>>,
    what: &str,
) -> Result<S::Out, S::Err> {
    let items = texts
        .map(|t| match t {
            Some(text) => s.map1(key!("text"), s.text(text)?),
            None => s.unknown(what),
        })
        .map(|m| m.map(|m| s.done(m)))
        .collect::<Result<Vec<_>, _>>()?;
    s.list(items)
}

fn search_result<S: Sink>(s: &S, r: &t::SearchResultBlock) -> Out<S> {
    let mut d = s.map();
    s.put_text(&mut d, key!("source"), r.source())?;
    s.put_text(&mut d, key!("title"), r.title())?;
    let content = text_list(s, r.content().iter().map(|c| Some(c.text())), "")?;
    s.put(&mut d, key!("content"), content)?;
    put_citations_config(s, &mut d, r.citations())?;
    Ok(d)
}

fn citations_content<S: Sink>(s: &S, c: &t::CitationsContentBlock) -> Out<S> {
    let mut d = s.map();
    if let Some(content) = &c.content {
        let generated = content.iter().map(|g| match g {
            t::CitationGeneratedContent::Text(text) => Some(text.as_str()),
            _ => None,
        });
        let list = text_list(s, generated, "generated content")?;
        s.put(&mut d, key!("content"), list)?;
    }
    if let Some(citations) = &c.citations {
        let list = citations
            .iter()
            .map(|one| citation(s, one).map(|m| s.done(m)))
            .collect::<Result<Vec<_>, _>>()?;
        let list = s.list(list)?;
        s.put(&mut d, key!("citations"), list)?;
    }
    Ok(d)
}

/// One citation: `{"title", "source", "sourceContent": [{"text"}], "location": {...}}`;
/// a stream's `citation` delta has the same shape (`citation_delta`).
pub fn citation<S: Sink>(s: &S, c: &t::Citation) -> Out<S> {
    let quoted = c.source_content.as_ref().map(|v| {
        v.iter().map(|q| match q {
            t::CitationSourceContent::Text(text) => Some(text.as_str()),
            _ => None,
        })
    });
    citation_parts(s, c.title(), c.source(), quoted, c.location())
}

pub fn citation_delta<S: Sink>(s: &S, c: &t::CitationsDelta) -> Out<S> {
    let quoted = c
        .source_content
        .as_ref()
        .map(|v| v.iter().map(|q| Some(q.text().unwrap_or_default())));
    citation_parts(s, c.title(), c.source(), quoted, c.location())
}

fn citation_parts<'a, S: Sink>(
    s: &S,
    title: Option<&str>,
    source: Option<&str>,
    quoted: Option<impl Iterator<Item = Option<&'a str>>>,
    location: Option<&t::CitationLocation>,
) -> Out<S> {
    let mut d = s.map();
    if let Some(title) = title {
        s.put_text(&mut d, key!("title"), title)?;
    }
    if let Some(source) = source {
        s.put_text(&mut d, key!("source"), source)?;
    }
    if let Some(quoted) = quoted {
        let list = text_list(s, quoted, "source content")?;
        s.put(&mut d, key!("sourceContent"), list)?;
    }
    if let Some(location) = location {
        s.put_map(&mut d, key!("location"), citation_location(s, location)?)?;
    }
    Ok(d)
}

fn citation_location<S: Sink>(s: &S, l: &t::CitationLocation) -> Out<S> {
    let span = |index_key, index: Option<i32>, start: Option<i32>, end: Option<i32>| {
        let mut d = s.map();
        for (k, v) in [
            (index_key, index),
            (key!("start"), start),
            (key!("end"), end),
        ] {
            if let Some(v) = v {
                s.put(&mut d, k, s.int(v.into()))?;
            }
        }
        Ok(d)
    };
    match l {
        t::CitationLocation::Web(w) => {
            let mut d = s.map();
            if let Some(url) = w.url() {
                s.put_text(&mut d, key!("url"), url)?;
            }
            if let Some(domain) = w.domain() {
                s.put_text(&mut d, key!("domain"), domain)?;
            }
            s.wrap(key!("web"), d)
        }
        t::CitationLocation::DocumentChar(c) => s.wrap(
            key!("documentChar"),
            span(
                key!("documentIndex"),
                c.document_index(),
                c.start(),
                c.end(),
            )?,
        ),
        t::CitationLocation::DocumentPage(c) => s.wrap(
            key!("documentPage"),
            span(
                key!("documentIndex"),
                c.document_index(),
                c.start(),
                c.end(),
            )?,
        ),
        t::CitationLocation::DocumentChunk(c) => s.wrap(
            key!("documentChunk"),
            span(
                key!("documentIndex"),
                c.document_index(),
                c.start(),
                c.end(),
            )?,
        ),
        t::CitationLocation::SearchResultLocation(c) => s.wrap(
            key!("searchResultLocation"),
            span(
                key!("searchResultIndex"),
                c.search_result_index(),
                c.start(),
                c.end(),
            )?,
        ),
        _ => s.unknown("a citation location"),
    }
}

fn tool_result<S: Sink>(s: &S, r: &t::ToolResultBlock) -> Out<S> {
    let mut content = Vec::with_capacity(r.content().len());
    for c in r.content() {
        let item = match c {
            t::ToolResultContentBlock::Text(text) => s.map1(key!("text"), s.text(text)?)?,
            t::ToolResultContentBlock::Json(j) => s.map1(key!("json"), s.document(j)?)?,
            t::ToolResultContentBlock::Image(i) => s.wrap(key!("image"), image(s, i)?)?,
            t::ToolResultContentBlock::Document(d) => s.wrap(key!("document"), document(s, d)?)?,
            t::ToolResultContentBlock::Video(v) => s.wrap(key!("video"), video(s, v)?)?,
            t::ToolResultContentBlock::SearchResult(r) => {
                s.wrap(key!("searchResult"), search_result(s, r)?)?
            }
            _ => s.unknown("a tool result block")?,
        };
        content.push(s.done(item));
    }
    let mut d = s.map();
    s.put_text(&mut d, key!("toolUseId"), r.tool_use_id())?;
    let content = s.list(content)?;
    s.put(&mut d, key!("content"), content)?;
    if let Some(status) = r.status() {
        s.put_text(&mut d, key!("status"), status.as_str())?;
    }
    if let Some(kind) = r.r#type() {
        s.put_text(&mut d, key!("type"), kind)?;
    }
    Ok(d)
}

fn reasoning<S: Sink>(s: &S, r: &t::ReasoningContentBlock) -> Out<S> {
    match r {
        t::ReasoningContentBlock::ReasoningText(rt) => {
            let mut d = s.map();
            s.put_text(&mut d, key!("text"), rt.text())?;
            if let Some(sig) = rt.signature() {
                s.put_text(&mut d, key!("signature"), sig)?;
            }
            s.wrap(key!("reasoningText"), d)
        }
        t::ReasoningContentBlock::RedactedContent(b) => {
            s.map1(key!("redactedContent"), s.blob(b.as_ref()))
        }
        _ => s.unknown("a reasoning block"),
    }
}

/// A guardrail's text block: `{"text": {"text": ..., "qualifiers": [...]}}`.
fn guard_text<S: Sink>(s: &S, g: &t::GuardrailConverseTextBlock) -> Out<S> {
    let mut d = s.map();
    s.put_text(&mut d, key!("text"), g.text())?;
    if !g.qualifiers().is_empty() {
        let q = g
            .qualifiers()
            .iter()
            .map(|q| s.text(q.as_str()))
            .collect::<Result<Vec<_>, _>>()?;
        let q = s.list(q)?;
        s.put(&mut d, key!("qualifiers"), q)?;
    }
    s.wrap(key!("text"), d)
}

pub fn cache_point<S: Sink>(s: &S, c: &t::CachePointBlock) -> Out<S> {
    let mut d = s.map();
    s.put_text(&mut d, key!("type"), c.r#type().as_str())?;
    if let Some(ttl) = c.ttl() {
        s.put_text(&mut d, key!("ttl"), ttl.as_str())?;
    }
    Ok(d)
}

/// A system block: text, a guardrail's block or a cache point.
pub fn system_block<S: Sink>(s: &S, block: &t::SystemContentBlock) -> Out<S> {
    match block {
        t::SystemContentBlock::Text(text) => s.map1(key!("text"), s.text(text)?),
        t::SystemContentBlock::GuardContent(t::GuardrailConverseContentBlock::Text(g)) => {
            s.wrap(key!("guardContent"), guard_text(s, g)?)
        }
        t::SystemContentBlock::CachePoint(c) => s.wrap(key!("cachePoint"), cache_point(s, c)?),
        _ => s.unknown("a system block"),
    }
}

/// One content block of a message.
pub fn content_block<S: Sink>(s: &S, block: &t::ContentBlock) -> Out<S> {
    match block {
        t::ContentBlock::Text(text) => s.map1(key!("text"), s.text(text)?),
        t::ContentBlock::ToolUse(u) => s.wrap(key!("toolUse"), tool_use(s, u)?),
        t::ContentBlock::ToolResult(r) => s.wrap(key!("toolResult"), tool_result(s, r)?),
        t::ContentBlock::ReasoningContent(r) => s.wrap(key!("reasoningContent"), reasoning(s, r)?),
        t::ContentBlock::Image(i) => s.wrap(key!("image"), image(s, i)?),
        t::ContentBlock::Document(d) => s.wrap(key!("document"), document(s, d)?),
        t::ContentBlock::Video(v) => s.wrap(key!("video"), video(s, v)?),
        t::ContentBlock::Audio(a) => s.wrap(key!("audio"), audio(s, a)?),
        t::ContentBlock::CachePoint(c) => s.wrap(key!("cachePoint"), cache_point(s, c)?),
        t::ContentBlock::CitationsContent(c) => {
            s.wrap(key!("citationsContent"), citations_content(s, c)?)
        }
        t::ContentBlock::SearchResult(r) => s.wrap(key!("searchResult"), search_result(s, r)?),
        t::ContentBlock::GuardContent(t::GuardrailConverseContentBlock::Text(g)) => {
            s.wrap(key!("guardContent"), guard_text(s, g)?)
        }
        _ => s.unknown("a content block"),
    }
}

/// A tool call's body: `{"toolUseId", "name", "input"}`, and `"type": "server_tool_use"`
/// for a system tool's call (which must go back to the service with it).
pub fn tool_use<S: Sink>(s: &S, u: &t::ToolUseBlock) -> Out<S> {
    let mut d = s.map();
    s.put_text(&mut d, key!("toolUseId"), u.tool_use_id())?;
    s.put_text(&mut d, key!("name"), u.name())?;
    let input = s.document(u.input())?;
    s.put(&mut d, key!("input"), input)?;
    if let Some(kind) = u.r#type() {
        s.put_text(&mut d, key!("type"), kind.as_str())?;
    }
    Ok(d)
}

pub fn message<S: Sink>(s: &S, m: &t::Message) -> Out<S> {
    let content = m
        .content()
        .iter()
        .map(|b| content_block(s, b).map(|d| s.done(d)))
        .collect::<Result<Vec<_>, _>>()?;
    let mut d = s.map();
    s.put_text(&mut d, key!("role"), m.role().as_str())?;
    let content = s.list(content)?;
    s.put(&mut d, key!("content"), content)?;
    Ok(d)
}
