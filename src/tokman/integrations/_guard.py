"""The I/O around one instrumented call: reserve before it, settle and record after it.

`Guard` (sync) and `AsyncGuard` (asyncio) are the thin shells around the pure pipeline
(`tokman.integrations._pipeline`). For each covered call:

* **before** -- plan it (validate, count, worst case), wait for rate-limit admission
  (``max_wait`` seconds at most), hold the worst case on every matching budget. A refusal
  (rate limit, budget, a request the API would reject) raises tokman's error; nothing is sent.
* **after** -- read the real usage, settle the rate-limit reservation in its own window and the
  budget hold, write one `UsageRecord` to the ledger, feed the response headers to the limiter
  (``x-ratelimit-remaining-tokens``), emit one `CallEvent` to the metrics sink.
* **on error** -- release both holds, record the failure (``status="error"``, no tokens), and
  feed a 429's ``retry-after`` to the limiter so every process sharing the quota pauses.

``on_error`` is the policy for tokman's *own* failures before a call (a model the registry does
not know, a budget store that is down): ``"raise"`` (default) raises them, so nothing goes out
unaccounted; ``"log"`` logs a warning once per kind of failure and sends the call without
that part of the bookkeeping. After a call has been served, a bookkeeping failure never
takes the response from the caller: it is logged as an error with the record (no secrets in
it), and the ledger's spool, when configured, keeps the record for later.

The async shell awaits the `AsyncRateLimiter` and runs the budget and ledger work (sync
stores) in one worker-thread hand-off per step. When the ledger is SQLite (and the budgets, if
any, live in it), those steps go to the store's group-commit thread (`SqlStore.submit`):
concurrent calls share one transaction and one fsync, and each step still returns only once
its rows are committed.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import re
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from tokman._units import check_seconds, check_tags
from tokman.errors import (
    ConfigurationError,
    InvalidRequestError,
    LimitExceededError,
    TokmanError,
)
from tokman.integrations._pipeline import (
    Call,
    Plan,
    estimated_usage,
    event_for,
    plan_call,
    record_for,
)
from tokman.integrations._streams import StreamTap
from tokman.integrations.metrics._event import Outcome
from tokman.types import Clock, SystemClock
from tokman.usage import Usage, read_response

if TYPE_CHECKING:
    from tokman.budgets import BudgetGuard, Reservation
    from tokman.integrations.metrics import MetricsSink
    from tokman.ledger import Ledger, UsageRecord
    from tokman.ratelimit import AsyncRateLimiter, RateLimiter, RateReservation

__all__ = ["Active", "AsyncGuard", "Guard", "OnError"]

OnError = Literal["raise", "log"]

_log = logging.getLogger("tokman.integrations")
_T = TypeVar("_T")
# bodies above this are not parsed whole just to find their usage (embeddings of big batches)
_PARSE_WHOLE = 256 * 1024
_ID = re.compile(rb'"id"\s*:\s*"([^"]*)"')


@dataclass(slots=True)
class Active:
    """A call in flight: its plan, its holds and its clock readings."""

    plan: Plan
    started: float
    rate: RateReservation | None = None
    budget: Reservation | None = None
    wait: float | None = None
    first_chunk: float | None = None
    tap: StreamTap | None = None
    done: bool = False
    record: UsageRecord | None = field(default=None, repr=False)

    def passed(self, chunk: bytes, clock: Clock) -> bytes:
        """A streamed chunk through the tap: notes the time to the first chunk, returns the
        whole events to hand on (the one step every stream shell takes per chunk)."""
        if self.first_chunk is None:
            self.first_chunk = clock.monotonic() - self.started
        assert self.tap is not None
        return self.tap.feed(chunk)


class _Shell:
    """What the sync and async guards share: arguments, planning, outcomes, events."""

    def __init__(
        self,
        *,
        ledger: Any = None,
        limiter: Any = None,
        budgets: BudgetGuard | None = None,
        metrics: MetricsSink | None = None,
        tags: Mapping[str, str] | None = None,
        validate: bool = True,
        on_error: OnError = "raise",
        max_wait: float | None = 60.0,
        clock: Clock | None = None,
    ) -> None:
        self.ledger: Ledger | None = _as_ledger(ledger)
        self.limiter = limiter
        if budgets is not None:
            from tokman.budgets import BudgetGuard

            if not isinstance(budgets, BudgetGuard):
                raise InvalidRequestError(
                    "budgets", budgets, "a tokman.BudgetGuard(ledger) with budgets added"
                )
        self.budgets = budgets
        self.metrics = _as_sink(metrics)
        self.tags = check_tags(tags, "tags")
        if validate is not True and validate is not False:
            raise InvalidRequestError("validate", validate, "True or False")
        self.validate = validate
        if on_error not in ("raise", "log"):
            raise InvalidRequestError("on_error", on_error, "'raise' or 'log'")
        self.on_error: OnError = on_error
        self.max_wait = (
            None if max_wait is None else check_seconds(max_wait, "max_wait", positive=False)
        )
        if not isinstance(clock, (type(None), Clock)):
            raise InvalidRequestError(
                "clock", clock, "a tokman.types.Clock (monotonic() and now()), e.g. FakeClock()"
            )
        self.clock: Clock = clock if clock is not None else SystemClock()
        self._logged: set[str] = set()
        # how stale the budget_remaining_usd gauge may be (the gateway sets 1 s: the read is a
        # query per call per USD budget; the SDK default 0 reads it after every call)
        self.remaining_refresh = 0.0
        self._left: dict[str, tuple[float, Decimal]] = {}

    # -- before ---------------------------------------------------------------------------

    def plan(self, call: Call, tags: Mapping[str, str] | None = None) -> Plan | None:
        """The call's plan (under this shell's tags and the call's own ``tags``); ``None`` to
        send it unaccounted (``on_error="log"``)."""
        merged = {**self.tags, **tags} if tags else self.tags
        try:
            return plan_call(call, validate=self.validate, tags=merged)
        except (LimitExceededError, InvalidRequestError) as exc:
            self.refused(call, None, exc)
            raise
        except TokmanError as exc:
            self._own_failure(call, exc)
            return None

    def _own_failure(self, call: Call, exc: TokmanError) -> None:
        if self.on_error == "raise":
            self.refused(call, None, exc)
            raise exc
        kind = f"{type(exc).__name__}:{call.name}"
        if kind not in self._logged:
            self._logged.add(kind)
            _log.warning("call sent without tokman's accounting (on_error='log'): %s", exc)

    def refused(self, call: Call, plan: Plan | None, exc: TokmanError) -> None:
        """Emit the event of a call tokman refused before sending it."""
        self.emit(event_for(plan, call, "refused", error_type=exc.code))

    # -- after ----------------------------------------------------------------------------

    def served(self, active: Active, body: bytes) -> tuple[UsageRecord, Outcome, str | None]:
        """The record of a non-streaming call served with ``body``."""
        report = _read_body(body)
        if report is None:  # served without usage (never seen from the API): an estimate
            return self._record(active, estimated_usage(active.plan, ""), "estimated", None, None)
        usage, rid, model = report
        return self._record(active, usage, "ok", rid, model)

    def streamed(self, active: Active, tap: StreamTap) -> tuple[UsageRecord, Outcome, str | None]:
        """The record of a stream that ended (completely or not)."""
        if tap.usage is not None:
            return self._record(active, tap.usage, "ok", tap.response_id, tap.response_model)
        usage = estimated_usage(active.plan, tap.text)
        return self._record(active, usage, "estimated", tap.response_id, tap.response_model)

    def failure(self, active: Active) -> UsageRecord:
        """The record of a failed call: no tokens billed as far as tokman knows."""
        return record_for(active.plan, usage=None, status="error", latency=self._latency(active))

    def _record(
        self, active: Active, usage: Usage, status: Outcome, rid: str | None, model: str | None
    ) -> tuple[UsageRecord, Outcome, str | None]:
        record = record_for(
            active.plan,
            usage=usage,
            status=status,
            response_id=rid,
            response_model=model,
            latency=self._latency(active),
        )
        return record, status, model

    def _latency(self, active: Active) -> float:
        return max(0.0, self.clock.monotonic() - active.started)

    def event(
        self,
        active: Active,
        outcome: Outcome,
        *,
        record: UsageRecord | None,
        status_code: int | None,
        error_type: str | None = None,
        response_model: str | None = None,
        remaining: Mapping[str, Decimal] | None = None,
    ) -> None:
        """Emit the event of a call that ended."""
        if self.metrics is None:
            return
        self.emit(
            event_for(
                active.plan,
                active.plan.call,
                outcome,
                record=record,
                status_code=status_code,
                error_type=error_type,
                response_model=response_model,
                duration=self._latency(active),
                first_chunk=active.first_chunk,
                limiter_wait=active.wait,
                budget_remaining=remaining,
            )
        )

    def emit(self, event: Any) -> None:
        """Hand an event to the sink; a failing sink is logged, never fails the call."""
        if self.metrics is None:
            return
        try:
            self.metrics.record_call(event)
        except Exception:
            _log.exception("metrics sink %r failed on a call event", self.metrics)

    # -- the sync bookkeeping, run inline (Guard) or in a worker thread (AsyncGuard) -------

    def book(self, active: Active, record: UsageRecord) -> dict[str, Decimal]:
        """Settle the budget hold with ``record`` and store it; the USD budgets' remaining."""
        budget, remaining = active.budget, {}
        try:
            if budget is not None and self.budgets is not None:
                stored = self.budgets.settle(budget, record)
                if self.ledger is not None and self.ledger is not self.budgets.ledger:
                    self.ledger.record(record)
                if self.metrics is not None:
                    remaining = self._remaining(budget.budgets)
                active.record = stored
            elif self.ledger is not None:
                active.record = self.ledger.record(record)
        except Exception:
            _log.exception(
                "usage of a served call could not be stored; the record: %s",
                json.dumps(record.to_dict()),
            )
        return remaining

    def _remaining(self, budgets: tuple[Any, ...]) -> dict[str, Decimal]:
        """USD left on ``budgets`` for the metrics gauge: read at most every
        ``remaining_refresh`` seconds per budget (0: after every call)."""
        assert self.budgets is not None
        out, now = {}, self.clock.monotonic()
        for b in budgets:
            if b.unit != "usd":
                continue
            cached = self._left.get(b.id)
            if cached is None or now - cached[0] >= self.remaining_refresh or now < cached[0]:
                cached = self._left[b.id] = (now, Decimal(self.budgets.status(b.id).remaining))
            out[b.id] = cached[1]
        return out

    def unhold_budget(self, active: Active) -> None:
        """Release the budget hold of a call that failed (idempotent)."""
        if active.budget is not None and self.budgets is not None:
            try:
                self.budgets.release(active.budget)
            except TokmanError:
                _log.exception("budget hold %s could not be released", active.budget.id)

    def book_failure(self, active: Active, record: UsageRecord) -> None:
        """Release the budget hold and store the failure record."""
        self.unhold_budget(active)
        if self.ledger is not None:
            try:
                self.ledger.record(record)
            except Exception:
                _log.exception("failed call's record could not be stored: %s", record.id)

    def reserve_budget(self, plan: Plan) -> Reservation | None:
        """Hold the worst case on every matching budget (raises `BudgetExceededError`)."""
        if self.budgets is None:
            return None
        return self.budgets.reserve(
            model=plan.model,
            prompt_tokens=plan.prompt_tokens,
            max_completion_tokens=plan.completion_limit,
            deployment=plan.call.deployment,
            tags=plan.tags,
        )


