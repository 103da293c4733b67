//! `Citation`: one citation of a reply's `citationsContent` block (or of a stream's
//! `citation` delta), read from the SDK's types when an attribute is read; `to_dict()` is
//! boto3's shape, from the one codec (`wire::content_out::citation`).

use aws_sdk_bedrockruntime::types as t;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::wire::content_out;
use crate::wire::pyobj::{py_repr, PySink};

/// A stream's `citation` delta as the citation it is (the same members; a delta's source
/// content pieces are plain structures where a reply's are unions).
pub fn from_delta(d: &t::CitationsDelta) -> t::Citation {
    let quoted = d.source_content.as_ref().map(|v| {
        v.iter()
            .map(|q| t::CitationSourceContent::Text(q.text().unwrap_or_default().to_owned()))
            .collect()
    });
    t::Citation::builder()
        .set_title(d.title.clone())
        .set_source(d.source.clone())
        .set_source_content(quoted)
        .set_location(d.location.clone())
        .build()
}

/// The text of a citations block's generated content, joined.
pub fn generated_text(c: &t::CitationsContentBlock) -> String {
    c.content()
        .iter()
        .filter_map(|g| match g {
            t::CitationGeneratedContent::Text(s) => Some(s.as_str()),
            _ => None,
        })
        .collect()
}

/// The citations of a message's `citationsContent` blocks, in order, each with the text it
/// supports.
pub fn of_message(m: &t::Message) -> Vec<PyCitation> {
    let mut out = Vec::new();
    for block in m.content() {
        if let t::ContentBlock::CitationsContent(c) = block {
            let text = generated_text(c);
            for citation in c.citations() {
                out.push(PyCitation {
                    text: text.clone(),
                    citation: citation.clone(),
                });
            }
        }
    }
    out
}

/// A passage the model cited: `text` (what the model wrote on it), `quote` (the source's
/// words), `title` and `source`, and the `location` (`kind`, `index`, `start`, `end`; or a
/// web page's `url` and `domain`).
#[pyclass(
    name = "Citation",
    module = "fastconverse._core",
    frozen,
    eq,
    skip_from_py_object
)]
#[derive(Clone, PartialEq)]
pub struct PyCitation {
    /// The generated text the citation supports ("" for a stream's delta: that text streams
    /// as `TextDelta`s).
    #[pyo3(get)]
    pub text: String,
    pub citation: t::Citation,
}

impl PyCitation {
    /// (index, start, end) of a document or search result location.
    fn span(&self) -> Option<(Option<i32>, Option<i32>, Option<i32>)> {
        use t::CitationLocation as L;
        Some(match self.citation.location()? {
            L::DocumentChar(c) => (c.document_index(), c.start(), c.end()),
            L::DocumentPage(c) => (c.document_index(), c.start(), c.end()),
            L::DocumentChunk(c) => (c.document_index(), c.start(), c.end()),
            L::SearchResultLocation(c) => (c.search_result_index(), c.start(), c.end()),
            _ => return None,
        })
    }

    fn web(&self) -> Option<&t::WebLocation> {
        match self.citation.location()? {
            t::CitationLocation::Web(w) => Some(w),
            _ => None,
        }
    }
}

#[pymethods]
impl PyCitation {
    /// The cited words of the source (its `sourceContent` texts, joined).
    #[getter]
    fn quote(&self) -> String {
        self.citation
            .source_content()
            .iter()
            .filter_map(|q| match q {
                t::CitationSourceContent::Text(s) => Some(s.as_str()),
                _ => None,
            })
            .collect()
    }

    #[getter]
    fn title(&self) -> Option<&str> {
        self.citation.title()
    }

    /// The source's identifier as the request gave it (a search result's `source`, a
    /// web page), when the service sends one.
    #[getter]
    fn source(&self) -> Option<&str> {
        self.citation.source()
    }

    /// The location's kind, as on the wire: `documentChar`, `documentPage`,
    /// `documentChunk`, `searchResultLocation` or `web` (None: no location).
    #[getter]
    fn kind(&self) -> Option<&'static str> {
        use t::CitationLocation as L;
        Some(match self.citation.location()? {
            L::DocumentChar(_) => "documentChar",
            L::DocumentPage(_) => "documentPage",
            L::DocumentChunk(_) => "documentChunk",
            L::SearchResultLocation(_) => "searchResultLocation",
            L::Web(_) => "web",
            _ => "unknown",
        })
    }

    /// Which document (counted over the request's documents) or search result it cites.
    #[getter]
    fn index(&self) -> Option<i32> {
        self.span().and_then(|s| s.0)
    }

    /// Where the passage starts: a character, page or chunk, or a search result's
    /// content block.
    #[getter]
    fn start(&self) -> Option<i32> {
        self.span().and_then(|s| s.1)
    }

    /// Where it ends (exclusive).
    #[getter]
    fn end(&self) -> Option<i32> {
        self.span().and_then(|s| s.2)
    }

    #[getter]
    fn url(&self) -> Option<&str> {
        self.web().and_then(|w| w.url())
    }

    #[getter]
    fn domain(&self) -> Option<&str> {
        self.web().and_then(|w| w.domain())
    }

    /// boto3's `location` dict (`{"documentChar": {"documentIndex": 0, ...}}`), or None.
    #[getter]
    fn location<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.to_dict(py)?.get_item("location")
    }

    /// The citation as boto3 gives it.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        content_out::citation(&PySink(py), &self.citation)
    }

    pub fn __repr__(&self) -> String {
        let mut parts = vec![format!("quote={}", py_repr(&self.quote()))];
        if let Some(title) = self.title() {
            parts.push(format!("title={}", py_repr(title)));
        }
        if let Some(kind) = self.kind() {
            parts.push(format!("kind={}", py_repr(kind)));
        }
        if let Some((index, start, end)) = self.span() {
            let show = |n: Option<i32>| n.map_or_else(|| "None".to_owned(), |n| n.to_string());
            parts.push(format!(
                "index={}, start={}, end={}",
                show(index),
                show(start),
                show(end)
            ));
        }
        if let Some(url) = self.url() {
            parts.push(format!("url={}", py_repr(url)));
        }
        format!("Citation({})", parts.join(", "))
    }
}
