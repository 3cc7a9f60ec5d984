"""The README's "Coming from token_management.py" example runs as written."""

from __future__ import annotations

from pathlib import Path


def test_readme_example_runs() -> None:
    """Every call in the example works and every assertion in it holds."""
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Coming from token_management.py\n", 1)[1].split("\n## ", 1)[0]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    exec(compile(code, "README.md#coming-from-token_managementpy", "exec"), {"__name__": "app"})
