"""``python -m tokman.cli``: the same entry point as the ``tokman`` console script."""

from tokman.cli import main

main()
