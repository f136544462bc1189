"""The README's Python examples run as written."""

import re
from pathlib import Path

import numpy as np

README = Path(__file__).resolve().parents[1] / 'README.md'


def test_readme_python_blocks_run():
    blocks = re.findall(r'```python\n(.*?)```', README.read_text(), flags=re.S)
    assert len(blocks) >= 2
    namespace = {}
    for block in blocks:
        exec(compile(block, str(README), 'exec'), namespace)
    a, b = namespace['a'], namespace['b']
    np.testing.assert_allclose(a.grad, 2 * (a.value + b.value))
    assert namespace['y'].value.shape == a.value.shape
