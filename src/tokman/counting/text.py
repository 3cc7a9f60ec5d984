"""Exact token counts of plain text, of any size.

Special-token text is counted as plain text (never refused, never 0). Large inputs are split
only at *safe boundaries*: positions where every encoding we ship always starts a new
pre-token, so no BPE merge can cross the split and the sum of the parts is exactly the count
of the whole. That lets a multi-GB file stream through in constant memory on all cores.
"""

from __future__ import annotations

import codecs
import itertools
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from tokman._args import file_path, not_utf8
from tokman.counting._pool import ordered_map, positive, resolve_workers
from tokman.encodings import Encoding, get_encoding, load_vocabulary
from tokman.errors import InvalidRequestError

__all__ = [
    "SAFE_ENCODINGS",
    "SAFE_SPLIT",
    "count",
    "count_file",
    "count_stream",
    "file_pieces",
    "open_binary",
    "resolve_encoding",
    "resolve_encoding_name",
    "safe_split_points",
    "text_pieces",
]

#: Encodings whose pre-tokenizer makes every match of ``SAFE_SPLIT`` a pre-token boundary.
SAFE_ENCODINGS = frozenset({"o200k_base", "cl100k_base", "o200k_harmony"})

#: Positions no pre-token of those encodings can span, whatever the text around them, so BPE
#: cannot merge across them and ``count(a + b) == count(a) + count(b)`` when cutting there:
#: before a space that follows a non-space character (letter, digit and punctuation pieces end
#: before U+0020; whitespace pieces start with it), and after a newline that precedes a letter
#: (a letter piece may start with one non-newline character only). Both are zero-width, so a
#: match's position is the cut. Checked on arbitrary Unicode by tests/counting/test_streaming.py
#: and tests/fitting/test_tokenmap.py.
SAFE_SPLIT = re.compile(r"(?<=\S)(?= )|(?<=\n)(?=[^\W\d_])")
_PIECE_CHARS = 1 << 20  # ~1M characters per piece handed to a worker


def resolve_encoding_name(model: str | None, encoding: str | None) -> str:
    """The encoding named directly, or the one ``model`` uses; exactly one must be given."""
    for name, value in (("model", model), ("encoding", encoding)):
        if value is not None and not isinstance(value, str):
            raise InvalidRequestError(
                name, value, f"expected the {name} name as a string, e.g. model='gpt-4o'"
            )
    if encoding is not None:
        if model is not None:
            raise InvalidRequestError(
                "encoding", encoding, "pass either model= or encoding=, not both"
            )
        return encoding
    if model is None:
        raise InvalidRequestError(
            "model", None, "pass model='gpt-4o' (or another model) or encoding='o200k_base'"
        )
    from tokman.models import encoding_for

    return encoding_for(model)


def resolve_encoding(model: str | None, encoding: str | None) -> Encoding:
    """The verified :class:`Encoding` for ``model`` or ``encoding`` (exactly one given)."""
    return get_encoding(resolve_encoding_name(model, encoding))


def count(text: str, *, model: str | None = None, encoding: str | None = None) -> int:
    """The exact number of tokens in ``text`` for ``model`` (or ``encoding``).

    >>> count("hello world", model="gpt-4o")
    2
    >>> count("<|endoftext|>", encoding="cl100k_base")  # plain text, as the API counts it
    7

    Raises:
        InvalidRequestError: ``text`` is not a ``str``, or holds a lone surrogate (not valid
            UTF-8, so the API could not receive it either); bad ``model``/``encoding``.
        UnknownModelError: the model is unknown.
    """
    return resolve_encoding(model, encoding).count(text)


def safe_split_points(text: str) -> Iterator[int]:
    """Offsets in ``text`` where splitting cannot change the total count."""
    for match in SAFE_SPLIT.finditer(text):
        yield match.start()


def _pieces(chunks: Iterable[str], piece_chars: int) -> Iterator[str]:
    """Regroup text chunks into pieces of at least ``piece_chars``, cut only at safe splits.

    Linear in the input: each chunk is searched once from where a cut would first be big
    enough, and pending text is held as a list of parts, never re-concatenated. Text with no
    safe split (one giant pre-token) cannot be divided exactly and stays in one piece.
    """
    parts: list[str] = []
    size = 0
    context = ""  # the last characters before ``chunk``, for the look-behind
    for chunk in chunks:
        pos = 0
        while size + len(chunk) - pos >= piece_chars:
            window = context + chunk[pos:]
            start = len(context) + max(piece_chars - size, 0)
            match = SAFE_SPLIT.search(window, start)
            if match is None:
                break
            cut = pos + match.start() - len(context)
            parts.append(chunk[pos:cut])
            yield "".join(parts)
            parts, size = [], 0
            context, pos = chunk[max(cut - 1, 0) : cut], cut
        rest = chunk[pos:]
        if rest:
            parts.append(rest)
            size += len(rest)
            context = (context + rest)[-1:]
    if size:
        yield "".join(parts)


