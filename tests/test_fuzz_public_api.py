"""Every public entry point refuses bad input with a typed error that names the parameter.

The entry points are listed from ``tokman.__all__``, ``tokman.models.__all__`` and
``tokman.testing.__all__``, so a new
public name fails `test_every_public_name_is_covered` until it has a baseline here. Each
parameter of each entry point is then driven with generated bad values (None, wrong types,
negatives, NaN, +-inf, 2**70, lone surrogates, nested junk, empty containers) while the other
arguments stay valid, and only ``tokman.errors`` exceptions may escape, naming the parameter.
A call that succeeds must not return a silent zero or an empty result (``0``, ``[]``, ``""``)
unless the value is one the parameter really accepts (listed in `ACCEPTS` with the reason).
"""

from __future__ import annotations

import asyncio
import inspect
import math
import os
import tempfile
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tokman
from tokman import models, testing
from tokman.budgets import Reservation
from tokman.errors import LimitExceededError, TokmanError

_TMP = Path(tempfile.mkdtemp(prefix="tokman-fuzz-"))
_TEXT_FILE = _TMP / "text.txt"
_TEXT_FILE.write_text("hello world\n", encoding="utf-8")
HELLO = [{"role": "user", "content": "hello"}]


def _ledger() -> tokman.Ledger:
    return tokman.open_ledger("memory://")


def _recorded_ledger() -> tokman.Ledger:
    ledger = _ledger()
    ledger.record(tokman.UsageRecord(id="r1", model="gpt-4o", prompt_tokens=10))
    return ledger


def _manager() -> tokman.TokenManager:
    return tokman.TokenManager("gpt-4o")


def _no_deprecation(call: Callable[..., Any]) -> Callable[..., Any]:
    """``call`` with the seed's deprecated ``cached=`` allowed (a bool there is a valid value)."""

    def quiet(**kwargs: Any) -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return call(**kwargs)

    return quiet


def _guard() -> tokman.BudgetGuard:
    guard = tokman.BudgetGuard(_ledger())
    guard.add(tokman.Budget("b", 1_000_000, unit="tokens"))
    return guard


def _arrow_texts() -> Any:
    import pyarrow as pa

    return pa.array(["hello", "world"])


def _openai_client() -> Any:
    import httpx2
    import openai

    transport = testing.FakeOpenAI().transport()
    return openai.OpenAI(api_key="sk-fuzz", http_client=httpx2.Client(transport=transport))


@dataclass(frozen=True)
class Entry:
    """How to call one entry point validly; ``params`` are the ones fuzzed."""

    call: Callable[..., Any]
    valid: Callable[[], dict[str, Any]]
    params: tuple[str, ...] = ()
    consume: bool = False  # the result is an iterator: draining it is part of the call
    procedure: bool = False  # returns None by design: only the errors are checked
    signature: Callable[..., Any] | None = None  # where the defaults are, for wrappers


_REQUEST = ("model", "messages", "max_tokens", "max_completion_tokens", "tools", "tool_choice")
_RESPONSES = ("model", "input", "instructions", "max_output_tokens")

