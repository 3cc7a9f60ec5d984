"""`tokman count` on many files: the batch path (and `--ray`) give `count_file`'s counts."""

from __future__ import annotations

import json
import os
import random
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

import tokman
from tokman.cli import cli
from tokman.files import count_document

PIECES = ["the", " quick", "中文", "テキスト", "🙂", "\n\n", "\r\n", "123", " 's", "<|endoftext|>"]


def corpus(root: Path, files: int, seed: int = 16) -> Path:
    """A folder of generated text files (prose, CJK, emoji, CRLF, special-token text), an
    empty one, one over 1 MiB (count_file's own path), a chat-request .jsonl and a binary."""
    rng = random.Random(seed)
    for i in range(files):
        sub = root / f"d{i % 7}"
        sub.mkdir(parents=True, exist_ok=True)
        text = "".join(rng.choices(PIECES, k=rng.randrange(3000)))
        (sub / f"f{i:04}.txt").write_bytes(text.encode())
    (root / "empty.txt").write_text("")
    (root / "big.md").write_bytes(("".join(rng.choices(PIECES, k=400_000))).encode())
    request = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hello"}]}
    (root / "reqs.jsonl").write_text(json.dumps(request) + "\n" + json.dumps(request) + "\n")
    (root / "blob.bin").write_bytes(b"\x00\x01" * 100)
    return root


def run(args: list[str], **kwargs: object) -> dict[str, object]:
    result = CliRunner().invoke(cli, ["count", *args, "--json"], **kwargs)  # type: ignore[arg-type]
    assert result.exit_code == 0, result.output
    data: dict[str, object] = json.loads(result.stdout)
    return data


def test_many_files_are_counted_together_exactly_as_count_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """300 small files go to one iter_count_batch (over 1M characters: the worker pool); each
    count equals count_file's, in walk order; the big file and the requests stay per file."""
    root = corpus(tmp_path / "corpus", 300)
    import tokman.counting

    batched: list[int] = []
    original = tokman.counting.iter_count_batch

    def spying(texts: object, **kw: object) -> object:
        items = list(texts)  # type: ignore[call-overload]
        batched.append(sum(map(len, items)))
        return original(items, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(tokman.counting, "iter_count_batch", spying)
    data = run([str(root), "-m", "gpt-4o", "--workers", "2"])
    files = data["files"]
    assert isinstance(files, list)
    assert len(batched) == 1 and batched[0] > 1 << 20  # one batch call, big enough for the pool
    walked = sorted(str(p) for p in root.rglob("*") if p.is_file() and p.suffix != ".bin")
    assert sorted(f["path"] for f in files) == walked
    for f in files:
        expected = count_document(f["path"], model="gpt-4o")
        assert (f["tokens"], f["kind"], f["requests"]) == (
            expected.tokens,
            expected.kind,
            expected.requests,
        ), f["path"]
        if f["kind"] == "text":
            assert f["tokens"] == tokman.count_file(f["path"], model="gpt-4o")
    assert data["total"] == sum(f["tokens"] for f in files)
    assert data["skipped_binary"] == [str(root / "blob.bin")]
    # named one by one, with stdin among them: the same counts, in the order given
    named = [str(root / "d1" / "f0001.txt"), "-", str(root / "big.md"), str(root / "empty.txt")]
    again = run([*named, "-e", "cl100k_base"], input="hello\r\nworld")
    assert [(f["path"], f["tokens"]) for f in again["files"]] == [  # type: ignore[attr-defined]
        (named[0], tokman.count_file(named[0], encoding="cl100k_base")),
        ("-", tokman.count("hello\r\nworld", encoding="cl100k_base")),
        (named[2], tokman.count_file(named[2], encoding="cl100k_base")),
        (named[3], 0),
    ]


def test_unreadable_file_among_many_is_one_error_naming_it(tmp_path: Path) -> None:
    """Invalid UTF-8 in one small file: exit 1, one line naming it; --errors replace counts
    it as count_file(errors='replace') does."""
    for i in range(5):
        (tmp_path / f"ok{i}.txt").write_text("hello world " * i)
    bad = tmp_path / "ok2.txt"
    bad.write_bytes(b"caf\xe9 au lait")
    result = CliRunner().invoke(cli, ["count", str(tmp_path), "-m", "gpt-4o"])
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {bad}: not valid UTF-8 at byte 3; pass --errors replace to count it anyway\n"
    )
    data = run([str(tmp_path), "-m", "gpt-4o", "--errors", "replace"])
    tokens = {f["path"]: f["tokens"] for f in data["files"]}  # type: ignore[attr-defined]
    assert tokens[str(bad)] == tokman.count_file(bad, model="gpt-4o", errors="replace")


def test_ray_missing_is_one_line_naming_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without ray installed, --ray says which extra to install (exit 1)."""
    (tmp_path / "a.txt").write_text("hello")
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    result = CliRunner().invoke(cli, ["count", str(tmp_path), "-m", "gpt-4o", "--ray", "auto"])
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("Error: ")
    assert 'pip install "tokman[ray]"' in result.stderr


@pytest.mark.parametrize(
    ("address", "says"),
    [
        ("127.0.0.1:1", "--ray 127.0.0.1:1: no Ray cluster answers at 127.0.0.1:1"),
        ("nonsense:xyz", "--ray nonsense:xyz: Unable to parse port number"),
    ],
)
def test_bad_ray_address_is_one_line_and_fast(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, address: str, says: str
) -> None:
    """A dead or malformed address fails in seconds (Ray alone retries for minutes)."""
    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "0")
    (tmp_path / "a.txt").write_text("hello")
    started = time.monotonic()
    result = CliRunner().invoke(cli, ["count", str(tmp_path), "-m", "gpt-4o", "--ray", address])
    assert time.monotonic() - started < 30
    assert result.exit_code == 1, result.output
    assert result.stderr.count("\n") == 1 and result.stderr.startswith(f"Error: {says}")


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::DeprecationWarning:ray")
def test_ray_local_counts_equal_the_local_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--ray local (a Ray instance for the run) gives the local path's JSON, byte for byte:
    small files, the big file in pieces, stdin; the request file is counted as prompts."""
    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "0")
    root = corpus(tmp_path / "corpus", 200, seed=3)
    import tokman.ray

    sent: list[int] = []
    original = tokman.ray.count_texts

    def spying(texts: list[str], **kw: object) -> list[int]:
        sent.append(len(texts))
        actors = kw["concurrency"]
        assert isinstance(actors, int) and 1 <= actors <= (os.cpu_count() or 1)
        return original(texts, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(tokman.ray, "count_texts", spying)
    args = [str(root), "-", "-m", "gpt-4o"]
    local = run(args, input="stdin 中文 text\n\n")
    # --workers 1000: capped at the instance's CPUs (more actors would wait for CPUs forever)
    on_ray = run([*args, "--ray", "local", "--workers", "1000"], input="stdin 中文 text\n\n")
    assert on_ray == local
    # 200 small files, big.md in two safe pieces, stdin (the empty file has no piece)
    assert sent == [203]
    assert len(local["files"]) == 204  # type: ignore[arg-type]
