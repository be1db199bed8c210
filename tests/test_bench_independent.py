"""bench/ runs without tests/: the child-process helpers it shares with the suite live in
the product (simulator/process.py, dashboard/processes.py), never in tests/."""

import ast
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_MODULES = sorted(f"bench.{path.stem}" for path in (ROOT / "bench").glob("*.py"))
SHARED = ["simulator.process", "dashboard.processes"]


def imported_names(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside a function."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def test_no_bench_module_or_shared_helper_imports_tests():
    files = [*(ROOT / "bench").glob("*.py"), ROOT / "simulator" / "process.py",
             ROOT / "dashboard" / "processes.py"]
    offenders = {str(path.relative_to(ROOT)): sorted(name for name in imported_names(path)
                                                     if name.split(".")[0] == "tests")
                 for path in files}
    assert {path: names for path, names in offenders.items() if names} == {}
    assert len(files) > 5  # the glob found the benchmarks


# Refuses any import of the `tests` package, then imports every benchmark module and the
# shared helpers in a fresh interpreter set up as `python -m bench` sets itself up.
IMPORT_ALL = """
import importlib, importlib.abc, sys

class NoTests(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "tests" or name.startswith("tests."):
            raise ImportError(f"bench imported {name}")
        return None

sys.meta_path.insert(0, NoTests())
from bench import harness
harness.configure_environment()
import django
django.setup()
for name in sys.argv[1:]:
    importlib.import_module(name)
print("imported", len(sys.argv) - 1)
"""


def test_every_bench_module_imports_with_tests_refused():
    env = {key: value for key, value in os.environ.items()
           if key not in ("DJANGO_SETTINGS_MODULE", "PYTHONPATH")}
    modules = [name for name in BENCH_MODULES if name != "bench.__main__"]
    result = subprocess.run([sys.executable, "-c", IMPORT_ALL, "bench.__main__", *modules,
                             *SHARED], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"imported {len(modules) + 1 + len(SHARED)}"
