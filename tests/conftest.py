"""Settings for the whole suite, and the real-data fixture."""

import os
import sys
from pathlib import Path

import pytest

# -- so that any test can `from course import course_mlp_class` (tests/course.py), whichever
#    folder it is in and however pytest imports it
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

# The real data: $VUGRAD_DATA as the tests were started with (tests/data's `isolated` fixture
# unsets it for each test), else shared/data beside the repository.
REPO = Path(__file__).resolve().parents[1]
REAL_DATA = Path(os.environ.get("VUGRAD_DATA") or REPO / ".." / "shared" / "data")
REQUIRE_DATA = os.environ.get("VUGRAD_REQUIRE_DATA") == "1"


@pytest.fixture
def real_data():
    """
    The folder whose mnist/ holds the four real MNIST files. Skips the test where there is no
    such folder, unless VUGRAD_REQUIRE_DATA=1, where it fails instead (CI has the data).
    """
    from vugrad.data import MNIST
    files = [MNIST.train_images, MNIST.train_labels, MNIST.test_images, MNIST.test_labels]
    missing = [f.filename for f in files if not (REAL_DATA / "mnist" / f.filename).is_file()]
    if missing:
        where = (f"{REAL_DATA / 'mnist'} (from VUGRAD_DATA, else ../shared/data beside the "
                 f"repository) lacks {', '.join(missing)}")
        if REQUIRE_DATA:
            pytest.fail(f"VUGRAD_REQUIRE_DATA=1, but {where}. Set VUGRAD_DATA to a folder whose "
                        f"mnist/ subfolder holds the four MNIST .gz files, or unset "
                        f"VUGRAD_REQUIRE_DATA to skip these tests.", pytrace=False)
        pytest.skip(f"no real MNIST: {where}")
    return REAL_DATA
