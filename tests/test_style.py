"""One style across the tree, held by ruff (the rules are in pyproject.toml: pycodestyle,
pyflakes, single quotes in the package)."""

import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _ruff():
    try:
        import ruff  # noqa: F401 - the wheel's binary is what we run
    except ImportError:
        pass
    else:
        return [sys.executable, '-m', 'ruff']
    path = shutil.which('ruff')
    if path is None:
        pytest.skip('ruff is not installed (pip install -e .[test] installs it)')
    return [path]


def test_ruff_finds_nothing():
    result = subprocess.run([*_ruff(), 'check', '--no-cache', '.'], cwd=ROOT,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_package_uses_relative_imports_of_itself():
    """Inside vugrad/, the package imports itself relatively (from ..errors import ...)."""
    offenders = []
    for folder, _, files in os.walk(os.path.join(ROOT, 'vugrad')):
        for name in files:
            if name.endswith('.py'):
                path = os.path.join(folder, name)
                with open(path, encoding='utf-8') as f:
                    for number, line in enumerate(f, 1):
                        if line.startswith(('from vugrad', 'import vugrad')):
                            offenders.append(f'{os.path.relpath(path, ROOT)}:{number}')
    assert offenders == []
