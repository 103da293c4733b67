//! `content_in`'s readers of the blocks citations are made of: search results given to the
//! model and the cited answers it gives back (`citationsContent`), with their citations and
//! locations.

use aws_sdk_bedrockruntime::types as t;

use super::{citations_config, texts, texts_at};
use crate::wire::reader::{built, Node, Read, Reader, WireError};

/// A search result given to the model (in a message or a tool result).
pub(super) fn search_result<N: Node>(o: &Reader<N>) -> Read<t::SearchResultBlock> {
    o.only(&["source", "title", "content", "citations"])?;
    let content = texts(o, "content")?
        .into_iter()
        .map(|s| {
            built(
                t::SearchResultContentBlock::builder().text(s).build(),
                &o.path,
            )
        })
        .collect::<Read<Vec<_>>>()?;
    built(
        t::SearchResultBlock::builder()
            .source(o.req_str("source")?)
            .title(o.req_str("title")?)
            .set_content(Some(content))
            .set_citations(citations_config(o)?)
            .build(),
        &o.path,
    )
}

/// The model's cited answer: its text and the citations behind it.
pub(super) fn citations_content<N: Node>(o: &Reader<N>) -> Read<t::CitationsContentBlock> {
    o.only(&["content", "citations"])?;
    let content = texts_at(o, "content")?.map(|v| {
        v.into_iter()
            .map(t::CitationGeneratedContent::Text)
            .collect()
    });
    let citations = o
        .list("citations")?
        .map(|list| {
            list.iter()
                .enumerate()
                .map(|(i, c)| citation(&Reader::new(c, format!("{}[{i}]", o.at("citations")))?))
                .collect::<Read<Vec<_>>>()
        })
        .transpose()?;
    Ok(t::CitationsContentBlock::builder()
        .set_content(content)
        .set_citations(citations)
        .build())
}

fn citation<N: Node>(o: &Reader<N>) -> Read<t::Citation> {
    o.only(&["title", "source", "sourceContent", "location"])?;
    let quoted = texts_at(o, "sourceContent")?
        .map(|v| v.into_iter().map(t::CitationSourceContent::Text).collect());
    Ok(t::Citation::builder()
        .set_title(o.str("title")?)
        .set_source(o.str("source")?)
        .set_source_content(quoted)
        .set_location(o.obj("location")?.map(|l| location(&l)).transpose()?)
        .build())
}

/// Where a citation points: `web`, `documentChar`, `documentPage`, `documentChunk` or
/// `searchResultLocation`.
fn location<N: Node>(o: &Reader<N>) -> Read<t::CitationLocation> {
    let (kind, value) = o.union(&[
        "web",
        "documentChar",
        "documentPage",
        "documentChunk",
        "searchResultLocation",
    ])?;
    let l = Reader::new(&value, o.at(&kind))?;
    if kind == "web" {
        l.only(&["url", "domain"])?;
        return Ok(t::CitationLocation::Web(
            t::WebLocation::builder()
                .set_url(l.str("url")?)
                .set_domain(l.str("domain")?)
                .build(),
        ));
    }
    let index = if kind == "searchResultLocation" {
        "searchResultIndex"
    } else {
        "documentIndex"
    };
    l.only(&[index, "start", "end"])?;
    let int = |key: &str| -> Read<Option<i32>> {
        l.int(key)?
            .map(|n| {
                i32::try_from(n).ok().filter(|n| *n >= 0).ok_or_else(|| {
                    WireError::value(&l.at(key), format!("expected 0 or more, got {n}"))
                })
            })
            .transpose()
    };
    let (i, start, end) = (int(index)?, int("start")?, int("end")?);
    Ok(match kind.as_str() {
        "documentChar" => t::CitationLocation::DocumentChar(
            t::DocumentCharLocation::builder()
                .set_document_index(i)
                .set_start(start)
                .set_end(end)
                .build(),
        ),
        "documentPage" => t::CitationLocation::DocumentPage(
            t::DocumentPageLocation::builder()
                .set_document_index(i)
                .set_start(start)
                .set_end(end)
                .build(),
        ),
        "documentChunk" => t::CitationLocation::DocumentChunk(
            t::DocumentChunkLocation::builder()
                .set_document_index(i)
                .set_start(start)
                .set_end(end)
                .build(),
        ),
        _ => t::CitationLocation::SearchResultLocation(
            t::SearchResultLocation::builder()
                .set_search_result_index(i)
                .set_start(start)
                .set_end(end)
                .build(),
        ),
    })
}
