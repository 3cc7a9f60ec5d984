"""tokman.files: documents, Batch input files and fine-tuning datasets, read line by line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import tokman
from cli_helpers import batch_file, chat, fine_tune_file, write_jsonl
from tokman.encodings import install_vocabulary
from tokman.errors import InvalidRequestError
from tokman.files import check_fine_tune, count_document, estimate_batch


def test_count_document_text_and_requests(tmp_path: Path) -> None:
    """Text is count_file's count; request JSONL is the sum of count_prompt per line."""
    text = tmp_path / "a.txt"
    text.write_text("hello world")
    assert count_document(text, model="gpt-4o").tokens == 2
    lines = write_jsonl(tmp_path / "r.jsonl", [chat("hi"), chat("there")])
    found = count_document(lines, model="gpt-4o")
    expected = tokman.count_prompt(**chat("hi")) + tokman.count_prompt(**chat("there"))
    assert (found.tokens, found.kind, found.requests) == (expected, "requests", 2)
    mixed = write_jsonl(tmp_path / "m.jsonl", [chat("hi"), {"x": 1}])
    with pytest.raises(InvalidRequestError, match=r"m\.jsonl:2="):
        count_document(mixed, model="gpt-4o")
    plain = write_jsonl(tmp_path / "p.jsonl", [{"x": 1}])
    assert count_document(plain, model="gpt-4o").kind == "text"


def test_estimate_batch_totals_and_problems(tmp_path: Path) -> None:
    """Totals add up per request; each problem carries its line number and kind."""
    est = estimate_batch(batch_file(tmp_path), at="2025-06-01")
    assert est.lines == 5 and len(est.requests) == 4
    assert est.prompt_tokens == sum(r.prompt_tokens for r in est.requests)
    assert est.max_completion_tokens == 100 + 50 + 10 + 100
    assert est.batch_high == sum(r.batch_high or 0 for r in est.requests)
    assert est.flagged_lines == (3, 4, 5)
    gpt4 = est.requests[3]
    assert gpt4.batch_high is None and gpt4.standard_high is not None  # no batch price recorded


def test_estimate_batch_envelope_errors(tmp_path: Path) -> None:
    """A missing custom_id, a wrong URL and a non-object line are malformed, with reasons."""
    path = write_jsonl(
        tmp_path / "b.jsonl",
        [
            {"url": "/v1/chat/completions", "body": chat("x")},
            {"custom_id": "a", "url": "/v2/x", "body": chat("x")},
            "[]",
        ],
    )
    problems = estimate_batch(path).problems
    assert [(p.line, p.kind) for p in problems] == [
        (1, "malformed"),
        (2, "malformed"),
        (3, "malformed"),
    ]
    assert "custom_id is missing" in problems[0].message
    assert "not a Batch endpoint" in problems[1].message


def test_check_fine_tune_reports_and_refuses_bad_epochs(tmp_path: Path) -> None:
    """Per-example tokens, billed tokens over epochs, no invented training price."""
    report = check_fine_tune(fine_tune_file(tmp_path), model="gpt-4o-mini", epochs=4)
    assert report.examples == 4 and len(report.tokens) == 4
    assert report.billed_tokens == 4 * sum(report.tokens)
    assert report.cost is None and report.training_price is None
    assert report.distribution()["max"] == max(report.tokens)
    with pytest.raises(InvalidRequestError, match="epochs=0"):
        check_fine_tune(fine_tune_file(tmp_path), model="gpt-4o-mini", epochs=0)


def test_fine_tune_over_context_is_flagged(tmp_path: Path) -> None:
    """An example longer than the model's window is flagged and billed truncated to it."""
    long = {
        "messages": [
            {"role": "user", "content": "x " * 9000},
            {"role": "assistant", "content": "ok"},
        ]
    }
    report = check_fine_tune(write_jsonl(tmp_path / "t.jsonl", [long]), model="gpt-4")
    assert [p.kind for p in report.problems] == ["over_context"]
    assert report.billed_tokens_per_epoch == 8192


def test_install_vocabulary_by_hash(tmp_path: Path) -> None:
    """An official file is installed under its stem; a wrong file or folder is refused."""
    source = tokman.get_encoding("o200k_base").source
    names, dest = install_vocabulary(source, tmp_path)
    assert names == ["o200k_base", "o200k_harmony"] and dest == tmp_path / "o200k_base.tiktoken"
    junk = tmp_path / "junk"
    junk.write_bytes(b"junk")
    with pytest.raises(InvalidRequestError, match="not the hash of any official vocabulary"):
        install_vocabulary(junk, tmp_path)
    with pytest.raises(InvalidRequestError, match="directory="):
        install_vocabulary(source, tmp_path / "missing")
    assert json.dumps(names)
