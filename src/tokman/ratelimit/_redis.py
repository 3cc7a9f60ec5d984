"""The Redis backend: one Lua script that mirrors `tokman.ratelimit._core.WindowLog` exactly.

Every operation (reserve, settle, release, unclaim, pause, lower, usage) is one ``EVALSHA`` of
`LUA` (loaded again after a ``NOSCRIPT``: restart, failover, ``SCRIPT FLUSH``), so a
reservation checks and takes TPM and RPM together, all or nothing, with no other client in
between. The script reads the time with ``TIME`` (the server's clock, one
for every process; µs) unless the caller passes a clock reading (tests on a fake clock).

Keys, all under one hash tag ``{<prefix>:<name>}`` so a Redis Cluster keeps them in one slot:

* ``...:t`` zset of every entry by time; the member is ``<id>|<tokens>``, so the tokens are read
  from the member itself (no second structure to write); a settle or release names the
  entry's current tokens (its `RateReservation` knows them) to find the member;
* ``...:o`` zset of the entries that count as no request (from ``lower``), by time: the
  requests in the request window are ``ZCOUNT`` of ``:t`` minus ``ZCOUNT`` of ``:o`` over it
  (so `Quota` requires ``request_window <= token_window``);
* ``...:m`` hash: ``used`` (tokens of the live entries), ``paused``, the claim ``cid`` /
  ``ctok`` / ``cuntil`` (``cid`` ``''``: none), ``nlow`` (entries in ``:o``), ``exp``,
  ``oldest`` (a lower bound of the entries' times, so a decision looks for expired entries
  only when some may exist).

The members of ``:t`` (``ZCARD``, O(1)) bound the requests in the request window, so the
script counts them with ``ZCOUNT`` only when that bound alone leaves no room.

A typical admission is five commands inside the script (TIME, HMGET, ZCARD, ZADD, one HSET of the
fields that changed), in one ``EVALSHA`` of 10 arguments. Why it is lean (issue 11: no slower
than limits / throttled-py): every command and every string-to-number conversion in the script
costs the server a fraction of a µs on each call, and every argument costs the client packing.
So the claim grace is part of the script text, the clock reading (tests only) is the last,
optional argument, and an admission answers a bare integer (its time).

Expiry: every key lives at least as long as the longest of the token window, the pause and the
claim after the last operation, so an idle quota leaves nothing behind. To spend one
``PEXPIRE`` per key only now and then, the script sets twice that span and records in ``exp``
(on the deciding clock) until when the keys are known to live; it renews when the span would
pass ``exp``, when the meta hash is new, or when an entry key may have been (re)created. (With
a caller's clock instead of ``TIME``, that clock must run at real speed.) Memory is one
zset member per reservation in the window: O(requests), not O(tokens).

The sync backend uses ``redis.Redis`` (or ``redis.cluster.RedisCluster``), the async one
``redis.asyncio``'s twins: no thread hand-off. Driver failures become `StorageError` through
`tokman._backends.storage_error` (connection failures are ``retryable``), called from an
``except`` rather than a context manager entered on every call.
"""

from __future__ import annotations

import hashlib
from typing import Any

from tokman._backends import BackendURL, storage_error
from tokman.errors import StorageError
from tokman.ratelimit._core import CLAIM_GRACE_US, Decision
from tokman.ratelimit._quota import Quota

__all__ = ["LUA", "AsyncRedisBackend", "RedisBackend"]