class Guard(_Shell):
    """The sync shell (see the module docstring); ``limiter`` is a `tokman.RateLimiter`."""

    limiter: RateLimiter | None

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        from tokman.ratelimit import RateLimiter

        if self.limiter is not None and not isinstance(self.limiter, RateLimiter):
            raise InvalidRequestError(
                "limiter", self.limiter, "a tokman.RateLimiter for a sync client"
            )

    def begin(self, call: Call, tags: Mapping[str, str] | None = None) -> Active | None:
        """Plan, admit and hold; ``None`` to pass the call through unaccounted. ``tags`` are
        this call's own (the gateway's tenant and key), added to the shell's.

        Raises:
            LimitExceededError: rate limit (``max_wait`` passed), budget or context window.
            InvalidRequestError: a request the API would reject (``validate=True``).
        """
        plan = self.plan(call, tags)
        if plan is None:
            return None
        active = Active(plan, self.clock.monotonic())
        try:
            if self.limiter is not None:
                active.rate = self.limiter.acquire(plan.worst_case, timeout=self.max_wait)
                active.wait = self.clock.monotonic() - active.started
            active.budget = self.reserve_budget(plan)
        except (LimitExceededError, InvalidRequestError) as exc:
            self._drop_rate(active)
            self.refused(call, plan, exc)
            raise
        except TokmanError as exc:
            self._drop_rate(active)
            self._own_failure(call, exc)
            return None
        active.started = self.clock.monotonic()
        return active

    def _drop_rate(self, active: Active) -> None:
        if active.rate is not None:
            _quietly(active.rate.release)

    def response(self, active: Active, status: int, headers: Any, body: bytes) -> None:
        """A non-streaming response arrived whole."""
        self.observe(status, headers)
        if status >= 400:
            self.failed(active, status, headers=None, error_type=str(status))
            return
        record, outcome, model = self.served(active, body)
        self._settle(active, record, outcome, status, model)

    def stream_ended(self, active: Active, status: int) -> None:
        """A streamed response ended: exhausted, cut or closed early (idempotent)."""
        if active.done or active.tap is None:
            return
        record, outcome, model = self.streamed(active, active.tap)
        self._settle(active, record, outcome, status, model)

    def _settle(
        self, active: Active, record: UsageRecord, outcome: Outcome, status: int, model: str | None
    ) -> None:
        active.done = True
        if active.rate is not None:
            _quietly(active.rate.settle, record.total_tokens)
        remaining = self.book(active, record)
        self.event(
            active, outcome, record=record, status_code=status, response_model=model,
            remaining=remaining,
        )  # fmt: skip

    def failed(
        self, active: Active, status: int | None, *, headers: Any, error_type: str
    ) -> None:
        """The call failed: release, record the failure, learn from a 429 (idempotent)."""
        if active.done:
            return
        active.done = True
        if headers is not None and status is not None:
            self.observe(status, headers)
        if active.rate is not None:
            _quietly(active.rate.release)
        record = self.failure(active)
        self.book_failure(active, record)
        self.event(active, "error", record=None, status_code=status, error_type=error_type)

    def observe(self, status: int, headers: Any) -> None:
        """Feed a response's status and headers to the limiter."""
        if self.limiter is not None:
            _quietly(self.limiter.observe, status, headers)


