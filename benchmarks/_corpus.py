"""Offline benchmark corpora: prose, code and CJK text built from files every machine has."""

from __future__ import annotations

import inspect
import json
import random
import re
import textwrap
from pathlib import Path

__all__ = ["cjk", "code", "corpora", "prose", "unique_documents"]

_REPO = Path(__file__).resolve().parent.parent


def prose(min_chars: int = 1_000_000) -> str:
    """English prose: this repository's Markdown docs and the stdlib's docstrings."""
    import collections
    import email
    import json as json_module

    parts = [p.read_text(encoding="utf-8") for p in sorted(_REPO.glob("*.md"))]
    for module in (collections, email, json_module, textwrap, inspect):
        parts.extend(
            textwrap.dedent(obj.__doc__)
            for _, obj in inspect.getmembers(module)
            if isinstance(getattr(obj, "__doc__", None), str)
        )
    text = "\n\n".join(p for p in parts if p)
    return (text + "\n\n") * (min_chars // max(len(text), 1) + 1)


def code(min_chars: int = 1_000_000) -> str:
    """Python source from the standard library."""
    import asyncio
    import logging

    files = [*sorted(Path(asyncio.__file__).parent.glob("*.py")), Path(logging.__file__)]
    text = "\n\n".join(p.read_text(encoding="utf-8") for p in files)
    return text * (min_chars // len(text) + 1)


def cjk(min_chars: int = 300_000) -> str:
    """Chinese and Japanese sentences with punctuation, generated deterministically."""
    rng = random.Random(42)
    zh = (
        "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动"
        "同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自"
        "二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日"
        "那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变"
        "条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总"
        "次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指"
        "几九区强放决西被干做必战先回则任取据处理府研"
    )
    ja = (
        "日本語のテキストですこれはトークン数を数えるための"
        "文章でありひらがなとカタカナと漢字を含みます"
    )
    punct = "。、，！？「」"
    out: list[str] = []
    size = 0
    while size < min_chars:
        alphabet = zh if rng.random() < 0.6 else ja
        sentence = "".join(rng.choice(alphabet) for _ in range(rng.randrange(8, 40)))
        sentence += rng.choice(punct)
        if rng.random() < 0.1:
            sentence += "\n\n"
        out.append(sentence)
        size += len(sentence)
    return "".join(out)


def _python_files() -> list[Path]:
    """Every ``.py`` file of the standard library and of the installed packages, sorted."""
    import sysconfig

    roots = {Path(sysconfig.get_paths()[key]) for key in ("stdlib", "purelib", "platlib")}
    return sorted({p for root in roots if root.is_dir() for p in root.rglob("*.py")})


_DOCSTRING = re.compile(r'"""(.*?)"""', re.DOTALL)


def unique_documents(kind: str, min_chars: int, seed: int = 16) -> list[str]:
    """At least ``min_chars`` characters of distinct documents, shuffled (no document twice,
    so no benchmark round is counted from a warm cache of the same text).

    ``prose``: paragraphs of triple-quoted strings, docstrings nearly all (stdlib and installed
    packages, read as text, never imported); ``code``: blank-line-separated blocks of their
    source; ``cjk``: generated 700-character Chinese/Japanese documents.
    """
    if kind == "cjk":
        text = cjk(min_chars + 700)
        return [text[i : i + 700] for i in range(0, len(text), 700)]
    if kind not in ("prose", "code"):
        raise ValueError(f"kind={kind!r}: expected 'prose', 'code' or 'cjk'")
    seen: set[str] = set()
    out: list[str] = []
    size = 0
    for path in _python_files():
        try:
            source = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        if kind == "code":
            parts = source.split("\n\n")
        else:
            parts = [p for doc in _DOCSTRING.findall(source) for p in doc.split("\n\n")]
        for part in parts:
            if len(part.strip()) > 40 and part not in seen:
                seen.add(part)
                out.append(part)
                size += len(part)
        if size >= min_chars:
            break
    random.Random(seed).shuffle(out)
    return out


def corpora(min_chars: int = 1_000_000) -> dict[str, str]:
    """The three corpora every text benchmark runs on."""
    return {"prose": prose(min_chars), "code": code(min_chars), "cjk": cjk(min_chars // 2)}


if __name__ == "__main__":
    print(json.dumps({name: len(text) for name, text in corpora().items()}))
