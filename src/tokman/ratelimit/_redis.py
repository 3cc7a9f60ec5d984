"""The Redis backend: one Lua script that mirrors `tokman.ratelimit._core.WindowLog` exactly.

Every operation (reserve, settle, release, unclaim, pause, lower, usage) is one ``EVALSHA`` of
`LUA` (redis-py's ``Script`` reloads it after a ``NOSCRIPT``: restart, failover,
``SCRIPT FLUSH``), so a reservation checks and takes TPM and RPM together, all or nothing, with
no other client in between. The script reads the time with ``TIME`` (the server's clock, one
for every process; µs) unless the caller passes a clock reading (tests on a fake clock).

Keys, all under one hash tag ``{<prefix>:<name>}`` so a Redis Cluster keeps them in one slot:

* ``...:t`` zset of every entry by time; the member is ``<id>|<tokens>``, so the tokens are read
  from the member itself (no second structure to write); a settle or release names the
  entry's current tokens (its `RateReservation` knows them) to find the member;
* ``...:o`` zset of the entries that count as no request (from ``lower``), by time: the
  requests in the request window are ``ZCOUNT`` of ``:t`` minus ``ZCOUNT`` of ``:o`` over it
  (so `Quota` requires ``request_window <= token_window``);
* ``...:m`` hash: ``used`` (tokens of the live entries), ``paused``, the claim ``cid`` /
  ``ctok`` / ``cuntil``, ``nlow`` (entries in ``:o``), ``exp``, ``oldest`` (a lower bound of
  the entries' times, so a decision looks for expired entries only when some may exist).

A typical admission is five commands inside the script (HMGET, TIME, ZCOUNT, ZADD, HSET).

Expiry: every key lives at least as long as the longest of the token window, the pause and the
claim after the last operation, so an idle quota leaves nothing behind. To spend one
``PEXPIRE`` per key only now and then, the script sets twice that span and records in ``exp``
(on the deciding clock) until when the keys are known to live; it renews when the span would
pass ``exp``, when the meta hash is new, or when an entry key may have been (re)created. (With
a caller's clock instead of ``TIME``, that clock must run at real speed.) Memory is one hash
field and one zset member per reservation in the window: O(requests), not O(tokens).

The sync backend uses ``redis.Redis`` (or ``redis.cluster.RedisCluster``), the async one
``redis.asyncio``'s twins: no thread hand-off. Driver failures become `StorageError` through
`tokman._backends.storage_errors` (connection failures are ``retryable``).
"""

from __future__ import annotations

from typing import Any

from tokman._backends import BackendURL, storage_errors
from tokman.ratelimit._core import CLAIM_GRACE_US, Decision
from tokman.ratelimit._quota import Quota

__all__ = ["LUA", "AsyncRedisBackend", "RedisBackend"]