class AsyncGuard(_Shell):
    """The asyncio shell; ``limiter`` is a `tokman.AsyncRateLimiter`."""

    limiter: AsyncRateLimiter | None

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        from tokman.ratelimit import AsyncRateLimiter

        if self.limiter is not None and not isinstance(self.limiter, AsyncRateLimiter):
            raise InvalidRequestError(
                "limiter",
                self.limiter,
                "a tokman.AsyncRateLimiter for an async client (a sync RateLimiter would "
                "block the event loop)",
            )
        self._group: Any = _group_store(self.ledger, self.budgets)
        if self._group is not None and self.budgets is not None:
            # create / migrate the budget tables now: done lazily inside a group-commit
            # transaction, the migration's own connection would wait on that transaction's lock
            self.budgets.budgets()

    async def _off_loop(self, fn: Callable[..., _T], *args: Any, durable: bool = True) -> _T:
        """Run sync bookkeeping off the event loop: the group commit, else a worker thread.
        ``durable=False``: a budget hold (see `SqlStore.submit`)."""
        if self._group is not None:
            step = functools.partial(fn, *args)
            return await asyncio.wrap_future(self._group.submit(step, durable=durable))
        return await asyncio.to_thread(fn, *args)

    async def begin(self, call: Call, tags: Mapping[str, str] | None = None) -> Active | None:
        """See `Guard.begin`."""
        plan = self.plan(call, tags)
        if plan is None:
            return None
        active = Active(plan, self.clock.monotonic())
        try:
            if self.limiter is not None:
                active.rate = await self.limiter.acquire(plan.worst_case, timeout=self.max_wait)
                active.wait = self.clock.monotonic() - active.started
            if self.budgets is not None:
                active.budget = await self._off_loop(self.reserve_budget, plan, durable=False)
        except (LimitExceededError, InvalidRequestError) as exc:
            await self._drop_rate(active)
            self.refused(call, plan, exc)
            raise
        except TokmanError as exc:
            await self._drop_rate(active)
            self._own_failure(call, exc)
            return None
        active.started = self.clock.monotonic()
        return active

    async def _drop_rate(self, active: Active) -> None:
        if active.rate is not None:
            await _aquietly(active.rate.release)

    async def response(self, active: Active, status: int, headers: Any, body: bytes) -> None:
        """See `Guard.response`."""
        await self.observe(status, headers)
        if status >= 400:
            await self.failed(active, status, headers=None, error_type=str(status))
            return
        record, outcome, model = self.served(active, body)
        await self._settle(active, record, outcome, status, model)

    async def stream_ended(self, active: Active, status: int) -> None:
        """See `Guard.stream_ended`."""
        if active.done or active.tap is None:
            return
        record, outcome, model = self.streamed(active, active.tap)
        await self._settle(active, record, outcome, status, model)

    async def _settle(
        self, active: Active, record: UsageRecord, outcome: Outcome, status: int, model: str | None
    ) -> None:
        active.done = True
        await _uncancellable(self._settle_now(active, record, outcome, status, model))

    async def _settle_now(
        self, active: Active, record: UsageRecord, outcome: Outcome, status: int, model: str | None
    ) -> None:
        if active.rate is not None:
            await _aquietly(active.rate.settle, record.total_tokens)
        remaining: dict[str, Decimal] = {}
        if self.ledger is not None or active.budget is not None:
            remaining = await self._off_loop(self.book, active, record)
        self.event(
            active, outcome, record=record, status_code=status, response_model=model,
            remaining=remaining,
        )  # fmt: skip

    async def failed(
        self, active: Active, status: int | None, *, headers: Any, error_type: str
    ) -> None:
        """See `Guard.failed`."""
        if active.done:
            return
        active.done = True
        await _uncancellable(self._failed_now(active, status, headers, error_type))

    async def _failed_now(
        self, active: Active, status: int | None, headers: Any, error_type: str
    ) -> None:
        if headers is not None and status is not None:
            await self.observe(status, headers)
        if active.rate is not None:
            await _aquietly(active.rate.release)
        record = self.failure(active)
        if self.ledger is not None or active.budget is not None:
            await self._off_loop(self.book_failure, active, record)
        self.event(active, "error", record=None, status_code=status, error_type=error_type)

    async def observe(self, status: int, headers: Any) -> None:
        """See `Guard.observe`."""
        if self.limiter is not None:
            await _aquietly(self.limiter.observe, status, headers)


