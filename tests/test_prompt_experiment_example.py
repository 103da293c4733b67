"""``examples/prompt_experiment.py`` runs offline and prints its two results tables."""

from __future__ import annotations

from pathlib import Path

from test_examples import run_example


def test_prompt_experiment_example(tmp_path: Path) -> None:
    out = run_example("prompt_experiment.py", tmp_path)  # --fake is the default
    live, offline = out.split("Part 2:")
    names = ("concise", "friendly", "expert")

    def table(text: str) -> dict[str, list[str]]:
        return {
            line.split()[0]: line.split() for line in text.splitlines() if line.startswith(names)
        }

    rows = table(live)
    # (sticky by a hash of each user id: the same split in every run)
    assert {name: row[1] for name, row in rows.items()} == {
        "concise": "22",
        "friendly": "16",
        "expert": "22",
    }
    assert "feedback    friendly" in live and "Mann-Whitney U" in live
    assert "ttft p50 ms" in live
    # Every question through every variant, the keyword judge's scores (seeded replies).
    rows = table(offline)
    assert [rows[n][1:3] for n in names] == [["12", "12"]] * 3
    assert [rows[n][-3] for n in names] == ["4.833", "5.167", "9"]
