#!/bin/sh
# Screenshot of `imgreview triage` in a real graphics terminal: xterm in VT340 mode (Sixel) under
# Xvfb, captured with ImageMagick `import`. The dataset is the demo with a dark and a greyscale cat.
#   apt-get install -y xvfb xterm imagemagick xdotool
#   sh screenshots/xterm_triage.sh [OUT_DIR]
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$HERE")
OUT=${1:-$HERE}
PY=${PYTHON:-$REPO/.venv/bin/python}
WORK=$(mktemp -d /tmp/imgreview-xterm.XXXXXX)
DISPLAY_NUM=${DISPLAY_NUM:-:96}

"$PY" -m imgreview demo "$WORK/demo" --no-review
"$PY" - "$WORK/demo" <<'PYEOF'
import sys
from pathlib import Path
sys.path.insert(0, "screenshots")
from triage_screenshots import plant
plant(Path(sys.argv[1]))
PYEOF
"$PY" -m imgreview scan "$WORK/demo" -q -j 1

Xvfb "$DISPLAY_NUM" -screen 0 1500x940x24 -nolisten tcp &
XVFB=$!
trap 'kill $XVFB 2>/dev/null || true; rm -rf "$WORK"' EXIT
sleep 1
export DISPLAY="$DISPLAY_NUM"
xterm -ti vt340 -geometry 150x46+0+0 -fa 'DejaVu Sans Mono' -fs 10 -bg black -fg white \
    -xrm 'XTerm*decTerminalID: vt340' -xrm 'XTerm*numColorRegisters: 1024' \
    -xrm 'XTerm*sixelScrolling: true' -xrm 'XTerm*regisGraphicsSize: 1500x940' \
    -e sh -c "cd '$HERE' && '$PY' -m imgreview triage --session '$WORK/demo/.imgreview' --label cat --graphics auto; sleep 2" &
XTERM=$!
sleep 10
xdotool search --sync --pid $XTERM >/dev/null 2>&1 || true
for key in x Right w Right x; do xdotool key --clearmodifiers "$key"; sleep 0.8; done
sleep 3
shot() { import -window root "$1.tmp.png" && convert "$1.tmp.png" -crop 1112x714+0+0 +repage "$1" && rm "$1.tmp.png"; }
shot "$OUT/xterm-triage.png"
xdotool key z
sleep 3
shot "$OUT/xterm-triage-zoom.png"
xdotool key Escape q
sleep 2
kill $XTERM 2>/dev/null || true
echo "$OUT/xterm-triage.png $OUT/xterm-triage-zoom.png"
