"""vugrad.tune_malloc(): an explicit opt-in; importing vugrad changes no malloc setting."""

import subprocess
import sys
import textwrap

from vugrad import malloc


def test_opt_out(monkeypatch):
    monkeypatch.setenv('VUGRAD_MALLOC_TUNING', '0')
    monkeypatch.setattr(malloc, '_mallopt', lambda: pytest_fail('mallopt called'))
    assert malloc.tune_malloc() is False


def pytest_fail(message):
    raise AssertionError(message)


def test_thresholds_passed_to_mallopt(monkeypatch):
    calls = []
    monkeypatch.delenv('VUGRAD_MALLOC_TUNING', raising=False)
    monkeypatch.setattr(malloc.sys, 'platform', 'linux')
    monkeypatch.setattr(malloc, '_mallopt', lambda: lambda param, value: calls.append(
        (param, value)) or 1)
    assert malloc.tune_malloc() is True
    assert calls == [(-3, 32 * 1024 * 1024), (-1, 512 * 1024 * 1024)]   # M_MMAP_, M_TRIM_THRESHOLD


def test_import_changes_no_process_setting():
    # -- a stand-in for ctypes.CDLL records any libc function looked up while vugrad imports
    code = textwrap.dedent('''
        import ctypes, gc
        looked_up = []
        class Spy:
            def __init__(self, *a, **k): pass
            def __getattr__(self, name):
                looked_up.append(name)
                raise AttributeError(name)
        ctypes.CDLL = Spy
        thresholds = gc.get_threshold()
        import vugrad
        assert looked_up == [], looked_up
        assert gc.isenabled() and gc.get_threshold() == thresholds
        print('ok')
    ''')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == 'ok', out.stderr