_SCRIPT = """
local call, tonumber, argv = redis.call, tonumber, ARGV  -- locals: no global lookups
local kt, ko, km = KEYS[1], KEYS[2], KEYS[3]
local op = argv[1]
local tpm, rlimit = tonumber(argv[2]), tonumber(argv[3])
local tw, rw = tonumber(argv[4]), tonumber(argv[5])
-- argv[6..8]: the operation's operands (trailing ones may be absent); argv[9]: a clock reading
local now = tonumber(argv[9])
if not now then
  local t = call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local grace = CLAIM_GRACE_US

local meta = call('HMGET', km, 'used', 'oldest', 'exp', 'paused', 'cid', 'ctok', 'cuntil', 'nlow')
local used = tonumber(meta[1]) or 0
-- members of :t: at least the requests in the request window. ZCARD is O(1) and exact
-- whoever wrote the zset, so no stored counter can drift from it.
local n = call('ZCARD', kt)
local oldest = tonumber(meta[2])
local exp = tonumber(meta[3]) or 0
local paused = tonumber(meta[4]) or 0
local cid = meta[5]
if cid == '' then cid = false end
local ctok = tonumber(meta[6]) or 0
local cuntil = tonumber(meta[7]) or 0
local nlow = tonumber(meta[8]) or 0
local oldest0, paused0, cid0, ctok0, cuntil0, nlow0 = oldest, paused, cid, ctok, cuntil, nlow

local function tokens_of(member)
  return tonumber(string.match(member, '|(%d+)$'))
end

-- prune: entries at or before now - window leave it. `oldest` is a lower bound of the
-- entries' times (nil: unknown or none), so most calls need not look. Every :o member is also
-- in :t with the same time, so :o has expired members only when :t has.
local cut = now - tw
if (not oldest) or oldest <= cut then
  local old = call('ZRANGEBYSCORE', kt, '-inf', cut)
  if #old > 0 then
    for i = 1, #old do used = used - tokens_of(old[i]) end
    call('ZREMRANGEBYRANK', kt, 0, #old - 1)
    n = n - #old
    if nlow > 0 then nlow = nlow - call('ZREMRANGEBYSCORE', ko, '-inf', cut) end
  end
  local first = call('ZRANGE', kt, 0, 0, 'WITHSCORES')
  oldest = tonumber(first[2])
end
if cid and cuntil <= now then cid = false; ctok = 0; cuntil = 0 end

local rfloor = nil
local function rlo()  -- the request window's exclusive lower bound, formatted once
  rfloor = rfloor or '(' .. string.format('%d', now - rw)
  return rfloor
end
local function requests()
  local count = call('ZCOUNT', kt, rlo(), '+inf')
  if nlow > 0 then count = count - call('ZCOUNT', ko, rlo(), '+inf') end
  return count
end

local function add(member)
  call('ZADD', kt, now, member)
  n = n + 1
  if not oldest then oldest = now end
end

-- one HSET: the entries' totals, and whichever other fields changed; `exp` and the keys'
-- expiry only when due
local function save(created)
  local span = math.max(tw, paused - now, cuntil - now)
  local renew = created or exp == 0 or now + span > exp
  local f = {}
  if oldest ~= oldest0 then f[#f + 1] = 'oldest'; f[#f + 1] = oldest or '' end
  if paused ~= paused0 then f[#f + 1] = 'paused'; f[#f + 1] = paused end
  if cid ~= cid0 or ctok ~= ctok0 or cuntil ~= cuntil0 then
    f[#f + 1] = 'cid'; f[#f + 1] = cid or ''
    f[#f + 1] = 'ctok'; f[#f + 1] = ctok
    f[#f + 1] = 'cuntil'; f[#f + 1] = cuntil
  end
  if nlow ~= nlow0 then f[#f + 1] = 'nlow'; f[#f + 1] = nlow end
  if renew then exp = now + 2 * span; f[#f + 1] = 'exp'; f[#f + 1] = exp end
  call('HSET', km, 'used', used, unpack(f))
  if renew then
    local ttl = math.ceil(2 * span / 1000) + 1000
    for _, k in ipairs(KEYS) do call('PEXPIRE', k, ttl) end
  end
end

if op == 'reserve' then
  local tokens, waiter = tonumber(argv[7]), argv[8] or ''
  local other = cid and cid ~= waiter
  local ct, cr = 0, 0
  if other then ct = ctok; cr = 1 end
  -- n bounds the requests in the request window: count them only when n alone does not fit
  local count = n
  if count + 1 + cr > rlimit then count = requests() end
  local is_paused = now < paused
  if (not is_paused) and used + tokens + ct <= tpm and count + 1 + cr <= rlimit then
    local empty = (not oldest) or used == 0 or n == 0  -- the zset may be gone: renew
    add(argv[6] .. '|' .. argv[7])
    used = used + tokens
    if waiter ~= '' and cid == waiter then cid = false; ctok = 0; cuntil = 0 end
    save(empty)
    return now
  end
  local wait = 1
  if is_paused then wait = paused - now end
  if tokens + ct > tpm or 1 + cr > rlimit then
    wait = math.max(wait, cuntil - now)
  else
    local need = used + tokens + ct - tpm
    if need > 0 then
      local found = tw
      local freed, start, done = 0, 0, false
      while not done do
        local chunk = call('ZRANGE', kt, start, start + 255, 'WITHSCORES')
        if #chunk == 0 then break end
        for i = 1, #chunk, 2 do
          freed = freed + tokens_of(chunk[i])
          if freed >= need then
            found = tonumber(chunk[i + 1]) + tw - now
            done = true
            break
          end
        end
        start = start + 256
      end
      wait = math.max(wait, found)
    end
    need = count + 1 + cr - rlimit
    if need > 0 then
      local found = rw
      if nlow == 0 then
        local e = call('ZRANGEBYSCORE', kt, rlo(), '+inf', 'WITHSCORES', 'LIMIT', need - 1, 1)
        if #e > 0 then found = tonumber(e[2]) + rw - now end
      else
        local seen, offset = 0, 0
        while seen < need do
          local chunk = call('ZRANGEBYSCORE', kt, rlo(), '+inf', 'WITHSCORES', 'LIMIT',
                             offset, 256)
          if #chunk == 0 then break end
          for i = 1, #chunk, 2 do
            if not call('ZSCORE', ko, chunk[i]) then
              seen = seen + 1
              if seen >= need then found = tonumber(chunk[i + 1]) + rw - now; break end
            end
          end
          offset = offset + 256
        end
      end
      wait = math.max(wait, found)
    end
  end
  wait = math.max(wait, 1)
  if waiter ~= '' and ((not cid) or cid == waiter) then
    cid = waiter; ctok = tokens; cuntil = now + wait + grace
  end
  save(false)
  return {now, wait}
elseif op == 'settle' then
  local before = argv[6] .. '|' .. argv[7]
  local at = call('ZSCORE', kt, before)
  if not at then save(false); return 0 end
  call('ZREM', kt, before)
  call('ZADD', kt, at, argv[6] .. '|' .. argv[8])
  used = used + tonumber(argv[8]) - tonumber(argv[7])
  save(false)
  return 1
elseif op == 'release' then
  if call('ZREM', kt, argv[6] .. '|' .. argv[7]) == 0 then save(false); return 0 end
  used = used - tonumber(argv[7])
  n = n - 1
  save(false)
  return 1
elseif op == 'unclaim' then
  if cid and cid == argv[6] then cid = false; ctok = 0; cuntil = 0 end
  save(false)
  return 1
elseif op == 'pause' then
  paused = math.max(paused, now + tonumber(argv[7]))
  save(false)
  return 1
elseif op == 'lower' then
  local excess = tpm - used - tonumber(argv[7])
  if excess <= 0 then save(false); return 0 end
  local member = argv[6] .. '|' .. string.format('%d', excess)
  add(member)
  call('ZADD', ko, now, member)
  nlow = nlow + 1
  used = used + excess
  save(true)
  return excess
elseif op == 'usage' then
  save(false)
  return {used, requests()}
end
return redis.error_reply('tokman rate limiter: unknown operation ' .. tostring(op))
"""

