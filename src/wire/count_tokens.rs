//! boto3's `count_tokens(input=...)`: the `converse` or `invokeModel` form, checked.

use aws_sdk_bedrockruntime::types as t;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use super::pyobj::Obj;
use super::request::ConverseRequest;

/// The SDK's `CountTokensInput` from boto3's `input` dict.
pub fn input(input: &Obj<'_>) -> PyResult<t::CountTokensInput> {
    let (kind, _) = input.union(&["converse", "invokeModel"])?;
    Ok(if kind == "converse" {
        let c = input.req_obj("converse")?;
        c.only(&[
            "messages",
            "system",
            "toolConfig",
            "additionalModelRequestFields",
        ])?;
        let sub = ConverseRequest::from_kwargs(Some(&c.dict))?;
        t::CountTokensInput::Converse(
            t::ConverseTokensRequest::builder()
                .set_messages(sub.messages)
                .set_system(sub.system)
                .set_tool_config(sub.tool_config)
                .set_additional_model_request_fields(sub.additional_model_request_fields)
                .build(),
        )
    } else {
        let im = input.req_obj("invokeModel")?;
        im.only(&["body"])?;
        t::CountTokensInput::InvokeModel(
            t::InvokeModelTokensRequest::builder()
                .body(aws_smithy_types::Blob::new(im.bytes("body")?))
                .build()
                .map_err(|e| PyValueError::new_err(format!("input.invokeModel: {e}")))?,
        )
    })
}
