"""``python -m tokman.cli``: the same as the ``tokman`` console script."""

from tokman.cli import main

main()