#: The script, with the claim's grace (a constant: one argument fewer on every call).
LUA = _SCRIPT.replace("CLAIM_GRACE_US", str(CLAIM_GRACE_US))

_FIX = (
    "Check that Redis is running and reachable, or open the limiter with "
    "on_backend_error='local' (limit in this process alone) or 'allow' (do not limit) "
    "while it is down."
)
_OPTIONS = ("socket_timeout", "socket_connect_timeout")
_MAX_CONNECTIONS = 2**16  # per process (per node for a cluster); Redis' maxclients is 10,000


def _client_kwargs(url: BackendURL) -> dict[str, Any]:
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    for option in url.options:
        if option not in _OPTIONS:
            raise url.invalid(f"option {option!r}", f"a rate limiter takes only {_OPTIONS}")
    kwargs: dict[str, Any] = {
        "username": url.username,
        "password": url.password,
        "retry": Retry(NoBackoff(), 1),  # one reconnect, then fail (the policy decides)
        # redis-py 8 caps a pool at 100 connections and fails the 101st concurrent operation
        # ("Too many connections": a StorageError, a 503 at the gateway under load); a
        # connection per operation in flight is what redis-py < 8 always allowed
        "max_connections": _MAX_CONNECTIONS,
    }
    for option in _OPTIONS:
        raw = url.option(option, "2")
        try:
            kwargs[option] = float(raw)
        except ValueError:
            raise url.invalid(f"option {option}={raw!r}", "a number of seconds") from None
    if url.scheme.name == "rediss":
        kwargs["ssl"] = True
    return kwargs