ENTRIES: dict[str, Entry] = {
    "count": Entry(tokman.count, lambda: {"text": "hello", "model": "gpt-4o"}),
    "count_file": Entry(
        tokman.count_file,
        lambda: {"path": str(_TEXT_FILE), "model": "gpt-4o", "workers": 1},
    ),
    "count_batch": Entry(
        tokman.count_batch, lambda: {"texts": ["hello", "world"], "model": "gpt-4o", "workers": 1}
    ),
    "iter_count_batch": Entry(
        tokman.iter_count_batch,
        lambda: {"texts": iter(["hello", "world"]), "model": "gpt-4o", "workers": 1},
        consume=True,
    ),
    "count_column": Entry(
        tokman.count_column, lambda: {"column": _arrow_texts(), "model": "gpt-4o", "workers": 1}
    ),
    "count_prompt": Entry(
        tokman.count_prompt, lambda: {"model": "gpt-4o", "messages": HELLO}, _REQUEST
    ),
    "count_prompt_details": Entry(
        tokman.count_prompt_details, lambda: {"model": "gpt-4o", "messages": HELLO}, _REQUEST
    ),
    "check_request": Entry(
        tokman.check_request, lambda: {"model": "gpt-4o", "messages": HELLO}, ()
    ),  # never raises: covered by test_check_request_never_raises
    "validate_request": Entry(
        tokman.validate_request, lambda: {"model": "gpt-4o", "messages": HELLO}, _REQUEST
    ),
    "validate_request (responses)": Entry(
        tokman.validate_request, lambda: {"model": "gpt-4o", "input": "hello"}, _RESPONSES
    ),
    "estimate_cost": Entry(
        tokman.estimate_cost,
        lambda: {"model": "gpt-4o", "messages": HELLO, "max_completion_tokens": 10},
        ("model", "messages", "max_completion_tokens", "at", "batch", "deployment_type"),
    ),
    "cost": Entry(
        tokman.cost,
        lambda: {"usage": {"prompt_tokens": 10, "completion_tokens": 2}, "model": "gpt-4o"},
    ),
    "chunk": Entry(
        tokman.chunk, lambda: {"text": "hello world", "max_tokens": 5, "model": "gpt-4o"}
    ),
    "iter_chunks": Entry(
        tokman.iter_chunks,
        lambda: {"text": "hello world", "max_tokens": 5, "model": "gpt-4o"},
        consume=True,
    ),
    "TextChunker": Entry(tokman.TextChunker, lambda: {"max_tokens": 5, "model": "gpt-4o"}),
    "trim_messages": Entry(
        tokman.trim_messages, lambda: {"messages": HELLO, "model": "gpt-4o", "max_tokens": 100}
    ),
    "get_encoding": Entry(tokman.get_encoding, lambda: {"name": "o200k_base"}),
    "read_usage": Entry(
        tokman.read_usage, lambda: {"usage": {"prompt_tokens": 3, "completion_tokens": 1}}
    ),
    "read_response": Entry(
        tokman.read_response,
        lambda: {"response": {"id": "x", "usage": {"prompt_tokens": 3, "completion_tokens": 1}}},
    ),
    "normalize_request": Entry(
        tokman.normalize_request, lambda: {"request": {"model": "gpt-4o", "messages": HELLO}}
    ),
    "encoding_for_model": Entry(tokman.encoding_for_model, lambda: {"model": "gpt-4o"}),
    "open_ledger": Entry(tokman.open_ledger, lambda: {"url": "memory://"}),
    "open_async_ledger": Entry(tokman.open_async_ledger, lambda: {"url": "memory://"}),
    "Ledger": Entry(tokman.Ledger, lambda: {"store": _ledger().store}),
    "AsyncLedger": Entry(tokman.AsyncLedger, lambda: {"ledger": _ledger()}),
    "UsageRecord": Entry(
        tokman.UsageRecord,
        lambda: {"id": "r1", "model": "gpt-4o", "prompt_tokens": 10, "completion_tokens": 2},
        ("id", "time", "model", "deployment", "operation", "prompt_tokens", "cached_tokens",
         "completion_tokens", "reasoning_tokens", "cost", "status", "latency", "tags"),
    ),
    "UsageRecord.from_response": Entry(
        tokman.UsageRecord.from_response,
        lambda: {"response": {"id": "x", "model": "gpt-4o",
                              "usage": {"prompt_tokens": 3, "completion_tokens": 1}}},
        ("response", "model", "deployment", "operation", "tags", "latency", "time"),
    ),
    "Ledger.record": Entry(
        lambda record: _ledger().record(record),
        lambda: {"record": tokman.UsageRecord(id="r1", model="gpt-4o", prompt_tokens=1)},
    ),
    "Ledger.summary": Entry(
        lambda **kw: _recorded_ledger().summary(**kw),
        lambda: {"group_by": ["model"]},
        ("group_by", "since", "until", "model", "tags"),
        signature=tokman.Ledger.summary,
    ),
    "Budget": Entry(
        tokman.Budget,
        lambda: {"id": "b", "limit": 100, "unit": "tokens"},
        ("id", "limit", "unit", "period", "model", "deployment", "tags"),
    ),
    "BudgetGuard": Entry(tokman.BudgetGuard, lambda: {"target": _ledger()}, ("target", "ttl")),
    "BudgetGuard.add": Entry(
        lambda budget: _guard().add(budget),
        lambda: {"budget": tokman.Budget("x", 1)},
        procedure=True,
    ),
    "BudgetGuard.reserve": Entry(
        lambda **kw: _guard().reserve(**kw),
        lambda: {"model": "gpt-4o", "prompt_tokens": 10, "max_completion_tokens": 10},
        ("model", "prompt_tokens", "max_completion_tokens", "tags", "cost", "ttl"),
        signature=tokman.BudgetGuard.reserve,
    ),
    "Reservation.settle": Entry(
        lambda **kw: _guard().reserve(model="gpt-4o", prompt_tokens=1).settle(**kw),
        lambda: {"tokens": 1},
        ("tokens", "cost"),
        procedure=True,
        signature=Reservation.settle,
    ),
    "Quota": Entry(
        tokman.Quota,
        lambda: {"tpm": 1_000, "rpm": 60},
        ("tpm", "rpm", "token_window", "request_window"),
    ),
    "RateLimiter": Entry(
        tokman.RateLimiter,
        lambda: {"quota": tokman.Quota(tpm=1_000, rpm=60)},
        ("quota", "backend", "name", "on_backend_error", "poll_interval", "key_prefix"),
    ),
    "AsyncRateLimiter": Entry(
        tokman.AsyncRateLimiter,
        lambda: {"quota": tokman.Quota(tpm=1_000, rpm=60)},
        ("quota", "backend", "name", "on_backend_error", "poll_interval", "key_prefix"),
    ),
    "RateLimiter.acquire": Entry(
        lambda **kw: tokman.RateLimiter(tokman.Quota(tpm=100_000, rpm=600)).acquire(**kw),
        lambda: {"request": {"model": "gpt-4o", "messages": HELLO, "max_tokens": 5}},
        ("tokens", "request", "timeout"),
        signature=tokman.RateLimiter.acquire,
    ),
    "RateReservation.settle": Entry(
        lambda **kw: tokman.RateLimiter(tokman.Quota(tpm=1_000, rpm=60)).acquire(10).settle(**kw),
        lambda: {"actual": 5},
        ("actual",),
        signature=tokman.RateReservation.settle,
    ),
    "RateLimiter.observe": Entry(
        lambda **kw: tokman.RateLimiter(tokman.Quota(tpm=1_000, rpm=60)).observe(**kw),
        lambda: {"status": 429, "headers": {"retry-after-ms": "1"}},
        ("status", "headers"),
        procedure=True,
    ),
    "instrument": Entry(
        tokman.instrument,
        lambda: {"client": _openai_client()},
        ("client", "ledger", "limiter", "budgets", "metrics", "tags", "validate", "on_error",
         "max_wait", "clock"),
    ),
    "AzureOpenAIConfig": Entry(
        tokman.AzureOpenAIConfig,
        lambda: {"endpoint": "https://r.openai.azure.com", "api_key": "k" * 16,
                 "api_version": "2024-10-21"},
        ("endpoint", "api_key", "api_version", "deployment", "model_limits"),
    ),
    "TokenManager": Entry(
        tokman.TokenManager,
        lambda: {"model": "gpt-4o"},
        ("model", "deployment_name", "config", "metrics_collector", "ledger", "tags",
         "cache_size"),
    ),
    "TokenManager.estimate_tokens": Entry(
        lambda **kw: _manager().estimate_tokens(**kw), lambda: {"text": "hello"}, ("text",)
    ),
    "TokenManager.validate_request": Entry(
        lambda **kw: asyncio.run(_manager().validate_request(**kw)),
        lambda: {"prompt": "hello"},
        ("prompt", "max_completion_tokens"),
        signature=tokman.TokenManager.validate_request,
    ),
    "TokenManager.validate_request_sync": Entry(
        lambda **kw: _manager().validate_request_sync(**kw),
        lambda: {"prompt": "hello"},
        ("prompt", "max_completion_tokens"),
        signature=tokman.TokenManager.validate_request_sync,
    ),
    "TokenManager.chunk_text": Entry(
        lambda **kw: _manager().chunk_text(**kw),
        lambda: {"text": "hello world", "max_tokens": 5},
        ("text", "max_tokens"),
    ),
    "TokenManager.calculate_usage": Entry(
        _no_deprecation(lambda **kw: _manager().calculate_usage(**kw)),
        lambda: {"prompt_tokens": 10, "completion_tokens": 2},
        ("prompt_tokens", "completion_tokens", "cached_tokens", "reasoning_tokens", "cached"),
        signature=tokman.TokenManager.calculate_usage,
    ),
    "TokenManager.track_request": Entry(
        lambda **kw: _manager().track_request(**kw),
        lambda: {"request_tokens": 10, "response_tokens": 2},
        ("request_tokens", "response_tokens", "cached_tokens", "reasoning_tokens"),
        procedure=True,
        signature=tokman.TokenManager.track_request,
    ),
    "TokenManager.get_token_costs": Entry(
        lambda **kw: _manager().get_token_costs(**kw),
        dict,
        ("cached",),
        signature=tokman.TokenManager.get_token_costs,
    ),
    "TokenUsage": Entry(
        tokman.TokenUsage,
        lambda: {"prompt_tokens": 10, "completion_tokens": 2, "total_tokens": 12,
                 "estimated_cost": 0.001},
        ("prompt_tokens", "completion_tokens", "total_tokens", "estimated_cost",
         "cached_tokens", "reasoning_tokens", "cost"),
    ),
    "estimate_tokens": Entry(tokman.estimate_tokens, lambda: {"text": "hello", "model": "gpt-4o"}),
    "chunk_text": Entry(tokman.chunk_text, lambda: {"text": "hello world", "model": "gpt-4o"}),
    "LoggerSetup.get_logger": Entry(tokman.LoggerSetup.get_logger, lambda: {"name": "app"}),
    "models.get": Entry(models.get, lambda: {"name": "gpt-4o"}),
    "models.encoding_for": Entry(models.encoding_for, lambda: {"model": "gpt-4o"}),
    "models.encoding_for_model": Entry(models.encoding_for_model, lambda: {"model": "gpt-4o"}),
    "models.list": Entry(models.list, dict),
    "models.load": Entry(models.load, lambda: {"path": str(_TMP / "models.json")}),
    "models.load_deployments": Entry(
        models.load_deployments, lambda: {"source": {"d1": {"model": "gpt-4o"}}}
    ),
    "models.normalize_deployment_type": Entry(
        models.normalize_deployment_type, lambda: {"deployment_type": "GlobalStandard"}
    ),
    "models.register": Entry(
        models.register,
        lambda: {"name": "fuzz-model", "encoding": "o200k_base", "context_window": 1000},
        ("name", "encoding", "context_window", "max_output_tokens", "max_input_tokens",
         "aliases", "snapshots", "family", "kind", "reasoning", "providers", "prices"),
    ),
    "models.register_deployment": Entry(
        models.register_deployment,
        lambda: {"name": "fuzz-dep", "model": "gpt-4o"},
        ("name", "model", "deployment_type", "region", "tpm", "rpm"),
    ),
    "models.register_model": Entry(
        models.register_model, lambda: {"info": models.get("gpt-4o")}
    ),
    "testing.FakeClock": Entry(testing.FakeClock, dict, ("start", "monotonic")),
    "testing.FakeOpenAI": Entry(
        testing.FakeOpenAI,
        lambda: {"reply": "Hi.", "deployments": {"dep": "gpt-4o"}},
        ("reply", "cached_tokens", "reasoning_tokens", "deployments", "headers", "dimensions"),
    ),
    "testing.FakeOpenAI.fail_next": Entry(
        lambda **kw: testing.FakeOpenAI().fail_next(**kw),
        lambda: {"status": 429},
        ("status", "headers", "body", "code", "times"),
        procedure=True,
        signature=testing.FakeOpenAI.fail_next,
    ),
    "testing.FakeOpenAI.cut_stream_next": Entry(
        lambda **kw: testing.FakeOpenAI().cut_stream_next(**kw),
        lambda: {"after": 2},
        ("after",),
        procedure=True,
    ),
    "testing.FakeOpenAI.handle": Entry(
        lambda **kw: testing.FakeOpenAI().handle(**kw),
        lambda: {"method": "POST", "path": "/v1/chat/completions",
                 "body": {"model": "gpt-4o", "messages": HELLO}},
        ("method", "path", "query", "headers", "body"),
    ),
    "testing.fake_response": Entry(
        testing.fake_response,
        dict,
        ("kind", "prompt_tokens", "completion_tokens", "cached_tokens", "reasoning_tokens"),
    ),
}
(_TMP / "models.json").write_text('{"models": []}', encoding="utf-8")

