"""Tests of the example project (example_project/): its views under the test settings, and its
``trigger_demo`` command in real processes.

The example project is not a package of the library: its directory is put on ``sys.path`` so
that its app (``dashboard``) and URLconf (``example_site.urls``) can be imported here.
"""

import sys
from pathlib import Path

EXAMPLE_PROJECT = Path(__file__).resolve().parents[2] / "example_project"
if str(EXAMPLE_PROJECT) not in sys.path:
    sys.path.insert(0, str(EXAMPLE_PROJECT))
