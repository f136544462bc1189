"""
Settings for the trust suite (every op against PyTorch and finite differences).

Hypothesis profiles, chosen with the environment variable VUGRAD_TRUST_PROFILE:

- `trust` (the default, for CI): derandomized, so every run checks the same examples and a
  failure reproduces; sized so that the whole suite runs in well under two minutes on 2 cores.
- `trust-explore`: random examples, ten times as many; run it now and then to look further.
"""

import os
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

_COMMON = {'deadline': None, 'print_blob': True,
           'suppress_health_check': [HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.filter_too_much]}
settings.register_profile('trust', derandomize=True, database=None, **_COMMON)
settings.register_profile('trust-explore', derandomize=False, **_COMMON)
settings.load_profile(os.environ.get('VUGRAD_TRUST_PROFILE', 'trust'))


@pytest.fixture(autouse=True)
def _quiet_numpy():
    """NumPy's RuntimeWarnings for inf/NaN are expected where a test asks for them."""
    with np.errstate(all='ignore'), warnings.catch_warnings():
        warnings.simplefilter('ignore', RuntimeWarning)
        yield
