"""Cost of ``import tokman`` (goal <= 0.1 s), measured in fresh interpreters.

Run: python benchmarks/bench_import.py
Prints the median wall time of ``python -c "import tokman"`` minus ``python -c "pass"``,
side by side with ``import tiktoken`` for scale, and the heavy modules a bare import loaded.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time


def timed(code: str, runs: int = 15) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    baseline = timed("pass")
    tokman_cost = timed("import tokman") - baseline
    tiktoken_cost = timed("import tiktoken") - baseline
    print(f"import tokman:   {tokman_cost * 1000:6.1f} ms (goal <= 100 ms)")
    print(
        f"import tiktoken: {tiktoken_cost * 1000:6.1f} ms (for scale; "
        f"ratio tokman/tiktoken {tokman_cost / tiktoken_cost:.2f}x)"
    )
    probe = (
        "import sys, tokman; heavy = ['tiktoken', 'sqlalchemy', 'click', 'rich', 'redis', "
        "'openai', 'psycopg', 'regex', 'bpe_openai']; "
        "print([m for m in heavy if m in sys.modules])"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()
    print(f"heavy modules loaded by a bare import: {loaded}")


if __name__ == "__main__":
    main()
