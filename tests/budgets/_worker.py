"""Child process for the concurrency proof: reserve, record and settle against one budget."""

from __future__ import annotations

import json
import random
import sys

from tokman.budgets import BudgetGuard
from tokman.errors import BudgetExceededError
from tokman.ledger import UsageRecord, open_ledger


def main() -> None:
    url, prefix, worker, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    rng = random.Random(worker)
    ledger = open_ledger(url, table_prefix=prefix)
    guard = BudgetGuard(ledger, ttl=300)
    settled = rejected = 0
    ids = []
    sys.stdin.readline()  # start together
    for i in range(rounds):
        try:
            hold = guard.reserve(
                model="m", prompt_tokens=5, max_completion_tokens=5, tags={"team": "a"}
            )
        except BudgetExceededError:
            rejected += 1
            continue
        record = UsageRecord(
            id=f"w{worker}-{i}",
            model="m",
            prompt_tokens=5,
            completion_tokens=rng.randint(0, 5),
            tags={"team": "a"},
        )
        hold.settle(record)
        settled += record.total_tokens
        ids.append(record.id)
    ledger.close()
    print(json.dumps({"settled": settled, "rejected": rejected, "ids": ids}))


if __name__ == "__main__":
    main()
