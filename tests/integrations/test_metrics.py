"""Metrics sinks: real Prometheus expositions, real OpenTelemetry SDK data points, isolation."""

from __future__ import annotations

import ast
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

import tokman.integrations.metrics as metrics
from tokman.errors import ConfigurationError, InvalidRequestError, MissingDependencyError
from tokman.integrations.metrics import (
    CallEvent,
    CollectingSink,
    MetricsSink,
    MultiSink,
    NullSink,
    OpenTelemetrySink,
    PrometheusSink,
)
from tokman.integrations.metrics import _names as names

CHAT = CallEvent(
    api="chat",
    provider="openai",
    outcome="ok",
    model="gpt-4o",
    request_model="gpt-4o",
    response_model="gpt-4o-2024-08-06",
    status_code=200,
    input_tokens=1200,
    cached_input_tokens=1024,
    output_tokens=300,
    reasoning_tokens=0,
    cost_usd=Decimal("0.0042"),
    duration_s=0.5,
    limiter_wait_s=0.0,
    server_address="api.openai.com",
    server_port=443,
    tags={"tenant": "acme", "user": "u-42", "api_key": "sk-secret-looking"},
)
AZURE = CallEvent(
    api="responses",
    provider="azure.ai.openai",
    outcome="estimated",
    model="o3-mini",
    request_model="prod-o3",
    deployment="prod-o3",
    status_code=200,
    input_tokens=50,
    output_tokens=400,
    reasoning_tokens=256,
    cost_usd=Decimal("0.002"),
    duration_s=3.0,
    budget_remaining_usd={"team-a": Decimal("12.5")},
)
EMBED = CallEvent(
    api="embeddings", provider="openai", outcome="ok", model="text-embedding-3-small",
    input_tokens=64, cost_usd=Decimal("0.00000128"), duration_s=0.05,
)  # fmt: skip
UPSTREAM_ERROR = CallEvent(
    api="chat", provider="openai", outcome="error", model="gpt-4o", status_code=500,
    error_type="500", duration_s=1.5,
)  # fmt: skip
REFUSED = CallEvent(
    api="chat", provider="openai", outcome="refused", model="gpt-4o",
    error_type="rate_limit_exceeded", limiter_wait_s=2.0,
)  # fmt: skip


# ---- Prometheus -----------------------------------------------------------------------------


def exposition(registry: CollectorRegistry) -> str:
    return generate_latest(registry).decode()


