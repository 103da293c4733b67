"""fastconverse: a fast, correct Python client for Amazon Bedrock's Converse API."""

from fastconverse._core import __version__

__all__ = ["__version__"]
