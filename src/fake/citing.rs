//! How FakeBedrock's default model cites: when a request holds a document or a search result
//! with `citations: {enabled: true}`, the answer ends in a `citationsContent` block quoting
//! the first sentence of that source, with the location Bedrock's models give for its kind.
//!
//! Note: ours, all of it: which source is cited (the first citable one of the last message
//! that has any), the passage (its first sentence, or first chunk or content block), and
//! the counting of `documentIndex` / `searchResultIndex` over the whole request in order
//! (messages, tool results included) follow Anthropic's documented citations, which
//! Bedrock passes through; the service documents no more.

use base64::Engine;
use serde_json::{json, Value};

/// A source the request lets the model cite.
struct Citable<'a> {
    /// `document` or `searchResult`.
    kind: &'static str,
    block: &'a Value,
    /// Its index among the request's blocks of its kind.
    index: usize,
}

/// The documents and search results of the request with citations enabled, in order, each
/// with the index of its message.
fn sources(body: &Value) -> Vec<(usize, Citable<'_>)> {
    let mut out = Vec::new();
    let (mut documents, mut results) = (0, 0);
    for (n, message) in body["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        for block in message["content"].as_array().into_iter().flatten() {
            let nested = block["toolResult"]["content"].as_array();
            let items = std::iter::once(block).chain(nested.into_iter().flatten());
            for item in items {
                for (kind, counter) in
                    [("document", &mut documents), ("searchResult", &mut results)]
                {
                    if let Some(b) = item.get(kind) {
                        let index = *counter;
                        *counter += 1;
                        if b["citations"]["enabled"] == true {
                            out.push((
                                n,
                                Citable {
                                    kind,
                                    block: b,
                                    index,
                                },
                            ));
                        }
                    }
                }
            }
        }
    }
    out
}

/// The first sentence of `text` (up to 200 characters) as (char start, char end, text).
fn first_sentence(text: &str) -> Option<(usize, usize, String)> {
    let lead = text.chars().take_while(|c| c.is_whitespace()).count();
    let mut sentence = String::new();
    let mut chars = text.chars().skip(lead).peekable();
    while let Some(c) = chars.next() {
        sentence.push(c);
        let ends = matches!(c, '.' | '!' | '?') && chars.peek().is_none_or(|n| n.is_whitespace());
        if ends || c == '\n' || sentence.chars().count() >= 200 {
            break;
        }
    }
    let sentence = sentence.trim_end().to_owned();
    if sentence.is_empty() {
        return None;
    }
    let end = lead + sentence.chars().count();
    Some((lead, end, sentence))
}

/// The text of a document whose words the fake can read: a `text` source, or bytes of a
/// text format (txt, md, csv, html).
fn document_text(doc: &Value) -> Option<String> {
    if let Some(text) = doc["source"]["text"].as_str() {
        return Some(text.to_owned());
    }
    let b64 = doc["source"]["bytes"].as_str()?;
    if !matches!(doc["format"].as_str(), Some("txt" | "md" | "csv" | "html")) {
        return None;
    }
    let bytes = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
    String::from_utf8(bytes).ok()
}

fn first_text(list: &Value) -> Option<String> {
    list.as_array()?
        .iter()
        .filter_map(|c| c["text"].as_str())
        .find(|t| !t.trim().is_empty())
        .map(str::to_owned)
}

/// The citation of one source: (quoted text, citation JSON).
fn cite(c: &Citable<'_>) -> (String, Value) {
    let b = c.block;
    if c.kind == "searchResult" {
        let quote = first_text(&b["content"]).unwrap_or_default();
        let citation = json!({
            "title": b["title"],
            "source": b["source"],
            "sourceContent": [{ "text": quote }],
            "location": { "searchResultLocation": {
                "searchResultIndex": c.index, "start": 0, "end": 1 } },
        });
        return (quote, citation);
    }
    let title = b["name"].clone();
    if b["source"].get("content").is_some() {
        let quote = first_text(&b["source"]["content"]).unwrap_or_default();
        let citation = json!({
            "title": title,
            "sourceContent": [{ "text": quote }],
            "location": { "documentChunk": { "documentIndex": c.index, "start": 0, "end": 1 } },
        });
        return (quote, citation);
    }
    if let Some((start, end, quote)) = document_text(b).as_deref().and_then(first_sentence) {
        let citation = json!({
            "title": title,
            "sourceContent": [{ "text": quote }],
            "location": { "documentChar": {
                "documentIndex": c.index, "start": start, "end": end } },
        });
        return (quote, citation);
    }
    // A PDF or an office document: the fake cannot read it, so it cites the first page
    // and quotes nothing.
    let citation = json!({
        "title": title,
        "location": { "documentPage": { "documentIndex": c.index, "start": 1, "end": 2 } },
    });
    (
        format!("(page 1 of {})", title.as_str().unwrap_or("the document")),
        citation,
    )
}

/// The cited passage the default model adds to its answer, if the request allows one:
/// (the generated text, its citation, the source's title).
pub fn citation(body: &Value) -> Option<(String, Value, String)> {
    let all = sources(body);
    let last = all.iter().map(|(n, _)| *n).max()?;
    let (_, chosen) = all.iter().find(|(n, _)| *n == last)?;
    let (mut quote, citation) = cite(chosen);
    if quote.trim().is_empty() {
        quote = format!("({})", citation["title"].as_str().unwrap_or("the source"));
    }
    let title = citation["title"]
        .as_str()
        .unwrap_or("the source")
        .to_owned();
    Some((quote, citation, title))
}