def _group_store(ledger: Ledger | None, budgets: BudgetGuard | None) -> Any:
    """The SQL store whose group commit can take every bookkeeping step, or ``None``."""
    stores: list[Any] = []
    if ledger is not None:
        stores.append(ledger.store)
    if budgets is not None:
        stores.append(getattr(budgets.store, "store", None))
        if budgets.ledger is not None:
            stores.append(budgets.ledger.store)
    if not stores:
        return None
    from tokman.ledger.sql import SqlStore

    first = stores[0]
    if not isinstance(first, SqlStore) or not first.groups_commits:
        return None
    return first if all(s is first for s in stores) else None


_pending: set[asyncio.Task[None]] = set()  # bookkeeping tasks whose caller was cancelled


async def _uncancellable(step: Coroutine[Any, Any, None]) -> None:
    """Run a call's bookkeeping to the end even if the task awaiting it is cancelled (a client
    gone mid-stream, a cancelled ``asyncio`` task): the record is written all the same, and the
    cancellation still reaches the caller."""
    task = asyncio.ensure_future(step)
    _pending.add(task)
    task.add_done_callback(_pending.discard)
    await asyncio.shield(task)


def _as_sink(metrics: Any) -> MetricsSink | None:
    """A `MultiSink` of ``metrics`` (one sink or a list): a failing sink is logged once and
    never fails the call or the other sinks."""
    if metrics is None:
        return None
    from tokman.integrations.metrics import MultiSink

    sinks = list(metrics) if isinstance(metrics, (list, tuple)) else [metrics]
    for sink in sinks:
        if not callable(getattr(sink, "record_call", None)):
            raise InvalidRequestError(
                "metrics",
                sink,
                "a MetricsSink (an object with record_call(event)), or a list of them, e.g. "
                "tokman.integrations.metrics.PrometheusSink()",
            )
    return sinks[0] if len(sinks) == 1 and isinstance(sinks[0], MultiSink) else MultiSink(*sinks)


