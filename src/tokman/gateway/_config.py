"""The gateway's configuration: a TOML file, checked whole before the gateway starts.

```toml
[gateway]
host = "127.0.0.1"
port = 8080
ledger = "sqlite:///gateway.db"      # or postgresql://...; virtual keys live here too
limiter = "memory://"                # redis://... to share quotas across workers and hosts
max_wait = 10                        # seconds a request may wait for rate-limit admission
max_body_bytes = 1048576
upstream_timeout = 120               # seconds for the whole upstream call
body_timeout = 30                    # seconds a client may take to send its request body
budget_mode = 429                    # status of a budget refusal: 429 (default) or 402
on_limiter_error = "raise"           # the limiter's store unreachable: "raise" (503, default),
                                     # "allow" (admit, logged once) or "local" (this process only)
budget_hold_seconds = 600            # how long a crashed worker's budget hold lasts
ledger_spool = "gateway-spool.jsonl" # keep records here while the ledger's database is down

[[upstreams]]
name = "azure-east"
kind = "azure"                       # or "openai"
endpoint = "https://east.openai.azure.com"
api_key_env = "AZURE_EAST_KEY"       # the key is read from this variable, never from the file
api_version = "2024-10-21"

[[upstreams.deployments]]
name = "gpt-4o-east"                 # the Azure deployment
model = "gpt-4o"                     # what it serves: the name clients ask for
tpm = 450000
rpm = 2700
type = "GlobalStandard"
# token_window = 60                  # seconds tpm counts over (default 60, Azure's minute)
# request_window = 10                # seconds rpm is checked over (default 10, at most
                                     # token_window); short windows are for tests

[[budgets]]
id = "everyone"
limit = "100"                        # USD (a string: money is never a float)
period = "day"
```

Every mistake is a `ConfigurationError` naming the file, the key (``upstreams[0].deployments[1]
.tpm``) and the fix. Upstream keys are read from the environment by `tokman.config.Settings`
when the gateway starts (the file names only the variable), so the file can be committed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, NoReturn

from tokman.errors import ConfigurationError

__all__ = ["BudgetSpec", "DeploymentSpec", "GatewayConfig", "UpstreamSpec", "load_config"]

_KINDS = ("openai", "azure")


@dataclass(frozen=True)
class DeploymentSpec:
    """One upstream deployment: the model it serves and its quota."""

    model: str
    name: str | None = None  # the Azure deployment name (OpenAI: None)
    tpm: int | None = None
    rpm: int | None = None
    type: str | None = None
    token_window: float = 60.0  # seconds the tpm counts over (`tokman.Quota.token_window`)
    request_window: float = 10.0  # seconds the rpm is checked over

    @property
    def target(self) -> str:
        """What the upstream is asked for: the Azure deployment, else the model."""
        return self.name or self.model


@dataclass(frozen=True)
class UpstreamSpec:
    """An OpenAI-compatible service the gateway forwards to."""

    name: str
    kind: Literal["openai", "azure"]
    url: str  # OpenAI: the base URL (…/v1); Azure: the resource endpoint
    api_key_env: str
    api_version: str | None = None
    deployments: tuple[DeploymentSpec, ...] = ()


@dataclass(frozen=True)
class BudgetSpec:
    """A budget every matching request counts against (see `tokman.Budget`)."""

    id: str
    limit: Decimal | int
    unit: str = "usd"
    period: str = "none"
    model: str | None = None
    deployment: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class GatewayConfig:
    """The whole gateway configuration (see the module docstring for the file format)."""

    upstreams: tuple[UpstreamSpec, ...]
    host: str = "127.0.0.1"
    port: int = 8080
    ledger: str = field(default="sqlite:///gateway.db", repr=False)
    limiter: str = field(default="memory://", repr=False)
    max_wait: float = 10.0
    max_body_bytes: int = 1_048_576
    upstream_timeout: float = 120.0
    body_timeout: float = 30.0
    budget_mode: int = 429
    on_limiter_error: str = "raise"
    budget_hold_seconds: float = 600.0
    ledger_spool: str | None = None
    budgets: tuple[BudgetSpec, ...] = ()
    source: str = "<config>"

    @property
    def models(self) -> list[str]:
        """Every model some deployment serves, sorted."""
        return sorted({d.model for u in self.upstreams for d in u.deployments})


class _Reader:
    """Typed access to one table of the file, with errors naming the key."""

    def __init__(self, source: str, path: str, table: Any) -> None:
        self.source, self.path = source, path
        if not isinstance(table, Mapping):
            self.fail("", table, "a table")
        self.table: Mapping[str, Any] = table

    def where(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path and key else (self.path or key)

    def fail(self, key: str, value: Any, expected: str) -> NoReturn:
        raise ConfigurationError(
            f"{self.source}: {self.where(key) or 'the file'} = {value!r} is invalid: expected "
            f"{expected}"
        )

    def known(self, *keys: str) -> None:
        for key in self.table:
            if key not in keys:
                self.fail(key, self.table[key], f"one of the keys {', '.join(keys)} (remove it)")

    def text(self, key: str, default: str | None = None, *, required: bool = False) -> Any:
        value = self.table.get(key, default)
        if value is None and not required:
            return None
        if not isinstance(value, str) or not value.strip():
            self.fail(key, value, "a non-empty string")
        return value.strip()

    def number(self, key: str, default: float | int | None, *, integer: bool = False) -> Any:
        value = self.table.get(key, default)
        if value is None:
            return None
        ok = isinstance(value, int) if integer else isinstance(value, (int, float))
        if isinstance(value, bool) or not ok or value <= 0 or value != value:
            self.fail(key, value, "a positive integer" if integer else "a positive number")
        return value


def load_config(path: str | os.PathLike[str]) -> GatewayConfig:
    """Read and check a gateway TOML file.

    Raises:
        ConfigurationError: the file is missing, unreadable, or a key is wrong (named).
    """
    from tokman.models._files import read_data_file

    source = os.fspath(path)
    data = read_data_file(path, what="gateway config", toml=True, field="--config")
    return parse_config(data, source=source)


def parse_config(data: Any, *, source: str = "<config>") -> GatewayConfig:
    """Check an already parsed configuration (a dict, as TOML gives it)."""
    top = _Reader(source, "", data)
    top.known("gateway", "upstreams", "budgets")
    gateway = _Reader(source, "gateway", data.get("gateway", {}))
    gateway.known(
        "host", "port", "ledger", "limiter", "max_wait", "max_body_bytes", "upstream_timeout",
        "body_timeout", "budget_mode", "on_limiter_error", "budget_hold_seconds", "ledger_spool",
    )  # fmt: skip
    on_limiter_error = gateway.text("on_limiter_error", "raise")
    if on_limiter_error not in ("raise", "allow", "local"):
        gateway.fail(
            "on_limiter_error", on_limiter_error,
            "'raise' (refuse with 503), 'allow' (admit, logged) or 'local' (this process's "
            "own quota)",
        )  # fmt: skip
    budget_mode = gateway.table.get("budget_mode", 429)
    if budget_mode not in (429, 402):
        gateway.fail("budget_mode", budget_mode, "429 (rate-limit family) or 402 (payment)")
    port = gateway.number("port", 8080, integer=True)
    if port > 65535:
        gateway.fail("port", port, "a TCP port, 1 to 65535")
    upstream_tables = data.get("upstreams")
    if not isinstance(upstream_tables, list) or not upstream_tables:
        top.fail("upstreams", upstream_tables, "at least one [[upstreams]] table")
    upstreams = tuple(
        _upstream(_Reader(source, f"upstreams[{i}]", t)) for i, t in enumerate(upstream_tables)
    )
    names = [u.name for u in upstreams]
    for name in names:
        if names.count(name) > 1:
            top.fail("upstreams", name, "a different name for each upstream")
    budget_tables = data.get("budgets", [])
    if not isinstance(budget_tables, list):
        top.fail("budgets", budget_tables, "[[budgets]] tables")
    budgets = tuple(
        _budget(_Reader(source, f"budgets[{i}]", t)) for i, t in enumerate(budget_tables)
    )
    return GatewayConfig(
        upstreams=upstreams,
        host=gateway.text("host", "127.0.0.1"),
        port=port,
        ledger=gateway.text("ledger", "sqlite:///gateway.db"),
        limiter=gateway.text("limiter", "memory://"),
        max_wait=gateway.number("max_wait", 10.0),
        max_body_bytes=gateway.number("max_body_bytes", 1_048_576, integer=True),
        upstream_timeout=gateway.number("upstream_timeout", 120.0),
        body_timeout=gateway.number("body_timeout", 30.0),
        budget_mode=budget_mode,
        on_limiter_error=on_limiter_error,
        budget_hold_seconds=gateway.number("budget_hold_seconds", 600.0),
        ledger_spool=gateway.text("ledger_spool"),
        budgets=budgets,
        source=source,
    )


def _upstream(r: _Reader) -> UpstreamSpec:
    r.known("name", "kind", "base_url", "endpoint", "api_key_env", "api_version", "deployments")
    kind = r.text("kind", required=True)
    if kind not in _KINDS:
        r.fail("kind", kind, "'openai' or 'azure'")
    key = "endpoint" if kind == "azure" else "base_url"
    other = "base_url" if kind == "azure" else "endpoint"
    if other in r.table:
        r.fail(other, r.table[other], f"no {other} for kind = {kind!r}: use {key}")
    default = "https://api.openai.com/v1" if kind == "openai" else None
    url = r.text(key, default, required=kind == "azure")
    if not url.startswith(("https://", "http://")):
        r.fail(key, url, "an http(s):// URL")
    version = r.text("api_version")
    if kind == "azure" and version is None:
        r.fail("api_version", None, "the Azure api-version, e.g. '2024-10-21'")
    env = r.text("api_key_env", required=True)
    if "=" in env or " " in env:
        r.fail("api_key_env", env, "the NAME of the variable holding the key, not the key")
    tables = r.table.get("deployments")
    if not isinstance(tables, list) or not tables:
        r.fail("deployments", tables, "at least one [[upstreams.deployments]] table")
    deployments = tuple(
        _deployment(_Reader(r.source, f"{r.path}.deployments[{i}]", t), kind)
        for i, t in enumerate(tables)
    )
    return UpstreamSpec(
        name=r.text("name", required=True),
        kind=kind,
        url=url.rstrip("/"),
        api_key_env=env,
        api_version=version,
        deployments=deployments,
    )


def _deployment(r: _Reader, kind: str) -> DeploymentSpec:
    r.known("name", "model", "tpm", "rpm", "type", "token_window", "request_window")
    name = r.text("name", required=kind == "azure")
    if kind == "openai" and name is not None:
        r.fail("name", name, "no name on an OpenAI upstream (the model is what is called)")
    tpm = r.number("tpm", None, integer=True)
    rpm = r.number("rpm", None, integer=True)
    if (tpm is None) != (rpm is None):
        r.fail(
            "rpm" if rpm is None else "tpm",
            None,
            "both tpm and rpm (the deployment's quota; RPM is never derived from TPM), or neither",
        )
    token_window = r.number("token_window", 60.0)
    request_window = r.number("request_window", min(10.0, token_window))
    if request_window > token_window:
        r.fail("request_window", request_window, f"at most token_window = {token_window:g}")
    if tpm is None and ("token_window" in r.table or "request_window" in r.table):
        key = "token_window" if "token_window" in r.table else "request_window"
        r.fail(key, r.table[key], "no window without a quota: add tpm and rpm, or remove it")
    return DeploymentSpec(
        model=r.text("model", required=True), name=name, tpm=tpm, rpm=rpm, type=r.text("type"),
        token_window=float(token_window), request_window=float(request_window),
    )  # fmt: skip


def _budget(r: _Reader) -> BudgetSpec:
    r.known("id", "limit", "unit", "period", "model", "deployment", "tags")
    unit = r.text("unit", "usd")
    if unit not in ("usd", "tokens"):
        r.fail("unit", unit, "'usd' or 'tokens'")
    raw = r.table.get("limit")
    limit: Decimal | int
    if unit == "tokens":
        if not isinstance(raw, int) or isinstance(raw, bool) or raw <= 0:
            r.fail("limit", raw, "a positive integer of tokens")
        limit = raw
    else:
        if isinstance(raw, (float, bool)):
            r.fail("limit", raw, "USD as a string, e.g. limit = \"25.00\" (never a float)")
        try:
            limit = Decimal(str(raw))
        except InvalidOperation:
            limit = Decimal(-1)
        if not limit.is_finite() or limit <= 0:
            r.fail("limit", raw, "a positive USD amount as a string, e.g. \"25.00\"")
    tags = r.table.get("tags", {})
    if not isinstance(tags, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in tags.items()
    ):
        r.fail("tags", tags, "a table of strings, e.g. tags = { tenant = \"acme\" }")
    return BudgetSpec(
        id=r.text("id", required=True),
        limit=limit,
        unit=unit,
        period=r.text("period", "none"),
        model=r.text("model"),
        deployment=r.text("deployment"),
        tags=dict(tags),
    )
