"""Shared data for the CLI tests: Batch lines and fine-tuning examples."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def chat(content: str, model: str = "gpt-4o-mini", **extra: Any) -> dict[str, Any]:
    """A chat request body."""
    return {"model": model, "messages": [{"role": "user", "content": content}], **extra}


def batch_line(custom_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """One Batch API input line."""
    return {"custom_id": custom_id, "method": "POST", "url": "/v1/chat/completions", "body": body}


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    """Write rows (dicts as JSON, strings verbatim) one per line."""
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def batch_file(tmp_path: Path) -> Path:
    """Two good requests, a duplicate custom_id, one over gpt-4's window, one malformed line."""
    return write_jsonl(
        tmp_path / "batch.jsonl",
        [
            batch_line("a", chat("hello", max_tokens=100)),
            batch_line("b", chat("hello world", max_tokens=50)),
            batch_line("a", chat("again", max_tokens=10)),
            batch_line("big", chat("x " * 9000, model="gpt-4", max_tokens=100)),
            "{not json",
        ],
    )


def fine_tune_file(tmp_path: Path) -> Path:
    """Three good examples, one with an unknown key and no assistant message."""
    good = [
        {
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": f"Question {i}?"},
                {"role": "assistant", "content": "Answer. " * (i + 1)},
            ]
        }
        for i in range(3)
    ]
    bad = {"messages": [{"role": "user", "content": "hi", "foo": 1}]}
    return write_jsonl(tmp_path / "train.jsonl", [*good, bad])


def cell(stdout: str, label: str) -> str:
    """The last cell of the plain-layout row that starts with ``label``."""
    [line] = [x for x in stdout.splitlines() if x.startswith(label + "  ")]
    return line.split("  ")[-1].strip()