#: Public names that are not entry points a caller feeds input to, with the reason.
NOT_ENTRY_POINTS = {
    "errors": "module",
    "models": "module (its functions are entries above)",
    "__version__": "a string",
    "Chunk": "result type: tokman builds it",
    "RateReservation": "result type: RateLimiter.acquire() builds it (settle is an entry above)",
    "AsyncRateReservation": "result type: AsyncRateLimiter.acquire() builds it",
    "Cost": "result type: tokman.cost() builds it",
    "CostEstimate": "result type: estimate_cost() builds it",
    "PromptCount": "result type: count_prompt_details() builds it",
    "RequestCheck": "result type: check_request() builds it",
    "TrimResult": "result type: trim_messages() builds it",
    "Encoding": "built by get_encoding() from a verified vocabulary file",
    "Usage": "result type: read_usage() builds it",
    "UsageReport": "result type: read_response() builds it",
    "NormalizedRequest": "result type: normalize_request() builds it",
    "ModelInfo": "value type; register_model() validates it (an entry above)",
    "LoggerSetup": "namespace of the seed's get_logger (an entry above)",
    "models.memo": "internal cache hook for tokman's own layers",
    "models.reset": "takes no input",
    "shutdown_workers": "takes no input",
    "models.deployments": "takes no input",
    "testing.FakeReply": "result type: FakeOpenAI.handle() builds it",
    "testing.FakeRequest": "result type: FakeOpenAI records it",
    "testing.FakeServer": "built by FakeOpenAI.serve() around a checked FakeOpenAI",
    "testing.batch_line": "wraps a fake_response() body as given, a test's own data",
}

