"""`tokman count`: files, folders, stdin and chat requests, exactly."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

import tokman
from tokman.cli import cli


def _json(args: list[str], **kwargs: object) -> dict[str, object]:
    result = CliRunner().invoke(cli, ["count", *args, "--json"], **kwargs)  # type: ignore[arg-type]
    assert result.exit_code == 0, result.output
    data: dict[str, object] = json.loads(result.stdout)
    return data


def test_count_files_prints_exact_counts_and_total(tmp_path: Path) -> None:
    """Counts two files for a model and prints both and the total."""
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("hello world")
    b.write_text("The quick brown fox jumps over the lazy dog.")
    data = _json([str(a), str(b), "--model", "gpt-4o"])
    assert [f["tokens"] for f in data["files"]] == [2, 10]  # type: ignore[attr-defined]
    assert data["total"] == 12


def test_readme_first_command_works() -> None:
    """The README's first command (and CI's) counts README.md and errors.py exactly."""
    root = Path(__file__).parents[2]
    result = CliRunner().invoke(
        cli,
        ["count", str(root / "README.md"), str(root / "src/tokman/errors.py"), "--model", "gpt-4o"],
    )
    assert result.exit_code == 0, result.output
    total = tokman.count_file(root / "README.md", model="gpt-4o") + tokman.count_file(
        root / "src/tokman/errors.py", model="gpt-4o"
    )
    assert result.stdout.splitlines()[-1].split() == ["total", f"{total:,}"]


def test_count_table_output_and_stdin() -> None:
    """Reads stdin with '-' and renders a table."""
    result = CliRunner().invoke(cli, ["count", "-", "-e", "cl100k_base"], input="hello world")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "Exact token counts for encoding cl100k_base:",
        "file  tokens",
        "-          2",
    ]


def test_folder_is_walked_with_gitignore_and_globs(tmp_path: Path) -> None:
    """A folder is walked recursively; .gitignore, --include, --exclude and binaries apply."""
    (tmp_path / ".gitignore").write_text("build/\n*.log\n")
    (tmp_path / "build").mkdir()
    (tmp_path / "build" / "out.txt").write_text("ignored")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("hello world")
    (tmp_path / "docs" / "draft.md").write_text("hello")
    (tmp_path / "notes.txt").write_text("hello world again")
    (tmp_path / "run.log").write_text("ignored too")
    (tmp_path / "image.png").write_bytes(b"\x89PNG\x00\x00")
    data = _json([str(tmp_path), "-m", "gpt-4o"])
    names = [Path(f["path"]).relative_to(tmp_path).as_posix() for f in data["files"]]  # type: ignore[attr-defined]
    assert names == [".gitignore", "notes.txt", "docs/a.md", "docs/draft.md"]
    assert data["skipped_binary"] == [str(tmp_path / "image.png")]
    assert data["total"] == tokman.count("build/\n*.log\n", model="gpt-4o") + 3 + 2 + 1
    only = _json([str(tmp_path), "-m", "gpt-4o", "--include", "*.md", "--exclude", "draft*"])
    assert [f["tokens"] for f in only["files"]] == [2]  # type: ignore[attr-defined]
    every = _json([str(tmp_path), "-m", "gpt-4o", "--no-gitignore"])
    assert len(every["files"]) == 6  # type: ignore[arg-type]  # + build/out.txt, run.log


def test_chat_request_files_are_counted_as_prompts(tmp_path: Path) -> None:
    """A chat-request .json and a .jsonl of Batch lines count as count_prompt says."""
    request = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hello"}]}
    single = tmp_path / "req.json"
    single.write_text(json.dumps(request))
    lines = tmp_path / "reqs.jsonl"
    lines.write_text(json.dumps(request) + "\n" + json.dumps({"custom_id": "x", "body": request}))
    data = _json([str(single), str(lines), "-m", "gpt-4o"])
    expected = tokman.count_prompt(**request)
    assert [(f["tokens"], f["kind"], f["requests"]) for f in data["files"]] == [  # type: ignore[attr-defined]
        (expected, "requests", 1),
        (2 * expected, "requests", 2),
    ]
    as_text = _json([str(single), "-e", "o200k_base"])
    assert as_text["files"][0]["kind"] == "text"  # type: ignore[index]


def test_workers_are_validated_and_capped(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """--workers 0 and -3 are usage errors; 1000 or 100000 on a small file start one process."""
    file = tmp_path / "a.txt"
    file.write_text("hello " * 30)
    for bad in ("0", "-3"):
        result = CliRunner().invoke(cli, ["count", str(file), "-m", "gpt-4o", "--workers", bad])
        assert result.exit_code == 2 and "--workers" in result.output
    import tokman.counting
    import tokman.files

    seen: list[object] = []
    original = tokman.counting.iter_count_batch

    def recording(texts: object, **kw: object) -> object:
        seen.append(kw["workers"])
        return original(texts, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(tokman.counting, "iter_count_batch", recording)
    for many in ("1000", "100000"):
        result = CliRunner().invoke(cli, ["count", str(file), "-m", "gpt-4o", "--workers", many])
        assert result.exit_code == 0, result.output
    assert seen == [1, 1]  # the small file goes to the batch counter, capped at one process
    big = tmp_path / "big.txt"
    big.write_text("hello world " * 250_000)  # 3 MB: count_file splits it itself
    documents: list[object] = []
    count_document = tokman.files.count_document

    def spying(path: object, **kw: object) -> object:
        documents.append(kw["workers"])
        return count_document(path, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(tokman.files, "count_document", spying)
    result = CliRunner().invoke(cli, ["count", str(big), "-m", "gpt-4o", "--workers", "1000"])
    assert result.exit_code == 0, result.output
    assert documents == [min(os.cpu_count() or 1, 3)]


def test_model_or_encoding_is_required() -> None:
    """Without --model or --encoding the usage error says what to pass."""
    result = CliRunner().invoke(cli, ["count", "-"], input="x")
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: pass --model (e.g. --model gpt-4o) or --encoding (e.g. o200k_base)\n"
    )
