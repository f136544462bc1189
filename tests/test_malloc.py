"""vugrad/_malloc.py: glibc's thresholds are raised on import, and the switch turns it off."""

import platform
import sys

import pytest

from vugrad import _malloc


def test_opt_out(monkeypatch):
    monkeypatch.setenv('VUGRAD_MALLOC_TUNING', '0')
    assert _malloc.tune() is False


@pytest.mark.skipif(not sys.platform.startswith('linux') or platform.libc_ver()[0] != 'glibc',
                    reason='mallopt is glibc-only')
def test_thresholds_are_set_on_glibc(monkeypatch):
    monkeypatch.delenv('VUGRAD_MALLOC_TUNING', raising=False)
    assert _malloc.tune() is True
