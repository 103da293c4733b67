//! What Bedrock checks of a request's media (images, documents, video, audio): formats,
//! sizes, counts and document names, with the service's texts where they are known.

use serde_json::Value;

type Check = Result<(), String>;

pub const MAX_IMAGES: usize = 20;
pub const MAX_IMAGE_BYTES: usize = 3_750_000;
pub const MAX_DOCUMENTS: usize = 5;
pub const MAX_DOCUMENT_BYTES: usize = 4_500_000;

fn decoded_len(b64: &str) -> usize {
    let padding = b64.bytes().rev().take_while(|b| *b == b'=').count();
    (b64.len() / 4) * 3 + (b64.len() % 4).saturating_sub(1) - padding.min(2)
}

/// The media of one request: images and documents counted, documents' names kept.
#[derive(Default)]
pub struct Media {
    images: usize,
    documents: usize,
    names: std::collections::HashSet<String>,
}

const IMAGE_FORMATS: &[&str] = &["png", "jpeg", "gif", "webp"];
const VIDEO_FORMATS: &[&str] = &[
    "mkv", "mov", "mp4", "webm", "flv", "mpeg", "mpg", "wmv", "three_gp",
];
/// VideoSource: bytes "as long as the encoded file is less than 25MB" (base64).
pub const MAX_VIDEO_BYTES: usize = 18_750_000;
/// botocore's AudioFormat enum.
const AUDIO_FORMATS: &[&str] = &[
    "mp3", "opus", "wav", "aac", "flac", "mp4", "ogg", "mkv", "mka", "x-aac", "m4a", "mpeg",
    "mpga", "pcm", "webm",
];
// Note: ours: Bedrock documents no limit for AudioSource bytes; we take video's (25 MB of
// base64), which is also what `fastconverse.audio()` checks.
pub const MAX_AUDIO_BYTES: usize = MAX_VIDEO_BYTES;
const DOCUMENT_FORMATS: &[&str] = &[
    "pdf", "csv", "doc", "docx", "xls", "xlsx", "html", "txt", "md",
];

impl Media {
    pub fn add(&mut self, kind: &str, block: &Value, path: &str) -> Check {
        let at = format!("{path}.{kind}");
        let (formats, max, shown) = if kind == "image" {
            self.images += 1;
            (IMAGE_FORMATS, MAX_IMAGE_BYTES, "3.75 MB")
        } else if kind == "video" {
            (VIDEO_FORMATS, MAX_VIDEO_BYTES, "25 MB as base64")
        } else if kind == "audio" {
            (AUDIO_FORMATS, MAX_AUDIO_BYTES, "25 MB as base64")
        } else {
            self.documents += 1;
            (DOCUMENT_FORMATS, MAX_DOCUMENT_BYTES, "4.5 MB")
        };
        if let Some(format) = block.get("format").and_then(Value::as_str) {
            if !formats.contains(&format) {
                return Err(format!(
                    // Note: ours: the text of Bedrock's enum check is not documented.
                    "Value '{format}' at '{at}.format' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
                    formats.join(", ")
                ));
            }
        }
        check_size(block, &at, max, shown)?;
        if kind == "document" {
            check_document_source(block, &at)?;
            let name = block["name"].as_str().unwrap_or("");
            if !valid_document_name(name) {
                return Err("The document file name can only contain alphanumeric characters, whitespace characters, hyphens, parentheses, and square brackets. The name can't contain more than one consecutive whitespace character. Check that the file name conforms to these restrictions and retry your request.".into());
            }
            if !self.names.insert(name.to_owned()) {
                return Err("Messages can't contain duplicate document names. Rename the document and retry your request.".into());
            }
        }
        Ok(())
    }

    pub fn check_counts(&self) -> Check {
        if self.images > MAX_IMAGES {
            return Err(format!(
                // Note: ours: no source gives the service's wording of this check.
                "The request contains {} images, but at most {MAX_IMAGES} images are allowed per request. Remove some images and try again.",
                self.images
            ));
        }
        if self.documents > MAX_DOCUMENTS {
            return Err(format!(
                "You can't include more than {MAX_DOCUMENTS} documents in a request."
            ));
        }
        Ok(())
    }
}

/// Bedrock's rule for `document.name` (API_runtime_DocumentBlock): 1 to 200 characters,
/// alphanumeric, single ASCII spaces, hyphens, parentheses and square brackets. Underscores
/// are not in the documented set but the service accepts them (observed, vercel/ai#20366);
/// tabs, non-ASCII spaces and accented letters are refused (observed,
/// aws-samples/generative-ai-use-cases#1671, vercel/ai#20365).
pub fn valid_document_name(name: &str) -> bool {
    (1..=200).contains(&name.chars().count())
        && !name.contains("  ")
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || " -()[]_".contains(c))
}

/// A document's `text` or `content` source must hold text. Note: ours, the texts (the
/// service's are not documented; they follow its blank-text wording).
fn check_document_source(doc: &Value, at: &str) -> Check {
    let source = &doc["source"];
    if let Some(text) = source.get("text") {
        if text.as_str().is_none_or(|t| t.trim().is_empty()) {
            return Err(format!(
                "The text field in the DocumentSource object at {at}.source is blank. Add text to the text field, and try again."
            ));
        }
    }
    if let Some(content) = source.get("content") {
        let parts = content.as_array();
        if parts.is_none_or(|p| p.is_empty()) {
            return Err(format!(
                "The content field in the DocumentSource object at {at}.source is empty. Add a DocumentContentBlock object to the content field and try again."
            ));
        }
        for (k, part) in parts.into_iter().flatten().enumerate() {
            if part["text"].as_str().is_none_or(|t| t.trim().is_empty()) {
                return Err(format!(
                    "The text field in the DocumentContentBlock object at {at}.source.content.{k} is blank. Add text to the text field, and try again."
                ));
            }
        }
    }
    if let Some(c) = doc.get("citations") {
        if !c["enabled"].is_boolean() {
            return Err(format!(
                // Note: ours.
                "The citations field at {at} must be an object with a boolean enabled field."
            ));
        }
    }
    Ok(())
}

fn check_size(media: &Value, path: &str, max: usize, shown: &str) -> Check {
    if let Some(b64) = media["source"]["bytes"].as_str() {
        if decoded_len(b64) > max {
            return Err(format!(
                // Note: ours: no source gives the service's wording of this check.
                "The size of the value at {path}.source.bytes exceeds the maximum of {shown}. Reduce its size and try again."
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoded_length_of_base64() {
        assert_eq!(decoded_len("aGVsbG8="), 5);
        assert_eq!(decoded_len("aGVsbG8h"), 6);
        assert_eq!(decoded_len("aGk="), 2);
        assert_eq!(decoded_len(""), 0);
    }
}
