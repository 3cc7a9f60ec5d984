"""Bounded memory: 5 million documents from a generator, counted with peak RSS < 300 MB.

The count runs in a fresh interpreter. Its own peak is read from ``VmHWM`` in
``/proc/self/status``: Linux carries ``ru_maxrss`` across ``exec``, so a child of the (large)
pytest process would report pytest's size as its own. The workers' peak is
``RUSAGE_CHILDREN``'s ``ru_maxrss`` once they are shut down (they are forked from the small
probe, so that is theirs).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

PROBE = textwrap.dedent(
    """
    import json, resource, sys
    import tokman
    n = int(sys.argv[1])
    def documents():
        for i in range(n):
            yield f"Document {i % 977}: the quick brown fox jumps over the lazy dog."
    total = sum(tokman.iter_count_batch(documents(), model="gpt-4o", workers=2))
    period = [tokman.count(f"Document {i}: the quick brown fox jumps over the lazy dog.",
                           model="gpt-4o") for i in range(977)]
    expected = n // 977 * sum(period) + sum(period[: n % 977])
    tokman.shutdown_workers()  # reaped now, so RUSAGE_CHILDREN holds the workers' peak
    with open("/proc/self/status") as status:
        hwm = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(json.dumps({"total": total, "expected": expected,
                      "self_mb": hwm / 1024, "child_mb": children / 1024}))
    """
)


@pytest.mark.slow
def test_five_million_documents_in_bounded_memory() -> None:
    """A generator of 5M short documents: the exact total, every process under 300 MB."""
    out = subprocess.run(
        [sys.executable, "-c", PROBE, "5000000"], capture_output=True, text=True, check=True
    )
    found = json.loads(out.stdout)
    assert found["total"] == found["expected"]
    assert found["self_mb"] < 300, found
    assert found["child_mb"] < 300, found
