"""``--ray ADDRESS``: connect this run to a Ray cluster, and leave it when done.

``local`` starts a Ray instance on this machine for the run (stopped at the end); ``auto``
joins the cluster already running here (``ray start --head``); ``HOST:PORT`` is a cluster's
head node (its GCS port, 6379 by default) and ``ray://HOST:10001`` goes through Ray Client. A
cluster address is tried with a short TCP connect first: Ray itself retries a dead address
for minutes. Nothing here sets an environment variable; Ray reads its own.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from contextlib import contextmanager

from tokman.cli._errors import CliError
from tokman.errors import MissingDependencyError

__all__ = ["ray_actors", "ray_cluster"]

_CONNECT_SECONDS = 5.0


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def _check_reachable(address: str) -> None:
    """A one-line error, fast, when nothing listens at a ``HOST:PORT`` address."""
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not host or not port.isdigit():
        return  # not HOST:PORT: Ray's own parser names the problem
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=_CONNECT_SECONDS):
            pass
    except OSError as exc:
        raise CliError(
            f"--ray {address}: no Ray cluster answers at {host}:{port} "
            f"({exc.strerror or _first_line(exc)}); check the address, or pass --ray local"
        ) from exc


@contextmanager
def ray_cluster(address: str) -> Iterator[None]:
    """``ray.init(address=...)`` for the block, ``ray.shutdown()`` after it.

    Raises:
        CliError: Ray is not installed (naming ``pip install "tokman[ray]"``), or the address
            does not lead to a cluster (exit 1, one line).
    """
    try:
        import ray
    except ImportError as exc:
        raise CliError(
            str(MissingDependencyError("ray", extra="ray", feature="tokman count --ray"))
        ) from exc
    if address not in ("local", "auto"):
        _check_reachable(address)
    try:
        ray.init(
            address=address,
            logging_level=logging.WARNING,
            log_to_driver=False,
            include_dashboard=False if address == "local" else None,
        )
    except (ConnectionError, ValueError, RuntimeError, TimeoutError) as exc:
        raise CliError(f"--ray {address}: {_first_line(exc)}") from exc
    try:
        yield
    finally:
        ray.shutdown()


def ray_actors(workers: int | None) -> int | None:
    """``--workers`` as Ray actors: at most the connected cluster's CPUs (each actor takes
    one; more would wait for CPUs that never come). ``None``: one per CPU."""
    if workers is None:
        return None
    import ray

    cpus = int(ray.cluster_resources().get("CPU", 1))  # type: ignore[no-untyped-call]
    return max(1, min(workers, cpus))
