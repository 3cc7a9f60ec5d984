"""``tokman count PATH... | -``: exact token counts of files, folders and stdin.

All counting is the library's: ``tokman.files.count_document`` (chat-request JSON/JSONL as
prompts, anything else through ``count_file``: constant memory, all cores on a big file) and
``count_stream`` for stdin. Small files are counted together with
``iter_count_batch`` (many files, every core); ``--ray ADDRESS`` counts the texts on a Ray
cluster through ``tokman.ray.count_texts``. All of it is in one function, `count_inputs`.
"""

from __future__ import annotations

import codecs
import sys
from collections.abc import Callable, Iterator, Sequence

import click

from tokman.cli._errors import CliError, cli_errors
from tokman.cli._inputs import Input, collect
from tokman.cli._options import cap_workers, model_options, resolve_target
from tokman.cli._output import echo_json, print_table
from tokman.cli._progress import progress_bar
from tokman.errors import TokmanError
from tokman.files import DocumentCount

__all__ = ["SMALL_FILE_BYTES", "count_command", "count_inputs"]

#: Files up to this size are counted together (``iter_count_batch``); a bigger one is split
#: over the workers by ``count_file`` itself (its pieces are ~1M characters).
SMALL_FILE_BYTES = 1 << 20

_EXAMPLES = """
\b
Examples:
  tokman count README.md src/tokman/errors.py --model gpt-4o
  tokman count docs/ --include '*.md' --exclude 'drafts/**' --model gpt-4.1
  tokman count requests.jsonl --model gpt-4o --json   # chat requests counted as prompts
  cat notes.txt | tokman count - --encoding o200k_base
  tokman count corpus/ -m gpt-4o --ray auto             # on the Ray cluster started here
"""


def _stdin_chunks(errors: str) -> Iterator[str]:
    decoder = codecs.getincrementaldecoder("utf-8")(errors)
    stream = sys.stdin.buffer
    consumed = 0
    while True:
        block = stream.read(1 << 20)
        try:
            text = decoder.decode(block, final=not block)
        except UnicodeDecodeError as exc:
            at = consumed - len(decoder.getstate()[0]) + exc.start
            raise CliError(
                f"stdin is not valid UTF-8 at byte {at}; pass --errors replace to count it anyway"
            ) from exc
        consumed += len(block)
        if text:
            yield text
        if not block:
            return


def _batched(item: Input, model: str | None, encoding: str | None) -> bool:
    """A small regular text file: counted with the others by ``iter_count_batch``."""
    from tokman.files import may_hold_requests

    return (
        item.path is not None
        and item.size <= SMALL_FILE_BYTES
        and item.path.is_file()
        and not may_hold_requests(item.path, model=model, encoding=encoding)
    )


def _pieces(item: Input, name: str, errors: str) -> Iterator[str]:
    """The input's text in pieces whose counts add up to its count (stdin or a file)."""
    from tokman.counting.text import file_pieces, text_pieces

    if item.path is None:
        return text_pieces(_stdin_chunks(errors), encoding=name)
    return file_pieces(item.path, encoding=name, errors=errors)


Failures = dict[int, Exception]


def _count_local(
    inputs: Sequence[Input],
    chosen: list[int],
    name: str,
    workers: int | None,
    errors: str,
    advance: Callable[[int], None],
) -> tuple[dict[int, int], Failures]:
    """Counts of the ``chosen`` small files, in one ``iter_count_batch`` over every core.

    A file that cannot be read is counted as ``""`` and its error kept, to be raised when
    the in-order pass reaches it (so the error shown is the first file's, as one by one).
    """
    from tokman.counting import iter_count_batch

    failed: Failures = {}

    def texts() -> Iterator[str]:
        for i in chosen:
            try:
                yield "".join(_pieces(inputs[i], name, errors))
            except (TokmanError, OSError) as exc:
                failed[i] = exc
                yield ""

    size = sum(inputs[i].size for i in chosen)
    counted: dict[int, int] = {}
    for i, n in zip(
        chosen,
        iter_count_batch(texts(), encoding=name, workers=cap_workers(workers, size)),
        strict=True,
    ):
        counted[i] = n
        advance(inputs[i].size)
    return counted, failed


def _count_on_ray(
    inputs: Sequence[Input],
    chosen: list[int],
    name: str,
    workers: int | None,
    errors: str,
    address: str,
    advance: Callable[[int], None],
) -> tuple[dict[int, int], Failures]:
    """Counts of the ``chosen`` inputs on a Ray cluster: their texts, in safe pieces, go to
    ``tokman.ray.count_texts`` (``--workers`` actors, capped at the cluster's CPUs)."""
    from tokman.cli._ray import ray_actors, ray_cluster

    failed: Failures = {}
    texts: list[str] = []
    owners: list[int] = []
    with ray_cluster(address):
        import tokman.ray

        for i in chosen:
            try:
                pieces = list(_pieces(inputs[i], name, errors))
            except (TokmanError, OSError) as exc:
                failed[i] = exc
                continue
            texts.extend(pieces)
            owners.extend([i] * len(pieces))
        counts = tokman.ray.count_texts(texts, encoding=name, concurrency=ray_actors(workers))
    counted = {i: 0 for i in chosen if i not in failed}
    for i, n in zip(owners, counts, strict=True):
        counted[i] += n
    for i in counted:
        advance(inputs[i].size)
    return counted, failed