def samples(registry: CollectorRegistry) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of the text exposition, keyed by sample name and label set."""
    out = {}
    for family in text_string_to_metric_families(exposition(registry)):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def labels(**kw: str) -> frozenset[tuple[str, str]]:
    return frozenset(kw.items())


OPENAI_CHAT = {"model": "gpt-4o", "deployment": "", "provider": "openai", "api": "chat"}
AZURE_RESP = {"model": "o3-mini", "deployment": "prod-o3", "provider": "azure.ai.openai",
              "api": "responses"}  # fmt: skip


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


def test_prometheus_tokens_cost_and_requests(registry: CollectorRegistry) -> None:
    """Token counters by type, cost in USD and requests by outcome, with exact values."""
    sink = PrometheusSink(registry)
    sink.record_call(CHAT)
    sink.record_call(CHAT)
    sink.record_call(AZURE)
    got = samples(registry)
    assert got[("tokman_tokens_total", labels(type="input", **OPENAI_CHAT))] == 2400
    assert got[("tokman_tokens_total", labels(type="cached_input", **OPENAI_CHAT))] == 2048
    assert got[("tokman_tokens_total", labels(type="output", **OPENAI_CHAT))] == 600
    assert ("tokman_tokens_total", labels(type="reasoning", **OPENAI_CHAT)) not in got
    assert got[("tokman_tokens_total", labels(type="reasoning", **AZURE_RESP))] == 256
    assert got[("tokman_cost_usd_total", labels(**OPENAI_CHAT))] == pytest.approx(0.0084)
    assert got[("tokman_cost_usd_total", labels(**AZURE_RESP))] == 0.002
    ok = labels(outcome="ok", status_code="200", **OPENAI_CHAT)
    assert got[("tokman_requests_total", ok)] == 2
    estimated = labels(outcome="estimated", status_code="200", **AZURE_RESP)
    assert got[("tokman_requests_total", estimated)] == 1


def test_prometheus_text_uses_total_suffixes_and_counter_types(registry: CollectorRegistry) -> None:
    """Counters are exposed with _total and declared as counters; the gauge has no suffix."""
    sink = PrometheusSink(registry)
    sink.record_call(AZURE)
    text = exposition(registry)
    for counter in ("tokman_tokens_total", "tokman_cost_usd_total", "tokman_requests_total"):
        assert f"# TYPE {counter} counter" in text
    assert "# TYPE tokman_request_duration_seconds histogram" in text
    assert "# TYPE tokman_ratelimit_wait_seconds histogram" in text
    assert 'tokman_budget_remaining_usd{budget="team-a"} 12.5' in text
    assert (
        'tokman_tokens_total{api="responses",deployment="prod-o3",model="o3-mini",'
        'provider="azure.ai.openai",type="output"} 400.0'
    ) in text


def test_prometheus_histogram_buckets(registry: CollectorRegistry) -> None:
    """Durations land in the documented buckets; refusals observe no duration, only a wait."""
    sink = PrometheusSink(registry)
    for event in (CHAT, UPSTREAM_ERROR, REFUSED):
        sink.record_call(event)
    got = samples(registry)
    buckets = {
        float(dict(key)["le"]): value
        for (name, key), value in got.items()
        if name == "tokman_request_duration_seconds_bucket"
    }
    assert sorted(buckets)[:-1] == list(names.DURATION_BUCKETS)
    assert buckets[0.32] == 0 and buckets[0.64] == 1 and buckets[1.28] == 1
    assert buckets[2.56] == 2 and buckets[float("inf")] == 2
    assert got[("tokman_request_duration_seconds_sum", labels(**OPENAI_CHAT))] == 2.0
    assert got[("tokman_ratelimit_wait_seconds_count", labels(**OPENAI_CHAT))] == 2
    wait = {
        float(dict(key)["le"]): value
        for (name, key), value in got.items()
        if name == "tokman_ratelimit_wait_seconds_bucket"
    }
    assert wait[0.001] == 1 and wait[1.0] == 1 and wait[2.5] == 2
    refused = labels(outcome="refused", status_code="", **OPENAI_CHAT)
    assert got[("tokman_requests_total", refused)] == 1
    failed = labels(outcome="error", status_code="500", **OPENAI_CHAT)
    assert got[("tokman_requests_total", failed)] == 1


def test_prometheus_budget_gauge_keeps_the_latest_value(registry: CollectorRegistry) -> None:
    """The budget gauge shows what is left after the last settle, and is multiprocess-safe."""
    sink = PrometheusSink(registry)
    sink.record_call(AZURE)
    left = {"team-a": Decimal("11.75"), "org": Decimal("90")}
    sink.record_call(CallEvent("chat", "openai", "ok", "gpt-4o", budget_remaining_usd=left))
    got = samples(registry)
    assert got[("tokman_budget_remaining_usd", labels(budget="team-a"))] == 11.75
    assert got[("tokman_budget_remaining_usd", labels(budget="org"))] == 90
    assert sink._budget._multiprocess_mode == "mostrecent"


def test_prometheus_tags_are_not_labels_unless_opted_in(registry: CollectorRegistry) -> None:
    """user / api_key tags never reach the exposition; an opted-in tag label does."""
    PrometheusSink(registry).record_call(CHAT)
    text = exposition(registry)
    for secret in ("u-42", "sk-secret-looking", "acme", "tenant", "user", "api_key"):
        assert secret not in text
    other = CollectorRegistry()
    PrometheusSink(other, tag_labels=("tenant",)).record_call(CHAT)
    PrometheusSink(other, namespace="t2", tag_labels=("tenant",)).record_call(REFUSED)
    got = samples(other)
    acme = labels(outcome="ok", status_code="200", tenant="acme", **OPENAI_CHAT)
    assert got[("tokman_requests_total", acme)] == 1
    untagged = labels(outcome="refused", status_code="", tenant="", **OPENAI_CHAT)
    assert got[("t2_requests_total", untagged)] == 1
    assert "sk-secret-looking" not in exposition(other)


def test_prometheus_fewer_labels(registry: CollectorRegistry) -> None:
    """labels= picks the per-call labels: fewer labels, fewer series."""
    sink = PrometheusSink(registry, labels=("model",))
    sink.record_call(CHAT)
    sink.record_call(AZURE)
    got = samples(registry)
    assert got[("tokman_tokens_total", labels(type="input", model="gpt-4o"))] == 1200
    estimated = labels(outcome="estimated", status_code="200", model="o3-mini")
    assert got[("tokman_requests_total", estimated)] == 1


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"namespace": "tok-man"}, "namespace"),
        ({"labels": ("model", "user")}, "labels"),
        ({"labels": ("model", "model")}, "labels"),
        ({"tag_labels": ("outcome",)}, "tag_labels"),
        ({"tag_labels": ("bad-name",)}, "tag_labels"),
        ({"tag_labels": ("__x",)}, "tag_labels"),
    ],
)
def test_prometheus_rejects_bad_names(
    registry: CollectorRegistry, kwargs: dict[str, Any], field: str
) -> None:
    """A bad namespace or label fails when the sink is built, naming the argument."""
    with pytest.raises(InvalidRequestError) as info:
        PrometheusSink(registry, **kwargs)
    assert info.value.param == field
    assert exposition(registry) == ""


def test_prometheus_second_sink_on_one_registry(registry: CollectorRegistry) -> None:
    """Registering the same names twice says what to do, and leaves the first sink working."""
    first = PrometheusSink(registry)
    with pytest.raises(ConfigurationError, match="one sink per registry"):
        PrometheusSink(registry)
    first.record_call(EMBED)
    embed = {"model": "text-embedding-3-small", "deployment": "", "provider": "openai",
             "api": "embeddings"}  # fmt: skip
    assert samples(registry)[("tokman_tokens_total", labels(type="input", **embed))] == 64


# ---- OpenTelemetry --------------------------------------------------------------------------


@pytest.fixture
def otel() -> Iterator[tuple[MeterProvider, InMemoryMetricReader]]:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    yield provider, reader
    provider.shutdown()


def points(reader: InMemoryMetricReader) -> dict[str, tuple[str, list[Any]]]:
    """metric name -> (unit, data points) from one collection."""
    data = reader.get_metrics_data()
    assert data is not None
    out: dict[str, tuple[str, list[Any]]] = {}
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            assert scope.scope.name == names.OTEL_METER
            for metric in scope.metrics:
                out[metric.name] = (metric.unit or "", list(metric.data.data_points))
    return out


def by_attr(pts: list[Any], **want: Any) -> Any:
    """The one data point whose attributes include ``want``."""
    found = [p for p in pts if all(p.attributes.get(k) == v for k, v in want.items())]
    assert len(found) == 1, (want, [dict(p.attributes) for p in pts])
    return found[0]


def test_otel_released_token_usage(otel: tuple[MeterProvider, InMemoryMetricReader]) -> None:
    """gen_ai.client.token.usage: {token}, input/output points, documented bucket boundaries."""
    provider, reader = otel
    sink = OpenTelemetrySink(provider)
    sink.record_call(CHAT)
    sink.record_call(EMBED)
    got = points(reader)
    unit, pts = got[names.OTEL_TOKEN_USAGE]
    assert unit == "{token}"
    chat_in = by_attr(pts, **{"gen_ai.token.type": "input", "gen_ai.operation.name": "chat"})
    assert isinstance(chat_in, HistogramDataPoint)
    assert (chat_in.count, chat_in.sum) == (1, 1200)
    assert list(chat_in.explicit_bounds) == [4.0**i for i in range(14)]
    assert list(chat_in.explicit_bounds)[-1] == 67108864
    assert dict(chat_in.attributes) == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o",
        "gen_ai.response.model": "gpt-4o-2024-08-06",
        "server.address": "api.openai.com",
        "server.port": 443,
        "gen_ai.token.type": "input",
    }
    chat_out = by_attr(pts, **{"gen_ai.token.type": "output", "gen_ai.operation.name": "chat"})
    assert chat_out.sum == 300
    embed = [p for p in pts if p.attributes["gen_ai.operation.name"] == "embeddings"]
    assert [(p.attributes["gen_ai.token.type"], p.sum) for p in embed] == [("input", 64)]
    assert names.OTEL_INFERENCE_INPUT_TOKENS not in got


def test_otel_duration_and_errors(otel: tuple[MeterProvider, InMemoryMetricReader]) -> None:
    """gen_ai.client.operation.duration: s, documented buckets, error.type on failures only."""
    provider, reader = otel
    sink = OpenTelemetrySink(provider)
    for event in (CHAT, UPSTREAM_ERROR, REFUSED):
        sink.record_call(event)
    unit, pts = points(reader)[names.OTEL_OPERATION_DURATION]
    assert unit == "s"
    assert len(pts) == 2  # the refusal never reached the API: no duration
    ok = by_attr(pts, **{"gen_ai.response.model": "gpt-4o-2024-08-06"})
    assert "error.type" not in ok.attributes
    assert list(ok.explicit_bounds) == list(names.DURATION_BUCKETS)
    assert list(ok.explicit_bounds) == [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56,
                                        5.12, 10.24, 20.48, 40.96, 81.92]  # fmt: skip
    assert ok.sum == 0.5 and ok.bucket_counts[6] == 1
    failed = by_attr(pts, **{"error.type": "500"})
    assert failed.sum == 1.5
    requests = points(reader)[names.OTEL_REQUESTS][1]
    refused = by_attr(requests, **{"tokman.outcome": "refused"})
    assert refused.value == 1 and refused.attributes["error.type"] == "rate_limit_exceeded"


def test_otel_azure_provider_and_cost(otel: tuple[MeterProvider, InMemoryMetricReader]) -> None:
    """Azure is azure.ai.openai, with the deployment as request model; cost is in USD."""
    provider, reader = otel
    sink = OpenTelemetrySink(provider)
    sink.record_call(AZURE)
    sink.record_call(CHAT)
    got = points(reader)
    usage = got[names.OTEL_TOKEN_USAGE][1]
    azure_out = by_attr(usage, **{"gen_ai.provider.name": "azure.ai.openai",
                                  "gen_ai.token.type": "output"})  # fmt: skip
    assert azure_out.attributes["gen_ai.request.model"] == "prod-o3"
    assert azure_out.attributes["gen_ai.operation.name"] == "chat"  # Responses is chat
    assert azure_out.sum == 400
    unit, cost = got[names.OTEL_COST]
    assert unit == "USD"
    assert by_attr(cost, **{"gen_ai.provider.name": "azure.ai.openai"}).value == 0.002
    assert by_attr(cost, **{"gen_ai.provider.name": "openai"}).value == pytest.approx(0.0042)


def test_otel_latest_experimental(otel: tuple[MeterProvider, InMemoryMetricReader]) -> None:
    """latest_experimental emits gen_ai.client.inference.* counters instead of the histogram."""
    provider, reader = otel
    sink = OpenTelemetrySink(provider, latest_experimental=True)
    for event in (CHAT, AZURE, EMBED):
        sink.record_call(event)
    got = points(reader)
    assert names.OTEL_TOKEN_USAGE not in got
    expected = {
        "gen_ai.client.inference.usage.input_tokens": 1200 + 50 + 64,
        "gen_ai.client.inference.usage.output_tokens": 300 + 400,
        "gen_ai.client.inference.usage.cache_read.input_tokens": 1024,
        "gen_ai.client.inference.usage.reasoning.output_tokens": 256,
    }
    for name, total in expected.items():
        unit, pts = got[name]
        assert unit == "{token}"
        assert sum(p.value for p in pts) == total, name
    unit, inference = got["gen_ai.client.inference.duration"]
    assert unit == "s"
    assert sorted(p.sum for p in inference) == [0.5, 3.0]
    assert list(inference[0].explicit_bounds) == list(names.DURATION_BUCKETS)
    operation = got["gen_ai.client.operation.duration"][1]
    assert [p.attributes["gen_ai.operation.name"] for p in operation] == ["embeddings"]


def test_otel_tags_are_not_attributes_unless_opted_in(
    otel: tuple[MeterProvider, InMemoryMetricReader],
) -> None:
    """No tag becomes an attribute by default; tag_attributes exports only the named ones."""
    provider, reader = otel
    OpenTelemetrySink(provider).record_call(CHAT)
    for _, pts in points(reader).values():
        for p in pts:
            assert not any(k.startswith("tokman.tag.") for k in p.attributes)
            assert "sk-secret-looking" not in p.attributes.values()
    other = InMemoryMetricReader()
    opted = MeterProvider(metric_readers=[other])
    OpenTelemetrySink(opted, tag_attributes=("tenant",)).record_call(CHAT)
    pts = points(other)[names.OTEL_REQUESTS][1]
    assert pts[0].attributes["tokman.tag.tenant"] == "acme"
    assert "tokman.tag.user" not in pts[0].attributes
    opted.shutdown()


def test_otel_without_a_provider_uses_the_global_one() -> None:
    """meter_provider=None takes the global (no-op by default) provider and records quietly."""
    OpenTelemetrySink().record_call(CHAT)


# ---- sinks without a metrics library ---------------------------------------------------------


class Broken:
    def __init__(self) -> None:
        self.calls = 0

    def record_call(self, event: CallEvent) -> None:
        self.calls += 1
        raise RuntimeError("exporter down")

    def __repr__(self) -> str:
        return "Broken()"


def test_multisink_isolates_a_failing_sink(caplog: pytest.LogCaptureFixture) -> None:
    """A raising sink neither stops the others nor the call; its first failure is logged."""
    before, after, broken = CollectingSink(), CollectingSink(), Broken()
    multi = MultiSink(before, broken, after)
    with caplog.at_level(logging.DEBUG, logger="tokman.metrics"):
        multi.record_call(CHAT)
        multi.record_call(AZURE)
    assert before.events == [CHAT, AZURE] and after.events == [CHAT, AZURE]
    assert broken.calls == 2
    assert multi.failures == (0, 2, 0)
    records = [r for r in caplog.records if r.name == "tokman.metrics"]
    assert [r.levelno for r in records] == [logging.ERROR, logging.DEBUG]
    assert "Broken()" in records[0].getMessage()
    assert records[0].exc_info is not None and "exporter down" in str(records[0].exc_info[1])


def test_sinks_satisfy_the_protocol(registry: CollectorRegistry) -> None:
    """Every sink, including the library ones, is a MetricsSink at runtime."""
    for sink in (NullSink(), CollectingSink(), MultiSink(), PrometheusSink(registry),
                 OpenTelemetrySink(MeterProvider())):  # fmt: skip
        assert isinstance(sink, MetricsSink)
        sink.record_call(CHAT)
    assert not isinstance(object(), MetricsSink)


def test_collecting_sink_clear() -> None:
    """CollectingSink keeps events in order until cleared."""
    sink = CollectingSink()
    sink.record_call(CHAT)
    sink.record_call(EMBED)
    assert sink.events == [CHAT, EMBED]
    sink.clear()
    assert sink.events == []


# ---- optional dependencies and names ---------------------------------------------------------


@pytest.mark.parametrize(
    ("blocked", "build", "extra"),
    [
        (("prometheus_client",), lambda: PrometheusSink(CollectorRegistry()), "prometheus"),
        (("opentelemetry", "opentelemetry.metrics"), lambda: OpenTelemetrySink(), "otel"),
    ],
)
def test_missing_extra_names_the_install_command(
    monkeypatch: pytest.MonkeyPatch, blocked: tuple[str, ...], build: Any, extra: str
) -> None:
    """Without the library, building the sink raises MissingDependencyError naming the extra."""
    for module in blocked:
        monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(MissingDependencyError) as info:
        build()
    assert f'pip install "tokman[{extra}]"' in str(info.value)
    assert info.value.extra == extra


def test_package_import_loads_no_metrics_library() -> None:
    """Importing the metrics package loads neither prometheus_client nor opentelemetry."""
    probe = (
        "import sys, tokman.integrations.metrics as m; "
        "print([x for x in ('prometheus_client', 'opentelemetry') if x in sys.modules], "
        "sorted(m.__all__))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("[] ")
    assert "PrometheusSink" in out.stdout and "OpenTelemetrySink" in out.stdout


def test_lazy_names_resolve_and_typos_fail() -> None:
    """The lazy sinks resolve through the package; an unknown name is an AttributeError."""
    assert metrics.PrometheusSink is PrometheusSink
    assert metrics.OpenTelemetrySink is OpenTelemetrySink
    with pytest.raises(AttributeError, match="PromSink"):
        metrics.PromSink  # noqa: B018


METRICS_DIR = Path(metrics.__file__).parent
NAME_PREFIXES = ("gen_ai.", "server.", "error.", "tokman.", "tokman_")


def string_literals(path: Path) -> Iterator[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    for node in ast.walk(tree):
        is_str = isinstance(node, ast.Constant) and isinstance(node.value, str)
        if is_str and id(node) not in docstrings:
            yield node.value


def test_every_name_comes_from_names_module() -> None:
    """No sink spells a metric or attribute name: they all live in _names.py."""
    offenders = []
    for path in sorted(METRICS_DIR.glob("*.py")):
        if path.name == "_names.py":
            continue
        for literal in string_literals(path):
            if literal.startswith(NAME_PREFIXES) and not literal.startswith("tokman.integrations"):
                offenders.append((path.name, literal))
    assert offenders == []
    assert names.TOKEN_BUCKETS[0] == 1 and names.TOKEN_BUCKETS[-1] == 67108864


def test_readme_metrics_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    """The README's Metrics example runs as written and prints the counters it promises."""
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Metrics\n", 1)[1].split("\n## ", 1)[0]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    exec(compile(code, "README.md#metrics", "exec"), {})
    printed = capsys.readouterr().out
    assert (
        'tokman_tokens_total{api="chat",deployment="",model="gpt-4o",provider="openai",'
        'type="input"} 1200.0'
    ) in printed
    assert 'tokman_requests_total{api="chat",deployment="",model="gpt-4o",outcome="ok"' in printed
    prometheus = [names.PROM_TOKENS, names.PROM_COST, names.PROM_REQUESTS, names.PROM_DURATION,
                  names.PROM_RATELIMIT_WAIT, names.PROM_BUDGET_REMAINING]  # fmt: skip
    otel = [names.OTEL_TOKEN_USAGE, names.OTEL_OPERATION_DURATION, names.OTEL_COST,
            names.OTEL_REQUESTS, names.OTEL_INFERENCE_DURATION,
            names.OTEL_INFERENCE_INPUT_TOKENS]  # fmt: skip
    for name in [f"{names.PROM_NAMESPACE}_{suffix}" for suffix in prometheus] + otel:
        assert f"`{name}`" in section, name


WORKER = """
import sys
from decimal import Decimal
from tokman.integrations.metrics import CallEvent, PrometheusSink
left = {"team-a": Decimal(sys.argv[1])}
PrometheusSink().record_call(
    CallEvent("chat", "openai", "ok", "gpt-4o", input_tokens=100, budget_remaining_usd=left)
)
"""


def test_prometheus_multiprocess_mode(tmp_path: Path) -> None:
    """With PROMETHEUS_MULTIPROC_DIR, workers' counters add up; the budget shows the last value."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    for remaining in ("9", "7.5"):  # one worker process after the other
        subprocess.run([sys.executable, "-c", WORKER, remaining], env=env, check=True)
    from prometheus_client import multiprocess

    served = CollectorRegistry()
    multiprocess.MultiProcessCollector(served, path=str(tmp_path))
    got = samples(served)
    assert got[("tokman_tokens_total", labels(type="input", **OPENAI_CHAT))] == 200
    assert got[("tokman_budget_remaining_usd", labels(budget="team-a"))] == 7.5