LUA = """
local kt, ko, km = KEYS[1], KEYS[2], KEYS[3]
local op = ARGV[1]
local now
if ARGV[2] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
else
  now = tonumber(ARGV[2])
end
local tpm, rlimit = tonumber(ARGV[3]), tonumber(ARGV[4])
local tw, rw = tonumber(ARGV[5]), tonumber(ARGV[6])
local grace = tonumber(ARGV[10])

local meta = redis.call('HMGET', km, 'used', 'paused', 'cid', 'ctok', 'cuntil', 'nlow', 'exp',
                        'oldest')
local used = tonumber(meta[1]) or 0
local paused = tonumber(meta[2]) or 0
local cid = meta[3]
local ctok = tonumber(meta[4]) or 0
local cuntil = tonumber(meta[5]) or 0
local nlow = tonumber(meta[6]) or 0
local exp = tonumber(meta[7]) or 0
local oldest = tonumber(meta[8])
local cid0, ctok0, paused0, cuntil0 = cid, ctok, paused, cuntil

local function tokens_of(member)
  return tonumber(string.match(member, '|(%d+)$'))
end

-- prune: entries at or before now - window leave it. `oldest` is a lower bound of the
-- entries' times (nil: unknown or none), so most calls need not look.
local cut = now - tw
if (not oldest) or oldest <= cut then
  local old = redis.call('ZRANGEBYSCORE', kt, '-inf', cut)
  for i = 1, #old do used = used - tokens_of(old[i]) end
  if #old > 0 then redis.call('ZREMRANGEBYSCORE', kt, '-inf', cut) end
  local first = redis.call('ZRANGE', kt, 0, 0, 'WITHSCORES')
  oldest = tonumber(first[2])
end
if nlow > 0 then
  redis.call('ZREMRANGEBYSCORE', ko, '-inf', cut)
  nlow = redis.call('ZCARD', ko)
end
if cid and cuntil <= now then cid = false; ctok = 0; cuntil = 0 end

local rlo = '(' .. string.format('%d', now - rw)
local function requests()
  local n = redis.call('ZCOUNT', kt, rlo, '+inf')
  if nlow > 0 then n = n - redis.call('ZCOUNT', ko, rlo, '+inf') end
  return n
end

local function add(member)
  redis.call('ZADD', kt, now, member)
  if not oldest then oldest = now end
end

local function save(created)
  if cid ~= cid0 or ctok ~= ctok0 or cuntil ~= cuntil0 or paused ~= paused0 then
    redis.call('HSET', km, 'paused', paused, 'ctok', ctok, 'cuntil', cuntil)
    if cid then redis.call('HSET', km, 'cid', cid) else redis.call('HDEL', km, 'cid') end
  end
  local span = math.max(tw, paused - now, cuntil - now)
  local renew = created or exp == 0 or now + span > exp
  if renew then exp = now + 2 * span end
  if oldest then
    redis.call('HSET', km, 'used', used, 'nlow', nlow, 'exp', exp, 'oldest', oldest)
  else
    redis.call('HSET', km, 'used', used, 'nlow', nlow, 'exp', exp)
    redis.call('HDEL', km, 'oldest')
  end
  if renew then
    local ttl = math.ceil(2 * span / 1000) + 1000
    for _, k in ipairs(KEYS) do redis.call('PEXPIRE', k, ttl) end
  end
end

if op == 'reserve' then
  local member, tokens, waiter = ARGV[7] .. '|' .. ARGV[8], tonumber(ARGV[8]), ARGV[9]
  local other = cid and cid ~= waiter
  local ct, cr = 0, 0
  if other then ct = ctok; cr = 1 end
  local count = requests()
  local is_paused = now < paused
  if (not is_paused) and used + tokens + ct <= tpm and count + 1 + cr <= rlimit then
    local empty = (not oldest) or used == 0  -- the zset may have been deleted: renew
    add(member)
    used = used + tokens
    if waiter ~= '' and cid == waiter then cid = false; ctok = 0; cuntil = 0 end
    save(empty)
    return {1, now}
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
        local chunk = redis.call('ZRANGE', kt, start, start + 255, 'WITHSCORES')
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
        local e = redis.call('ZRANGEBYSCORE', kt, rlo, '+inf', 'WITHSCORES', 'LIMIT', need - 1, 1)
        if #e > 0 then found = tonumber(e[2]) + rw - now end
      else
        local seen, offset = 0, 0
        while seen < need do
          local chunk = redis.call('ZRANGEBYSCORE', kt, rlo, '+inf', 'WITHSCORES', 'LIMIT',
                                   offset, 256)
          if #chunk == 0 then break end
          for i = 1, #chunk, 2 do
            if not redis.call('ZSCORE', ko, chunk[i]) then
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
  return {0, now, wait}
elseif op == 'settle' then
  local before = ARGV[7] .. '|' .. ARGV[8]
  local at = redis.call('ZSCORE', kt, before)
  if not at then save(false); return 0 end
  redis.call('ZREM', kt, before)
  redis.call('ZADD', kt, at, ARGV[7] .. '|' .. ARGV[9])
  used = used + tonumber(ARGV[9]) - tonumber(ARGV[8])
  save(false)
  return 1
elseif op == 'release' then
  if redis.call('ZREM', kt, ARGV[7] .. '|' .. ARGV[8]) == 0 then save(false); return 0 end
  used = used - tonumber(ARGV[8])
  save(false)
  return 1
elseif op == 'unclaim' then
  if cid and cid == ARGV[7] then cid = false; ctok = 0; cuntil = 0 end
  save(false)
  return 1
elseif op == 'pause' then
  paused = math.max(paused, now + tonumber(ARGV[8]))
  save(false)
  return 1
elseif op == 'lower' then
  local remaining = tonumber(ARGV[8])
  local excess = tpm - used - remaining
  if excess <= 0 then save(false); return 0 end
  local member = ARGV[7] .. '|' .. string.format('%d', excess)
  add(member)
  redis.call('ZADD', ko, now, member)
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

_FIX = (
    "Check that Redis is running and reachable, or open the limiter with "
    "on_backend_error='local' (limit in this process alone) or 'allow' (do not limit) "
    "while it is down."
)
_OPTIONS = ("socket_timeout", "socket_connect_timeout")
_GRACE = str(CLAIM_GRACE_US).encode()


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
    uses_server_time = True

    def __init__(self, url: BackendURL, client: Any, *, name: str, key_prefix: str) -> None:
        self._url = url
        self.url = url.redacted
        self.client = client
        self._script = client.register_script(LUA)
        tag = "{" + f"{key_prefix}:{name}" + "}"
        # pre-encoded: redis-py passes bytes through, so each call packs less
        self.keys = [f"{tag}:{part}".encode() for part in "tom"]
        self._static_for: Quota | None = None
        self._static: tuple[bytes, ...] = ()

    def _args(self, op: str, quota: Quota, now: int | None, *rest: Any) -> list[Any]:
        padded: list[Any] = [*rest, *("", 0, "")[len(rest) :]]
        key, value, waiter = padded
        if self._static_for is not quota:
            self._static = tuple(str(v).encode() for v in quota.script_args)
            self._static_for = quota
        return [
            op,
            b"" if now is None else now,
            *self._static,
            key,
            value,
            b"" if waiter is None else waiter,
            _GRACE,
        ]

    def _errors(self, action: str) -> Any:
        return storage_errors(self._url, action, what="rate limiter", fix=_FIX)


def _decision(result: Any) -> Decision:
    if int(result[0]) == 1:
        return Decision(True, int(result[1]))
    return Decision(False, int(result[1]), int(result[2]))


class RedisBackend(_Shared):
    """The Lua script over redis-py's sync client."""

    def __init__(self, url: BackendURL, *, name: str, key_prefix: str) -> None:
        super().__init__(url, _sync_client(url), name=name, key_prefix=key_prefix)

    def _eval(self, action: str, *args: Any) -> Any:
        with self._errors(action):
            return self._script(keys=self.keys, args=self._args(*args))

    def reserve(
        self, key: str, tokens: int, waiter: str | None, quota: Quota, now: int | None
    ) -> Decision:
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
        self._eval("pause", "pause", quota, now, "", seconds_us)

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

    async def _eval(self, action: str, *args: Any) -> Any:
        with self._errors(action):
            return await self._script(keys=self.keys, args=self._args(*args))

    async def reserve(
        self, key: str, tokens: int, waiter: str | None, quota: Quota, now: int | None
    ) -> Decision:
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
        await self._eval("pause", "pause", quota, now, "", seconds_us)

    async def lower(self, key: str, remaining: int, quota: Quota, now: int | None) -> int:
        return int(await self._eval("lower", "lower", quota, now, key, remaining))

    async def usage(self, quota: Quota, now: int | None) -> tuple[int, int]:
        used, requests = await self._eval("read", "usage", quota, now)
        return int(used), int(requests)

    async def close(self) -> None:
        """Close the connection pool."""
        await self.client.aclose()
