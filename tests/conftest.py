"""Settings for the whole suite."""

import os
import sys

# -- so that any test can `from course import course_mlp_class` (tests/course.py), whichever
#    folder it is in and however pytest imports it
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