def count_inputs(
    inputs: Sequence[Input],
    *,
    model: str | None,
    encoding: str | None,
    workers: int | None,
    errors: str,
    advance: Callable[[int], None],
    ray_address: str | None = None,
) -> list[DocumentCount]:
    """Count every input; the results (and the first error) in input order.

    Small text files are counted together by ``iter_count_batch`` on the worker processes
    (many small files use every core); a bigger file by ``count_document`` -> ``count_file``,
    which splits it over the workers itself in constant memory; chat-request JSON/JSONL (with
    ``--model``) by ``count_document`` as prompts; stdin by ``count_stream``. With
    ``ray_address``, every text input (files of any size, stdin) is counted on Ray instead,
    in ``count_file``'s safe pieces; request files stay here (their chat framing is
    ``count_prompt``'s).
    """
    from tokman.counting import count_stream
    from tokman.counting.text import resolve_encoding_name
    from tokman.files import count_document, may_hold_requests

    name = resolve_encoding_name(model, encoding)
    if ray_address is None:
        chosen = [i for i, item in enumerate(inputs) if _batched(item, model, encoding)]
        counted, failed = _count_local(inputs, chosen, name, workers, errors, advance)
    else:
        chosen = [
            i
            for i, item in enumerate(inputs)
            if item.path is None or not may_hold_requests(item.path, model=model, encoding=encoding)
        ]
        counted, failed = _count_on_ray(inputs, chosen, name, workers, errors, ray_address, advance)
    found: list[DocumentCount] = []
    for i, item in enumerate(inputs):
        if i in failed:
            raise failed[i]
        if i in counted:
            found.append(DocumentCount("-" if item.path is None else str(item.path), counted[i]))
            continue
        if item.path is None:
            n = count_stream(
                _stdin_chunks(errors),
                model=model,
                encoding=encoding,
                workers=cap_workers(workers, None),
            )
            found.append(DocumentCount("-", n))
        else:
            found.append(
                count_document(
                    item.path,
                    model=model,
                    encoding=encoding,
                    workers=cap_workers(workers, item.size),
                    errors=errors,
                )
            )
        advance(item.size)
    return found


@click.command("count", epilog=_EXAMPLES)
@click.argument("paths", nargs=-1, type=click.Path(allow_dash=True))
@model_options
@click.option("--include", multiple=True, metavar="GLOB", help="Only files matching (folders).")
@click.option("--exclude", multiple=True, metavar="GLOB", help="Skip files matching (folders).")
@click.option(
    "--gitignore/--no-gitignore",
    default=True,
    show_default=True,
    help="Respect .gitignore files when walking folders.",
)
@click.option(
    "--errors",
    type=click.Choice(["strict", "replace", "ignore"]),
    default="strict",
    show_default=True,
    help="What to do with invalid UTF-8.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Processes for big inputs (default: all cores; capped at what the input needs).",
)
@click.option(
    "--ray",
    "ray_address",
    metavar="ADDRESS",
    help="Count on a Ray cluster (tokman[ray]): HOST:PORT or ray://HOST:10001, 'auto' (the "
    "cluster running on this machine) or 'local' (a Ray instance for this run).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def count_command(
    paths: tuple[str, ...],
    model: str | None,
    encoding: str | None,
    include: tuple[str, ...],
    exclude: tuple[str, ...],
    gitignore: bool,
    errors: str,
    workers: int | None,
    ray_address: str | None,
    as_json: bool,
) -> None:
    """Count the tokens of files, folders or stdin (-) exactly, offline.

    Plain text is counted as text; a .json/.jsonl file of chat requests (or Batch lines) is
    counted as the prompts the API will bill (with --model). Files of any size are streamed
    in constant memory. Many files are counted on every core (--workers); --ray counts them on
    a Ray cluster instead, with the same results.
    """
    resolve_target(model, encoding)
    inputs = collect(paths or ("-",), include=include, exclude=exclude, gitignore=gitignore)
    with cli_errors(), progress_bar(inputs.size, "counting") as advance:
        rows = count_inputs(
            inputs.items,
            model=model,
            encoding=encoding,
            workers=workers,
            errors=errors,
            advance=advance,
            ray_address=ray_address,
        )
    total = sum(r.tokens for r in rows)
    if inputs.skipped_binary:
        click.echo(f"skipped {len(inputs.skipped_binary)} binary file(s)", err=True)
    if as_json:
        echo_json(
            {
                "model": model,
                "encoding": encoding,
                "files": [
                    {"path": r.path, "tokens": r.tokens, "kind": r.kind, "requests": r.requests}
                    for r in rows
                ],
                "total": total,
                "skipped_binary": inputs.skipped_binary,
            }
        )
        return
    label = f"model {model}" if model else f"encoding {encoding}"
    table = [
        [r.path, f"{r.tokens:,}"] + ([f"{r.requests:,} requests"] if r.kind == "requests" else [""])
        for r in rows
    ]
    if len(rows) > 1:
        table.append(["total", f"{total:,}", ""])
    has_requests = any(r.kind == "requests" for r in rows)
    print_table(
        ["file", "tokens", "counted as"] if has_requests else ["file", "tokens"],
        table if has_requests else [row[:2] for row in table],
        title=f"Exact token counts for {label}:",
        total=len(rows) > 1,
    )
