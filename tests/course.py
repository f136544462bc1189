"""
The course's code, for tests that use it: `course_mlp_class()` is the MLP class of
experiments/train_mlp.py (Linear, sigmoid, Linear, softmax), loaded from the file, so that the
tests check the network students run and adapt rather than a copy of it.
"""

import importlib.util
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / 'experiments' / 'train_mlp.py'

_module = None


def train_mlp_module():
    """experiments/train_mlp.py as a module (its `main()` does not run on import)."""
    global _module
    if _module is None:
        spec = importlib.util.spec_from_file_location('experiments_train_mlp', SCRIPT)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _module = module
    return _module


def course_mlp_class():
    """The MLP class of experiments/train_mlp.py: MLP(input_size, output_size, hidden_mult=4)."""
    return train_mlp_module().MLP
