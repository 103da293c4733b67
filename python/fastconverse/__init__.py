"""fastconverse: a fast, correct Python client for Amazon Bedrock's Converse API."""

from fastconverse import errors
from fastconverse._core import __version__
from fastconverse.client import ConverseClient

__all__ = ["ConverseClient", "__version__", "errors"]