#: (entry, parameter) -> predicate for values the parameter accepts, and why.
ACCEPTS: dict[tuple[str, str], Callable[[Any], bool]] = {
    ("count", "text"): lambda v: v == "",  # the empty text has 0 tokens
    # no texts, no counts: an empty list / tuple is a batch of zero texts
    ("count_batch", "texts"): lambda v: isinstance(v, (list, tuple)) and len(v) == 0,
    ("iter_count_batch", "texts"): lambda v: isinstance(v, (list, tuple)) and len(v) == 0,
    ("chunk", "text"): lambda v: v == "",  # the empty text has no chunks
    ("iter_chunks", "text"): lambda v: v == "",
    ("estimate_tokens", "text"): lambda v: v == "",  # the seed's name for count
    ("chunk_text", "text"): lambda v: v == "",
    ("TokenManager.estimate_tokens", "text"): lambda v: v == "",
    ("TokenManager.chunk_text", "text"): lambda v: v == "",
    ("Ledger.summary", "group_by"): lambda v: v in ([], (), ""),  # [] = one total row
    # filters: a well-formed value that matches no record selects nothing
    ("Ledger.summary", "model"): lambda v: isinstance(v, str) and bool(v.strip()),
    ("Ledger.summary", "tags"): lambda v: isinstance(v, dict),
}