def text_pieces(
    chunks: Iterable[str],
    *,
    model: str | None = None,
    encoding: str | None = None,
    piece_chars: int = _PIECE_CHARS,
) -> Iterator[str]:
    """``chunks`` regrouped into pieces whose counts add up to the count of the whole text.

    The pieces are the ones :func:`count_stream` hands to its workers: at least
    ``piece_chars`` characters (the last may be shorter), cut only at safe boundaries; for an
    encoding without safe boundaries, the whole text in one piece. For counting elsewhere
    (``count_batch``, a Ray dataset) with the same total.

    >>> pieces = list(text_pieces(["hello world " * 3], encoding="o200k_base", piece_chars=10))
    >>> pieces, sum(count(p, encoding="o200k_base") for p in pieces)
    (['hello world', ' hello world', ' hello world', ' '], 7)
    """
    name = resolve_encoding_name(model, encoding)
    positive("piece_chars", piece_chars, "the characters per piece")
    if name not in SAFE_ENCODINGS:
        text = "".join(chunks)
        if text:
            yield text
        return
    yield from _pieces(chunks, piece_chars)


def file_pieces(
    path: str | os.PathLike[str],
    *,
    model: str | None = None,
    encoding: str | None = None,
    errors: str = "strict",
    piece_chars: int = _PIECE_CHARS,
) -> Iterator[str]:
    """A UTF-8 file's text as :func:`text_pieces`, read (and refused) as :func:`count_file`
    reads it: the counts of the pieces add up to ``count_file(path)`` exactly; a file of at
    most ``piece_chars`` characters is one piece (an empty file none).

    A generator: nothing is checked or opened until the first piece is asked for.

    Raises:
        The errors of :func:`count_file`: the arguments and the path at the first piece, the
            file's bytes as they are read.
    """
    resolve_encoding_name(model, encoding)  # argument errors before the file is opened
    where, handle = _open(path, errors)
    assert isinstance(errors, str)
    yield from text_pieces(
        _read_text(where, handle, 1 << 20, errors),
        model=model,
        encoding=encoding,
        piece_chars=piece_chars,
    )


def _count_piece(args: tuple[str, str]) -> int:
    encoding, piece = args
    return get_encoding(encoding).count(piece)


def count_stream(
    chunks: Iterable[str],
    *,
    model: str | None = None,
    encoding: str | None = None,
    workers: int | None = None,
    piece_chars: int = _PIECE_CHARS,
) -> int:
    """Count text arriving in chunks (any split), in bounded memory, on ``workers`` processes.

    The total equals ``count("".join(chunks))`` exactly. At most ``2 * workers`` pieces are in
    flight, so memory stays constant however long the stream.

    Raises:
        InvalidRequestError: a chunk is not a ``str`` or holds a lone surrogate (field
            ``chunks``); bad ``workers``/``piece_chars``/``model``/``encoding``.
    """
    name = resolve_encoding_name(model, encoding)
    workers = resolve_workers(workers)
    positive("piece_chars", piece_chars, "the characters per piece handed to a worker")
    if isinstance(chunks, (str, bytes)) or not isinstance(chunks, Iterable):
        raise InvalidRequestError(
            "chunks", chunks, "expected an iterable of str chunks (a list, a generator, a file)"
        )
    try:
        return _count_stream(_checked(chunks), name, workers, piece_chars)
    except InvalidRequestError as exc:
        if exc.field != "text" or not isinstance(exc.value, str):
            raise
        # a piece held a lone surrogate: name the argument the caller passed, near the spot
        text = exc.value
        at = next((i for i, ch in enumerate(text) if 0xD800 <= ord(ch) <= 0xDFFF), 0)
        raise not_utf8("chunks", text[max(at - 20, 0) : at + 20]) from exc


