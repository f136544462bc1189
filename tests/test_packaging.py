"""What the sdist and the wheel ship: the license text with the code (pyproject declares MIT)."""

import os
import shutil
import subprocess
import sys
import tarfile
import zipfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

BUILD = """
import sys
from setuptools import build_meta
out = sys.argv[1]
sdist, wheel = build_meta.build_sdist(out), build_meta.build_wheel(out)
print('built', sdist, wheel)
"""


@pytest.fixture(scope='module')
def archives(tmp_path_factory):
    """The sdist and the wheel, built from a copy of the tree (nothing is written in it)."""
    pytest.importorskip('setuptools')
    tree = tmp_path_factory.mktemp('tree')
    for name in ('pyproject.toml', 'README.md', 'LICENSE'):
        shutil.copy(os.path.join(ROOT, name), tree)
    shutil.copytree(os.path.join(ROOT, 'vugrad'), tree / 'vugrad',
                    ignore=shutil.ignore_patterns('__pycache__'))
    out = tree / 'dist'
    result = subprocess.run([sys.executable, '-c', BUILD, str(out)], cwd=tree,
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    sdist, wheel = result.stdout.split('built ')[-1].split()
    return out / sdist, out / wheel


def test_the_license_is_at_the_root_and_says_mit():
    with open(os.path.join(ROOT, 'LICENSE'), encoding='utf-8') as f:
        text = f.read()
    assert text.startswith('MIT License') and 'WITHOUT WARRANTY OF ANY KIND' in text


def test_the_sdist_and_the_wheel_ship_the_license(archives):
    sdist, wheel = archives
    with tarfile.open(sdist) as tar:
        assert any(name.endswith('/LICENSE') and name.count('/') == 1
                   for name in tar.getnames())
    with zipfile.ZipFile(wheel) as z:
        licenses = [n for n in z.namelist() if '.dist-info/' in n and n.endswith('LICENSE')]
        assert licenses, z.namelist()
        assert z.read(licenses[0]).decode('utf-8').startswith('MIT License')
        metadata = next(n for n in z.namelist() if n.endswith('.dist-info/METADATA'))
        assert 'License-Expression: MIT' in z.read(metadata).decode('utf-8')
