"""Stubs for fastconverse's native module, ``fastconverse._core`` (built from ``src/``): one
stub module per concept, each with a section per Rust file, all re-exported here.

Stubs only: at runtime ``fastconverse._core`` is the compiled extension beside this directory
(an extension module is found before a directory without ``__init__.py``), so nothing may
import ``fastconverse._core.<module>`` at runtime; import the names from ``fastconverse._core``.
"""

from .client import ConverseClient as ConverseClient
from .client import EventStream as EventStream
from .client import _invoke_model as _invoke_model
from .client import _invoke_model_with_response_stream as _invoke_model_with_response_stream
from .context import ConversationMetrics as ConversationMetrics
from .context import HistoryView as HistoryView
from .context import SlidingWindow as SlidingWindow
from .context import Summarizing as Summarizing
from .context import Timings as Timings
from .context import TokenBudget as TokenBudget
from .context import TokenCount as TokenCount
from .context import estimate_tokens as estimate_tokens
from .conversation import ConversationCore as ConversationCore
from .conversation import UserInput as UserInput
from .conversation import _Start as _Start
from .events import CitationDelta as CitationDelta
from .events import ContentBlockStop as ContentBlockStop
from .events import ImageDelta as ImageDelta
from .events import ImageStart as ImageStart
from .events import MessageStart as MessageStart
from .events import MessageStop as MessageStop
from .events import Metadata as Metadata
from .events import ReasoningDelta as ReasoningDelta
from .events import Resumed as Resumed
from .events import StreamEvent as StreamEvent
from .events import TextDelta as TextDelta
from .events import ToolResultDelta as ToolResultDelta
from .events import ToolResultStart as ToolResultStart
from .events import ToolUseDelta as ToolUseDelta
from .events import ToolUseStart as ToolUseStart
from .fake import FakeBedrock as FakeBedrock
from .fake import RecordedRequest as RecordedRequest
from .limit import RateLimit as RateLimit
from .reply import Citation as Citation
from .reply import Reply as Reply
from .reply import Usage as Usage
from .runtime import Bridge as Bridge
from .runtime import _after_fork_in_child as _after_fork_in_child
from .runtime import _check_block as _check_block
from .runtime import _check_serving as _check_serving
from .runtime import _drain as _drain
from .runtime import _register_errors as _register_errors
from .runtime import _text_delta as _text_delta
from .store import RedisStore as RedisStore
from .store import SQLiteStore as SQLiteStore
from .store import Store as Store
from .store import _store_from as _store_from
from .store import _Stored as _Stored
from .turn import DONE as DONE
from .turn import REQUEST as REQUEST
from .turn import SUMMARY as SUMMARY
from .turn import _RequestStream as _RequestStream
from .turn import _RunTools as _RunTools
from .turn import _Step as _Step
from .turn import _Turn as _Turn

__version__: str
