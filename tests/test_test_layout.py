"""Where shared test code lives, held by a test: helpers in tests/support/, fixtures in the root
conftest.py (or an app's tests/conftest.py, world.py, factories.py). A test module imports from no
other test module: that couples a module's tests to another's, and importing a test module
collects its autouse fixtures along with the helper (#16 item 6)."""

from __future__ import annotations

import ast
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)


def _is_test_module(name: str) -> bool:
    return name.rpartition(".")[2].startswith("test_")


def _imported_test_modules(path: Path) -> list[str]:
    """The test modules ``path`` imports, at any depth (function-level imports count)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if _is_test_module(alias.name)]
        elif isinstance(node, ast.ImportFrom):
            module = "." * node.level + (node.module or "")
            if node.module and _is_test_module(node.module):
                found.append(module)
            else:  # ``from . import test_x``, ``from pkg.tests import test_x``
                found += [f"{module}.{alias.name}" for alias in node.names if alias.name.startswith("test_")]
    return found


def _test_code() -> list[Path]:
    paths = [ROOT / "conftest.py"]
    for folder in ROOT.rglob("tests"):
        if folder.is_dir() and not {".venv", ".data", "node_modules"} & set(folder.relative_to(ROOT).parts):
            paths += sorted(folder.rglob("*.py"))
    return paths


def test_no_test_code_imports_a_test_module():
    offenders = {
        str(path.relative_to(ROOT)): imported for path in _test_code() if (imported := _imported_test_modules(path))
    }
    assert not offenders, f"move what they import to tests/support/ (or a fixture to conftest.py): {offenders}"


def test_the_check_sees_every_kind_of_import(tmp_path):
    module = tmp_path / "m.py"
    module.write_text(
        "import accounts.tests.test_api_auth\n"
        "from realtime.tests.test_realtime import run\n"
        "from .test_helpers import x\n"
        "from realtime.tests import test_realtime\n"
        "def f():\n"
        "    from tests.test_isolation_matrix import routes\n"
        "from tests.support.api import assert_error\n"
        "from organizations.tests.world import world\n"
    )
    assert sorted(_imported_test_modules(module)) == sorted(
        [
            "accounts.tests.test_api_auth",
            "realtime.tests.test_realtime",
            ".test_helpers",
            "realtime.tests.test_realtime",
            "tests.test_isolation_matrix",
        ]
    )
