#!/bin/sh
# Screenshot of the review in a real graphics terminal: xterm in VT340 mode (Sixel) under Xvfb,
# captured with ImageMagick `import`.
#   apt-get install -y xvfb xterm imagemagick xdotool
#   sh screenshots/xterm_sixel.sh [OUT_DIR]
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$HERE")
OUT=${1:-$HERE}
PY=${PYTHON:-$REPO/.venv/bin/python}
WORK=$(mktemp -d /tmp/imgreview-xterm.XXXXXX)
DISPLAY_NUM=${DISPLAY_NUM:-:97}

"$PY" -m imgreview demo "$WORK/demo" --no-review
"$PY" -m imgreview scan "$WORK/demo" -q -j 1

Xvfb "$DISPLAY_NUM" -screen 0 1500x940x24 -nolisten tcp &
XVFB=$!
trap 'kill $XVFB 2>/dev/null || true; rm -rf "$WORK"' EXIT
sleep 1
export DISPLAY="$DISPLAY_NUM"
xterm -ti vt340 -geometry 150x46+0+0 -fa 'DejaVu Sans Mono' -fs 10 -bg black -fg white \
    -xrm 'XTerm*decTerminalID: vt340' -xrm 'XTerm*numColorRegisters: 1024' \
    -xrm 'XTerm*sixelScrolling: true' -xrm 'XTerm*regisGraphicsSize: 1500x940' \
    -e sh -c "cd '$REPO' && '$PY' -m imgreview review --session '$WORK/demo/.imgreview' --graphics auto; sleep 2" &
XTERM=$!
sleep 8
# a group with three exact copies, the second one marked delete
xdotool search --sync --pid $XTERM >/dev/null 2>&1 || true
for key in n n n n n n l d; do xdotool key --clearmodifiers "$key"; sleep 0.6; done
sleep 2
shot() { import -window root "$1.tmp.png" && convert "$1.tmp.png" -crop 1112x714+0+0 +repage "$1" && rm "$1.tmp.png"; }
shot "$OUT/xterm-sixel.png"
xdotool key z
sleep 3
shot "$OUT/xterm-sixel-zoom.png"
xdotool key Escape
sleep 1
xdotool key question   # the help screen: no picture may linger under it
sleep 2
shot "$OUT/xterm-sixel-help.png"
xdotool key Escape q
sleep 2
kill $XTERM 2>/dev/null || true
echo "$OUT/xterm-sixel.png $OUT/xterm-sixel-zoom.png $OUT/xterm-sixel-help.png"