def _nodes(url: BackendURL, node_class: Any) -> list[Any]:
    return [node_class(host or "127.0.0.1", port or 6379) for host, port in url.hosts]


def _sync_client(url: BackendURL) -> Any:
    import redis
    import redis.cluster

    kwargs = _client_kwargs(url)
    if url.scheme.name == "redis+cluster":
        return redis.cluster.RedisCluster(
            startup_nodes=_nodes(url, redis.cluster.ClusterNode), **kwargs
        )
    return redis.Redis(
        host=url.host or "127.0.0.1",
        port=url.port or 6379,
        db=int(url.database or 0),
        **kwargs,
    )


def _async_client(url: BackendURL) -> Any:
    import redis.asyncio
    import redis.asyncio.cluster

    kwargs = _client_kwargs(url)
    if url.scheme.name == "redis+cluster":
        return redis.asyncio.cluster.RedisCluster(
            startup_nodes=_nodes(url, redis.asyncio.cluster.ClusterNode), **kwargs
        )
    return redis.asyncio.Redis(
        host=url.host or "127.0.0.1",
        port=url.port or 6379,
        db=int(url.database or 0),
        **kwargs,
    )


class _Shared:
    """What both backends share: the keys, the command for each call and the error mapping."""

    uses_server_time = True

    def __init__(self, url: BackendURL, client: Any, *, name: str, key_prefix: str) -> None:
        from redis.exceptions import NoScriptError

        self._url = url
        self.url = url.redacted
        self.client = client
        self._sha = hashlib.sha1(LUA.encode()).hexdigest()
        self._noscript = NoScriptError
        tag = "{" + f"{key_prefix}:{name}" + "}"
        # pre-encoded: redis-py passes bytes through, so each call packs less
        self.keys = tuple(f"{tag}:{part}".encode() for part in "tom")
        self._heads_for: Quota | None = None
        self._heads: dict[str, tuple[Any, ...]] = {}

    def _command(
        self, op: str, quota: Quota, now: int | None, operands: tuple[Any, ...]
    ) -> tuple[Any, ...]:
        """``EVALSHA sha 3 KEYS op <quota> <operands> [now]``: everything up to the operands is
        built once per operation and quota; with no clock reading the trailing operands may be
        left out (the script reads them as absent), so a ``try_acquire`` sends 10 arguments."""
        if self._heads_for is not quota:
            self._heads_for, self._heads = quota, {}
        head = self._heads.get(op)
        if head is None:
            static = tuple(str(v).encode() for v in quota.script_args)
            head = self._heads[op] = ("EVALSHA", self._sha, 3, *self.keys, op.encode(), *static)
        if now is None:
            return head + operands
        return head + operands + (b"",) * (3 - len(operands)) + (now,)

    def _error(self, exc: Exception, action: str) -> StorageError | None:
        return storage_error(exc, self._url, action, what="rate limiter", fix=_FIX)


def _decision(result: Any) -> Decision:
    """The script answers an admission with its time, a refusal with ``[time, wait]``."""
    if isinstance(result, int):
        return Decision(True, result)
    return Decision(False, int(result[0]), int(result[1]))