def _as_ledger(ledger: Any) -> Ledger | None:
    """A sync `Ledger` from a `Ledger`, an `AsyncLedger` (its sync ledger) or a URL."""
    if ledger is None:
        return None
    from tokman.ledger import AsyncLedger, Ledger, open_ledger

    if isinstance(ledger, Ledger):
        return ledger
    if isinstance(ledger, AsyncLedger):
        return ledger.sync
    if isinstance(ledger, str):
        try:
            return open_ledger(ledger)
        except (ConfigurationError, InvalidRequestError) as exc:
            from tokman._backends import redact

            raise InvalidRequestError(
                "ledger", redact(ledger), f"a ledger URL tokman can open: {exc}"
            ) from exc
    raise InvalidRequestError(
        "ledger", ledger, "a tokman.Ledger, an AsyncLedger or a ledger URL ('sqlite:///usage.db')"
    )


def _read_body(body: bytes) -> tuple[Usage, str | None, str | None] | None:
    """``(usage, id, model)`` of a response body; ``None`` when it carries no usage."""
    try:
        if len(body) <= _PARSE_WHOLE:
            report = read_response(json.loads(body))
            return report.usage, report.id, report.model
        return _read_tail(body)
    except (ValueError, InvalidRequestError):
        return None


def _read_tail(body: bytes) -> tuple[Usage, str | None, str | None] | None:
    """Usage of a big body without parsing it whole: ``usage`` and ``model`` come last in
    embeddings responses, and ``usage`` last in chat/Responses ones."""
    decoder = json.JSONDecoder()
    text = body.decode("utf-8", "replace")
    at = text.rfind('"usage"')
    if at < 0:
        return None
    start = text.index(":", at) + 1
    usage, _ = decoder.raw_decode(text, _skip(text, start))
    model = None
    at = text.rfind('"model"', 0, at)
    if at >= 0:
        value, _ = decoder.raw_decode(text, _skip(text, text.index(":", at) + 1))
        model = value if isinstance(value, str) else None
    found = _ID.search(body, 0, 4096)
    report = read_response({"usage": usage})
    return report.usage, found.group(1).decode() if found else None, model


def _skip(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t\r\n":
        i += 1
    return i


def _quietly(fn: Callable[..., _T], *args: Any) -> _T | None:
    """Run a limiter step whose failure must not fail a served call (it is logged)."""
    try:
        return fn(*args)
    except TokmanError:
        _log.exception("rate limiter step %s failed", getattr(fn, "__name__", fn))
        return None


async def _aquietly(fn: Callable[..., Any], *args: Any) -> Any:
    try:
        return await fn(*args)
    except TokmanError:
        _log.exception("rate limiter step %s failed", getattr(fn, "__name__", fn))
        return None
