"""
Headless Chromium for the tests of pages people open in a browser: load a file, let its
scripts run, and return the DOM they left (`dump_dom`) or a screenshot (`screenshot`).

Debian's `chromium` package provides it (`apt-get install chromium`; `.ci/run` installs it).
Without it the browser tests skip, unless VUGRAD_REQUIRE_BROWSER=1 (set by .ci/run), where
they fail instead.
"""

import os
import shutil
import subprocess
import tempfile

import pytest

NAMES = ('chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable')
REQUIRE = os.environ.get('VUGRAD_REQUIRE_BROWSER') == '1'

# -- what a headless Chromium needs on a machine with no network and no screen: no sandbox
#    (root in a container), no GPU, and none of the background connections it would try
FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync',
         '--disable-extensions', '--hide-scrollbars', '--mute-audio']


def chromium():
    """The path of a Chromium binary; skips (or fails, with VUGRAD_REQUIRE_BROWSER=1)."""
    for name in NAMES:
        path = shutil.which(name)
        if path:
            return path
    message = 'no headless Chromium: apt-get install chromium'
    if REQUIRE:
        pytest.fail(f'VUGRAD_REQUIRE_BROWSER=1, but {message}', pytrace=False)
    pytest.skip(message)


def _run(args, url, timeout=90):
    with tempfile.TemporaryDirectory() as profile:
        result = subprocess.run([chromium(), *FLAGS, f'--user-data-dir={profile}', *args, url],
                                capture_output=True, timeout=timeout, check=False)
    assert result.returncode == 0, result.stderr.decode('utf-8', 'replace')[-2000:]
    return result


def url_of(path, fragment=''):
    return 'file://' + os.path.abspath(path) + fragment


def dump_dom(path, fragment=''):
    """The page's DOM after its scripts ran, as HTML text."""
    return _run(['--virtual-time-budget=2000', '--dump-dom'], url_of(path, fragment)) \
        .stdout.decode('utf-8')


def screenshot(path, fragment='', out=None, size=(1200, 900)):
    """A PNG screenshot of the page (its bytes), written to `out` if given."""
    with tempfile.TemporaryDirectory() as folder:
        png = os.path.join(folder, 'shot.png')
        _run([f'--window-size={size[0]},{size[1]}', '--virtual-time-budget=2000',
              f'--screenshot={png}'], url_of(path, fragment))
        with open(png, 'rb') as f:
            data = f.read()
    if out is not None:
        with open(out, 'wb') as f:
            f.write(data)
    return data
