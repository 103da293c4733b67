//! What may enter a conversation's history: the user's input of a turn, a history given at
//! creation, and the model's replies. Bedrock rejects blank text anywhere in the history, so
//! these rules are checked before any request.

use std::collections::{HashMap, HashSet};

use aws_sdk_bedrockruntime::types as t;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};

use crate::wire::content_in;
use crate::wire::pyobj::{as_list, py_repr, value_error};
use crate::wire::server_tools::client_tool_uses;

/// Refuses blank text blocks and empty content.
pub fn check_text(message: &t::Message, path: &str) -> PyResult<()> {
    for (i, block) in message.content().iter().enumerate() {
        if let t::ContentBlock::Text(text) = block {
            if text.trim().is_empty() {
                return Err(value_error(
                    &format!("{path}.content[{i}].text"),
                    "must not be blank (Bedrock rejects blank text)",
                ));
            }
        }
    }
    if message.content().is_empty() {
        return Err(value_error(
            &format!("{path}.content"),
            "must hold at least one content block",
        ));
    }
    Ok(())
}

fn user(content: Vec<t::ContentBlock>, path: &str) -> PyResult<t::Message> {
    t::Message::builder()
        .role(t::ConversationRole::User)
        .set_content(Some(content))
        .build()
        .map_err(|e| value_error(path, e))
}

/// What `send` and `stream` take: text, a list of content blocks, or a user message dict.
pub fn user_message(input: &Bound<'_, PyAny>) -> PyResult<t::Message> {
    let message = if let Ok(text) = input.cast::<PyString>() {
        let text = text.to_cow()?.into_owned();
        if text.trim().is_empty() {
            return Err(value_error(
                "message",
                "must not be blank (Bedrock rejects blank text)",
            ));
        }
        user(vec![t::ContentBlock::Text(text)], "message")?
    } else if input.cast::<PyDict>().is_ok() {
        let message = content_in::message(input, "message")?;
        if message.role() != &t::ConversationRole::User {
            return Err(value_error(
                "message.role",
                format!(
                    "a turn sends a 'user' message (the reply is the assistant's), got {:?}",
                    message.role().as_str()
                ),
            ));
        }
        message
    } else if input.cast::<PyList>().is_ok() || input.cast::<PyTuple>().is_ok() {
        user(content_blocks(input, "message")?, "message")?
    } else {
        return Err(PyTypeError::new_err(format!(
            "message: expected a str, a list of content blocks or a message dict, got {}",
            input.get_type().name()?
        )));
    };
    check_text(&message, "message")?;
    Ok(message)
}

/// A non-empty list of content blocks.
pub fn content_blocks(input: &Bound<'_, PyAny>, path: &str) -> PyResult<Vec<t::ContentBlock>> {
    let content = as_list(input, path)?
        .iter()
        .enumerate()
        .map(|(i, b)| content_in::content_block(b, &format!("{path}[{i}]")))
        .collect::<Result<Vec<_>, _>>()?;
    if content.is_empty() {
        return Err(value_error(path, "must hold at least one content block"));
    }
    Ok(content)
}

/// A history given at creation must be one Bedrock accepts as it is.
pub fn initial_history(messages: &Bound<'_, PyAny>) -> PyResult<Vec<t::Message>> {
    let list = as_list(messages, "messages")?;
    let mut out = Vec::with_capacity(list.len());
    for (i, m) in list.iter().enumerate() {
        let path = format!("messages[{i}]");
        let message = content_in::message(m, &path)?;
        let expected = if i % 2 == 0 {
            t::ConversationRole::User
        } else {
            t::ConversationRole::Assistant
        };
        if message.role() != &expected {
            return Err(value_error(
                &format!("{path}.role"),
                format!(
                    "expected {:?}: a history starts with a user message and alternates",
                    expected.as_str()
                ),
            ));
        }
        check_text(&message, &path)?;
        out.push(message);
    }
    if out.len() % 2 == 1 {
        return Err(value_error(
            "messages",
            "must end with an assistant message (the next turn adds the user's)",
        ));
    }
    Ok(out)
}

/// The reply as it goes into the history: blank text blocks (a model may end on one)
/// would make every later request fail, so they are left out. None when nothing is left.
pub fn for_history(message: &t::Message) -> Option<t::Message> {
    let content: Vec<_> = message
        .content()
        .iter()
        .filter(|b| !matches!(b, t::ContentBlock::Text(s) if s.trim().is_empty()))
        .cloned()
        .collect();
    if content.is_empty() {
        return None;
    }
    t::Message::builder()
        .role(t::ConversationRole::Assistant)
        .set_content(Some(content))
        .build()
        .ok()
}

/// The `toolUse` blocks of the history's last message when it is the model's and nobody
/// answered them yet.
pub fn unanswered(messages: &[t::Message]) -> Vec<&t::ToolUseBlock> {
    match messages.last() {
        Some(m) if m.role() == &t::ConversationRole::Assistant => client_tool_uses(m).collect(),
        _ => Vec::new(),
    }
}

/// `send_tool_results`'s `{tool_use_id: toolResult block}`, converted.
pub fn given_results(results: &Bound<'_, PyDict>) -> PyResult<HashMap<String, t::ContentBlock>> {
    let mut given: HashMap<String, t::ContentBlock> = HashMap::new();
    for (key, value) in results.iter() {
        let id: String = key.extract().map_err(|_| {
            pyo3::exceptions::PyTypeError::new_err(format!(
                "results: expected str tool use ids as keys, got {}",
                key.get_type()
                    .name()
                    .map(|n| n.to_string())
                    .unwrap_or_default()
            ))
        })?;
        let block = content_in::content_block(&value, &format!("results[{}]", py_repr(&id)))?;
        given.insert(id, block);
    }
    Ok(given)
}

/// The open calls and the given result of each (None: the turn runs its function), checked:
/// no unknown id, and no call left without a result and without a function.
pub fn answer_slots(
    open: &[&t::ToolUseBlock],
    mut given: HashMap<String, t::ContentBlock>,
    callable: &HashSet<String>,
) -> PyResult<(Vec<t::ToolUseBlock>, Vec<Option<t::ContentBlock>>)> {
    if open.is_empty() {
        return Err(value_error(
            "results",
            "the last reply asked for no tools; there is nothing to answer",
        ));
    }
    let waiting = || {
        open.iter()
            .map(|c| py_repr(c.tool_use_id()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut unknown: Vec<&String> = given
        .keys()
        .filter(|id| !open.iter().any(|c| c.tool_use_id() == id.as_str()))
        .collect();
    unknown.sort();
    if let Some(id) = unknown.first() {
        return Err(value_error(
            "results",
            format!(
                "{} is not a tool use waiting for a result; waiting: {}",
                py_repr(id),
                waiting()
            ),
        ));
    }
    let missing: Vec<String> = open
        .iter()
        .filter(|c| !given.contains_key(c.tool_use_id()) && !callable.contains(c.name()))
        .map(|c| format!("{} ({})", c.name(), py_repr(c.tool_use_id())))
        .collect();
    if !missing.is_empty() {
        return Err(value_error(
            "results",
            format!("missing the results of {}", missing.join(", ")),
        ));
    }
    let calls: Vec<t::ToolUseBlock> = open.iter().map(|c| (*c).clone()).collect();
    let slots = calls
        .iter()
        .map(|c| given.remove(c.tool_use_id()))
        .collect();
    Ok((calls, slots))
}
