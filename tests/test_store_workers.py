"""Eight worker processes continue a hundred shared conversations at once, for 30 seconds
(``FASTCONVERSE_WORKERS_SECONDS`` changes it), through the tutorial's ``send_message``:
every history stays valid, no turn is lost or kept twice, and every conflict surfaces as
``ConversationConflictError`` (then the worker sends the turn again)."""

from __future__ import annotations

import collections
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from conftest import AKID, SECRET, fc_client
from fastconverse import Store
from fastconverse.testing import FakeBedrock

WORKERS = 8
CONVERSATIONS = 100
SECONDS = float(os.environ.get("FASTCONVERSE_WORKERS_SECONDS", "30"))

WORKER = """
import json, random, sys, time
from fastconverse import ConverseClient, RedisStore, SQLiteStore
from fastconverse.errors import ConversationConflictError

url, key, secret, store, worker, seconds, conversations, out = sys.argv[1:]
client = ConverseClient("m", endpoint_url=url, region_name="us-east-1",
                        aws_access_key_id=key, aws_secret_access_key=secret, store=eval(store))
rng = random.Random(int(worker))
done, conflicts, n = [], 0, 0
end = time.monotonic() + float(seconds)
while time.monotonic() < end:
    # A third of the turns go to five busy conversations, where workers meet.
    i = rng.randrange(5) if rng.random() < 0.33 else rng.randrange(int(conversations))
    cid, text = f"conv-{i}", f"w{worker}-{n}"
    n += 1
    while True:
        try:
            reply = client.send_message(cid, text)
        except ConversationConflictError as e:
            conflicts += 1
            assert e.reply.text == "You said: " + text, e.reply.text
            assert e.theirs is not None and e.theirs > e.ours, (e.ours, e.theirs)
            continue  # the conversation holds the store's history now: send it again
        assert reply == "You said: " + text, reply
        done.append([cid, text])
        break
json.dump({"done": done, "conflicts": conflicts}, open(out, "w"))
"""


def test_eight_workers_share_a_hundred_conversations(
    fake_bedrock: FakeBedrock, store_at: Callable[..., Store], tmp_path: Path
) -> None:
    store, spec = store_at(), store_at.spec  # type: ignore[attr-defined]
    client = fc_client(fake_bedrock, store=store)
    for i in range(CONVERSATIONS):
        client.create_conversation(conversation_id=f"conv-{i}", metadata={"n": i})
    outs = [tmp_path / f"w{w}.json" for w in range(WORKERS)]
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                WORKER,
                fake_bedrock.url,
                AKID,
                SECRET,
                spec,
                str(w),
                str(SECONDS),
                str(CONVERSATIONS),
                str(outs[w]),
            ]
        )
        for w in range(WORKERS)
    ]
    for p in procs:
        assert p.wait(timeout=SECONDS + 120) == 0
    results = [json.loads(o.read_text()) for o in outs]
    done: dict[str, list[str]] = collections.defaultdict(list)
    for r in results:
        for cid, text in r["done"]:
            done[cid].append(text)
    conflicts = sum(r["conflicts"] for r in results)
    turns = sum(len(v) for v in done.values())
    assert turns > WORKERS * 10, turns
    assert conflicts > 0, "no two workers ever met: the test proves nothing"

    reader = fc_client(fake_bedrock, store=store_at())
    for i in range(CONVERSATIONS):
        conv = reader.get_conversation(f"conv-{i}")
        messages = conv.transcript
        roles = [m["role"] for m in messages]
        assert roles == ["user", "assistant"] * (len(messages) // 2), f"conv-{i}: {roles}"
        said = [m["content"][0]["text"] for m in messages[0::2]]
        answers = [m["content"][0]["text"] for m in messages[1::2]]
        assert answers == ["You said: " + s for s in said], f"conv-{i}"
        # every committed turn is there once, and nothing else is
        assert sorted(said) == sorted(done[f"conv-{i}"]), f"conv-{i}"
        assert conv.version == 1 + len(said)
        assert conv.metadata == {"n": i}
    kind = store_at.kind  # type: ignore[attr-defined]
    print(f"{kind}: {turns} turns, {conflicts} conflicts")
