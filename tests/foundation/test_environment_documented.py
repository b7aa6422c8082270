"""Every environment variable the settings read is in README's Environment table."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
READERS = {"env_str", "env_int", "env_bool", "env_list", "get", "setdefault", "getenv"}
# Read only by the test settings, for a test run's own folder and ids (README's Tests section).
TEST_ONLY = {"LAYERLOOM_TEST_RUN_ID"}


def variables_read(path: Path) -> set[str]:
    """Names passed as the first argument to env_*() or os.environ.get/setdefault, and os.environ["X"]."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            if isinstance(func, ast.Attribute):  # os.environ.get(...), not any dict's .get
                reads = func.attr in READERS and ast.unparse(func.value).endswith("environ")
            else:
                reads = getattr(func, "id", "") in READERS
            if reads and isinstance(node.args[0].value, str):
                names.add(node.args[0].value)
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) and ast.unparse(
            node.value
        ).endswith("environ"):
            names.add(node.slice.value)
    return names


def test_every_variable_the_settings_read_is_documented() -> None:
    read = set().union(*(variables_read(p) for p in (ROOT / "webapp" / "settings").glob("*.py"))) - TEST_ONLY
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("## Environment") :]
    first_cells = re.findall(r"^\| ([^|]+) \|", table, flags=re.MULTILINE)  # a row may name several
    documented = {name for cell in first_cells for name in re.findall(r"`([A-Z0-9_]+)`", cell)}
    assert len(read) > 40, read  # the parser found the settings' reads
    assert read <= documented, f"read by the settings but not in README's Environment table: {sorted(read - documented)}"