def _checked(chunks: Iterable[object]) -> Iterator[str]:
    for i, chunk in enumerate(chunks):
        if not isinstance(chunk, str):
            raise InvalidRequestError(
                f"chunks[{i}]", chunk, "expected a str; decode bytes first (or use count_file)"
            )
        yield chunk


def _count_stream(chunks: Iterator[str], name: str, workers: int, piece_chars: int) -> int:
    if name not in SAFE_ENCODINGS:
        return get_encoding(name).count("".join(chunks))
    pieces = _pieces(chunks, piece_chars)
    head = list(itertools.islice(pieces, 2))
    # An input of one piece is counted here: a pool is started only when there is work to
    # share (``workers`` is already capped at the cores).
    if workers <= 1 or len(head) < 2:
        enc = get_encoding(name)
        return sum(enc.count(piece) for piece in itertools.chain(head, pieces))
    # Fail here, with the not-found error, before any worker starts; the workers then load the
    # encoding themselves so this process never holds the tokenizer's tables.
    load_vocabulary(name)
    tasks = ((name, piece) for piece in itertools.chain(head, pieces))
    return sum(ordered_map(_count_piece, tasks, workers))


_DECODE_ERRORS = ("strict", "replace", "ignore", "backslashreplace")


def _open(path: object, errors: object) -> tuple[Path, Any]:
    """The file opened for reading, or the error naming ``path``/``errors`` and the fix."""
    if errors not in _DECODE_ERRORS:
        raise InvalidRequestError(
            "errors",
            errors,
            "expected one of " + ", ".join(map(repr, _DECODE_ERRORS)) + " (how invalid UTF-8 "
            "is handled; 'surrogateescape' is refused: it makes text the API cannot receive)",
        )
    where = file_path(path)
    try:
        return where, where.open("rb")
    except FileNotFoundError as exc:
        raise InvalidRequestError("path", str(path), "no such file; check the path") from exc
    except IsADirectoryError as exc:
        raise InvalidRequestError(
            "path", str(path), "is a directory; pass a file (count each file in it)"
        ) from exc
    except PermissionError as exc:
        raise InvalidRequestError(
            "path", str(path), "not readable by this process (permission denied)"
        ) from exc
    except OSError as exc:
        raise InvalidRequestError(
            "path", str(path), f"could not be opened: {exc.strerror or exc}"
        ) from exc


def open_binary(path: object) -> tuple[Path, Any]:
    """``path`` opened for binary reading, or the ``InvalidRequestError`` naming it and the fix.

    Shared with the file readers above this layer (``tokman.files``) so that a missing file,
    a directory or a permission problem reads the same everywhere.
    """
    return _open(path, "strict")


def _read_text(path: Path, handle: Any, block_bytes: int, errors: str) -> Iterator[str]:
    """Decode a file incrementally, with no newline translation (CRLF is content)."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors)
    consumed = 0
    with handle:
        while True:
            block = handle.read(block_bytes)
            pending = len(decoder.getstate()[0])
            try:
                text = decoder.decode(block, final=not block)
            except UnicodeDecodeError as exc:
                raise InvalidRequestError(
                    "path",
                    str(path),
                    f"not valid UTF-8 at byte {consumed - pending + exc.start}; "
                    "pass errors='replace' to count it anyway",
                ) from exc
            consumed += len(block)
            if text:
                yield text
            if not block:
                return


def count_file(
    path: str | os.PathLike[str],
    *,
    model: str | None = None,
    encoding: str | None = None,
    workers: int | None = None,
    errors: str = "strict",
) -> int:
    """Count a UTF-8 text file of any size exactly, streaming it in constant memory.

    ``errors`` is passed to the UTF-8 decoder; the default refuses invalid UTF-8 with an
    ``InvalidRequestError`` naming the file instead of silently changing the text.

    Raises:
        InvalidRequestError: the path is missing, a directory, unreadable or not a path;
            ``errors`` is not one of ``'strict'``, ``'replace'``, ``'ignore'``,
            ``'backslashreplace'``; the file is not valid UTF-8 (with ``errors='strict'``).
    """
    resolve_encoding_name(model, encoding)  # argument errors before the file is opened
    where, handle = _open(path, errors)
    assert isinstance(errors, str)
    try:
        return count_stream(
            _read_text(where, handle, 1 << 20, errors),
            model=model,
            encoding=encoding,
            workers=workers,
        )
    finally:
        handle.close()  # also when count_stream refuses an argument before reading