class RedisBackend(_Shared):
    """The Lua script over redis-py's sync client."""

    def __init__(self, url: BackendURL, *, name: str, key_prefix: str) -> None:
        super().__init__(url, _sync_client(url), name=name, key_prefix=key_prefix)

    def _eval(self, action: str, op: str, quota: Quota, now: int | None, *operands: Any) -> Any:
        command = self._command(op, quota, now, operands)
        try:
            try:
                return self.client.execute_command(*command)
            except self._noscript:  # a restart, failover or SCRIPT FLUSH: load it again
                self.client.script_load(LUA)
                return self.client.execute_command(*command)
        except Exception as exc:
            error = self._error(exc, action)
            if error is None:
                raise
            raise error from exc

    def reserve(
        self, key: str, tokens: int, waiter: str | None, quota: Quota, now: int | None
    ) -> Decision:
        if waiter is None:
            return _decision(self._eval("reserve tokens in", "reserve", quota, now, key, tokens))
        return _decision(
            self._eval("reserve tokens in", "reserve", quota, now, key, tokens, waiter)
        )

    def settle(self, key: str, held: int, tokens: int, quota: Quota, now: int | None) -> bool:
        return bool(self._eval("settle a reservation in", "settle", quota, now, key, held, tokens))

    def release(self, key: str, held: int, quota: Quota, now: int | None) -> bool:
        return bool(self._eval("release a reservation in", "release", quota, now, key, held))

    def unclaim(self, waiter: str, quota: Quota, now: int | None) -> None:
        self._eval("drop a claim in", "unclaim", quota, now, waiter)

    def pause(self, seconds_us: int, quota: Quota, now: int | None) -> None:
        self._eval("pause", "pause", quota, now, b"", seconds_us)

    def lower(self, key: str, remaining: int, quota: Quota, now: int | None) -> int:
        return int(self._eval("lower", "lower", quota, now, key, remaining))

    def usage(self, quota: Quota, now: int | None) -> tuple[int, int]:
        used, requests = self._eval("read", "usage", quota, now)
        return int(used), int(requests)

    def close(self) -> None:
        """Close the connection pool."""
        self.client.close()


class AsyncRedisBackend(_Shared):
    """The Lua script over ``redis.asyncio`` (awaited on the caller's event loop)."""

    def __init__(self, url: BackendURL, *, name: str, key_prefix: str) -> None:
        super().__init__(url, _async_client(url), name=name, key_prefix=key_prefix)

    async def _eval(
        self, action: str, op: str, quota: Quota, now: int | None, *operands: Any
    ) -> Any:
        command = self._command(op, quota, now, operands)
        try:
            try:
                return await self.client.execute_command(*command)
            except self._noscript:  # a restart, failover or SCRIPT FLUSH: load it again
                await self.client.script_load(LUA)
                return await self.client.execute_command(*command)
        except Exception as exc:
            error = self._error(exc, action)
            if error is None:
                raise
            raise error from exc

    async def reserve(
        self, key: str, tokens: int, waiter: str | None, quota: Quota, now: int | None
    ) -> Decision:
        if waiter is None:
            return _decision(
                await self._eval("reserve tokens in", "reserve", quota, now, key, tokens)
            )
        return _decision(
            await self._eval("reserve tokens in", "reserve", quota, now, key, tokens, waiter)
        )

    async def settle(self, key: str, held: int, tokens: int, quota: Quota, now: int | None) -> bool:
        return bool(
            await self._eval("settle a reservation in", "settle", quota, now, key, held, tokens)
        )

    async def release(self, key: str, held: int, quota: Quota, now: int | None) -> bool:
        return bool(await self._eval("release a reservation in", "release", quota, now, key, held))

    async def unclaim(self, waiter: str, quota: Quota, now: int | None) -> None:
        await self._eval("drop a claim in", "unclaim", quota, now, waiter)

    async def pause(self, seconds_us: int, quota: Quota, now: int | None) -> None:
        await self._eval("pause", "pause", quota, now, b"", seconds_us)

    async def lower(self, key: str, remaining: int, quota: Quota, now: int | None) -> int:
        return int(await self._eval("lower", "lower", quota, now, key, remaining))

    async def usage(self, quota: Quota, now: int | None) -> tuple[int, int]:
        used, requests = await self._eval("read", "usage", quota, now)
        return int(used), int(requests)

    async def close(self) -> None:
        """Close the connection pool."""
        await self.client.aclose()
