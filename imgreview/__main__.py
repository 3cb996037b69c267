"""``python -m imgreview``: Ctrl-C at any moment, even while the modules load, exits 130 without a traceback."""

import sys

try:
    from imgreview.cli import run
except KeyboardInterrupt:  # pragma: no cover - a Ctrl-C in the first milliseconds
    sys.stderr.write("interrupted\n")
    raise SystemExit(130) from None

run()
