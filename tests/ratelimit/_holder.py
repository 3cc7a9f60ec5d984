"""A separate process on a Redis quota: ``hold`` reserves 900 tokens, reports the reservation's
time and waits to be killed; ``observe`` reports a 429 (retry-after-ms: 3000) and exits."""

from __future__ import annotations

import sys
import time

from tokman.ratelimit import Quota, RateLimiter


def main() -> None:
    url, name, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    quota = Quota(tpm=1_000, rpm=600, token_window=2.0, request_window=1.0)
    limiter = RateLimiter(quota, url, name=name)
    if mode == "observe":
        limiter.observe(429, {"retry-after-ms": "3000"})
        print("observed", flush=True)
    else:
        hold = limiter.acquire(900)
        print(hold.time, flush=True)
        time.sleep(600)


if __name__ == "__main__":
    main()
