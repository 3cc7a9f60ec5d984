"""Child process for the kill -9 test: records one at a time, printing each id once acknowledged."""

from __future__ import annotations

import sys

from tokman.ledger import UsageRecord, open_ledger


def main() -> None:
    url, prefix = sys.argv[1], sys.argv[2]
    ledger = open_ledger(url, table_prefix=prefix)
    print("ready", flush=True)
    i = 0
    while True:
        rid = f"k{i}"
        ledger.record(UsageRecord(id=rid, model="m", prompt_tokens=i, tags={"n": str(i)}))
        print(rid, flush=True)
        i += 1


if __name__ == "__main__":
    main()