#: (entry, parameter) -> the name the error uses for it, where that reads better.
ALIASES = {("get_encoding", "name"): "encoding"}


def _all_entries() -> list[str]:
    names = [n for n in tokman.__all__ if n not in NOT_ENTRY_POINTS]
    names += [f"models.{n}" for n in models.__all__ if callable(getattr(models, n))]
    names += [f"testing.{n}" for n in testing.__all__]
    return names


def test_every_public_name_is_covered() -> None:
    """A new public name needs a baseline here (or a reason it takes no input)."""
    missing = [
        name
        for name in _all_entries()
        if name not in ENTRIES
        and name not in NOT_ENTRY_POINTS
        and not isinstance(getattr(models, name.split(".", 1)[-1], None), type)
    ]
    assert missing == [], f"add fuzz baselines for: {missing}"


def _params(name: str) -> list[str]:
    entry = ENTRIES[name]
    if entry.params:
        return list(entry.params)
    sig = inspect.signature(entry.call)
    return [
        p.name
        for p in sig.parameters.values()
        if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL) and p.name not in ("self", "clock")
    ]


CASES = [(name, param) for name in ENTRIES for param in _params(name)]
COVERED: set[str] = set()


class _Junk:
    def __repr__(self) -> str:
        return "<junk>"


BAD = st.one_of(
    st.sampled_from(
        [None, _Junk(), b"bytes", -1, 0, -(2**70), 2**70, math.nan, math.inf, -math.inf, -0.5,
         1.5, True, "", " ", "\ud800", "a\udfffb", [], {}, (), [None], {"": None}, [[[]]],
         [{"role": None}], {"prompt_tokens": None}, Decimal("NaN"), Decimal("-1"),
         Decimal("Infinity"), "not-a-model-\u0000"]
    ),
    st.recursive(
        st.none() | st.integers(-3, 3) | st.text(max_size=3),
        lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=2), inner,
                                                                     max_size=2),
        max_leaves=4,
    ),
)


