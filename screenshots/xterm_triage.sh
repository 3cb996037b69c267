#!/bin/sh
# Screenshots of `imgreview triage` in a real terminal (see xterm_common.sh): the grid of one label
# with marks and quality badges (xterm-triage.png) and its zoom (xterm-triage-zoom.png), Sixel.
# The dataset is the demo with a dark and a greyscale cat planted (triage_screenshots.plant).
#   sh screenshots/xterm_triage.sh [OUT_DIR]
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:-$HERE}
DISPLAY_NUM=${DISPLAY_NUM:-:96}
CROP=${CROP:-1204x786+0+0}
COLOURS=${COLOURS:-1024}
SIXEL_SIZE=${SIXEL_SIZE:-1500x940}
. "$HERE/xterm_common.sh"

"$PY" -m imgreview demo "$WORK/demo" --no-review
"$PY" - "$WORK/demo" <<'PYEOF'
import sys
from pathlib import Path
sys.path.insert(0, "screenshots")
from triage_screenshots import plant
plant(Path(sys.argv[1]))
PYEOF
"$PY" -m imgreview scan "$WORK/demo" -q -j 1

terminal "'$PY' -m imgreview triage --session '$WORK/demo/.imgreview' --label cat --graphics auto"
sleep 2
keys x Right w Right x         # unwanted, wanted, unwanted: the focus moves on after each mark
shot "$OUT/xterm-triage.png"
keys z                         # zoom: the picture large with its facts, quality scores and metadata
shot "$OUT/xterm-triage-zoom.png"
keys Escape q
close
echo "$OUT/xterm-triage.png $OUT/xterm-triage-zoom.png"
