from __future__ import annotations

import os

# Keep the tests independent of a session chosen by the environment.
os.environ.pop("IMGREVIEW_SESSION", None)