def _silent(result: Any) -> bool:
    if result is None or result == 0:
        return isinstance(result, (int, type(None))) and not isinstance(result, bool)
    return isinstance(result, (list, tuple, str, dict)) and len(result) == 0


@pytest.fixture(autouse=True, scope="module")
def _sandbox() -> Iterator[None]:
    """Ledgers opened with a junk URL never land in the user's data directory."""
    old = os.environ.get("TOKMAN_LEDGER_URL")
    os.environ["TOKMAN_LEDGER_URL"] = "memory://"
    yield
    if old is None:
        os.environ.pop("TOKMAN_LEDGER_URL", None)
    else:
        os.environ["TOKMAN_LEDGER_URL"] = old
    models.reset()


@pytest.mark.parametrize(("name", "param"), CASES, ids=[f"{n}-{p}" for n, p in CASES])
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(bad=BAD)
def test_bad_values_get_typed_errors(name: str, param: str, bad: Any) -> None:
    """Only tokman errors escape, naming the parameter; no silent zero for unreadable input."""
    entry = ENTRIES[name]
    kwargs = entry.valid()
    if param in kwargs and _same(kwargs[param], bad):
        return
    if param not in kwargs and _is_default(entry.signature or entry.call, param, bad):
        return
    kwargs[param] = bad
    COVERED.add(name)
    try:
        result = entry.call(**kwargs)
        if entry.consume:
            result = list(result)
    except LimitExceededError:
        return  # the value was read and does not fit (a budget, a context window): correct
    except TokmanError as exc:
        named = ALIASES.get((name, param), param)
        assert named.lower() in str(exc).lower() or _names_field(exc, named), (
            f"{name}({param}={bad!r}): {type(exc).__name__} does not name {param!r}: {exc}"
        )
        return
    except Exception as exc:
        pytest.fail(f"{name}({param}={bad!r}) raised {type(exc).__name__}: {exc}")
    finally:
        models.reset()
    accepted = ACCEPTS.get((name, param))
    if entry.procedure:
        return
    if _silent(result) and not (accepted is not None and accepted(bad)):
        pytest.fail(f"{name}({param}={bad!r}) returned {result!r} instead of an error")


def _same(a: Any, b: Any) -> bool:
    try:
        return type(a) is type(b) and bool(a == b)
    except Exception:
        return False


def _is_default(call: Callable[..., Any], param: str, value: Any) -> bool:
    try:
        default = inspect.signature(call).parameters[param].default
    except (KeyError, ValueError, TypeError):
        return False
    return default is not inspect.Parameter.empty and _same(default, value)


def _names_field(exc: TokmanError, param: str) -> bool:
    field_path = getattr(exc, "field", None)
    return isinstance(field_path, str) and param in field_path


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    request=st.dictionaries(
        st.sampled_from(["model", "messages", "input", "max_tokens", "max_completion_tokens",
                         "max_output_tokens", "tools", "tool_choice", "instructions",
                         "max_token", "n"]),
        BAD,
        max_size=4,
    )
)  # fmt: skip
def test_check_request_never_raises(request: Mapping[str, Any]) -> None:
    """check_request reports problems; it never raises, whatever it is given."""
    COVERED.add("check_request")
    check = tokman.check_request(**{"model": "gpt-4o", "messages": HELLO, **request})
    for problem in check.problems:
        assert problem.message and problem.field


def fuzz_summary() -> str:
    """The line the terminal summary prints (tests/conftest.py)."""
    return (
        f"fuzz: {len(ENTRIES)} public entry points, {len(CASES)} parameters driven with bad "
        f"values ({len(COVERED)} entry points exercised in this run)"
    )
