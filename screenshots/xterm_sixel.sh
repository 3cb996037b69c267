#!/bin/sh
# Screenshots of the review in a real terminal: xterm in VT340 mode under Xvfb, captured with
# ImageMagick `import`. Sixel pictures (xterm-sixel*.png) and the same screen with half-cell
# pictures (xterm-halfcell.png).
#   apt-get install -y xvfb xterm imagemagick xdotool fonts-dejavu-core
#   sh screenshots/xterm_sixel.sh [OUT_DIR]
# xterm draws large Sixel pictures slowly on a busy machine: SETTLE (seconds, default 4) is the
# wait after each key before a screenshot.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$HERE")
OUT=${1:-$HERE}
PY=${PYTHON:-$REPO/.venv/bin/python}
WORK=$(mktemp -d /tmp/imgreview-xterm.XXXXXX)
DISPLAY_NUM=${DISPLAY_NUM:-:97}
SETTLE=${SETTLE:-4}

"$PY" -m imgreview demo "$WORK/demo" --no-review
"$PY" -m imgreview scan "$WORK/demo" -q -j 1

Xvfb "$DISPLAY_NUM" -screen 0 1500x940x24 -nolisten tcp &
XVFB=$!
trap 'kill $XVFB 2>/dev/null || true; rm -rf "$WORK"' EXIT
sleep 1
export DISPLAY="$DISPLAY_NUM"

shot() { import -window root "$1.tmp.png" && convert "$1.tmp.png" -crop 1204x786+0+0 +repage "$1" && rm "$1.tmp.png"; }
keys() { for key in "$@"; do xdotool key --clearmodifiers "$key"; sleep 0.6; done; sleep "$SETTLE"; }

run() {  # run GRAPHICS: xterm 150x46 with the review of the demo (a fresh journal each time)
    rm -f "$WORK/demo/.imgreview/journal.jsonl"
    xterm -ti vt340 -geometry 150x46+0+0 -fa 'DejaVu Sans Mono' -fs 10 -bg black -fg white \
        -xrm 'XTerm*decTerminalID: vt340' -xrm 'XTerm*numColorRegisters: 256' \
        -xrm 'XTerm*sixelScrolling: true' \
        -e sh -c "cd '$REPO' && COLORTERM=truecolor IMGREVIEW_TEST_READY='$WORK/ready-$1.json' '$PY' -m imgreview review --session '$WORK/demo/.imgreview' --graphics $1; sleep 2" &
    XTERM=$!
    # keys typed before the first group is on screen are lost: wait for it (the review's ready file)
    for _ in $(seq 120); do [ -s "$WORK/ready-$1.json" ] && break; sleep 0.5; done
    sleep 2
}

run auto
keys j j j j j j l d           # a group of three exact copies, the second marked delete
shot "$OUT/xterm-sixel.png"
keys z                         # zoom: the picture large with every fact
shot "$OUT/xterm-sixel-zoom.png"
keys Escape c                  # the difference view
shot "$OUT/xterm-sixel-diff.png"
keys Escape question           # the help screen: no picture may linger under it
shot "$OUT/xterm-sixel-help.png"
keys Escape q
kill $XTERM 2>/dev/null || true

run halfcell
keys j j j j j j l d
shot "$OUT/xterm-halfcell.png"
keys q
kill $XTERM 2>/dev/null || true
echo "$OUT/xterm-sixel.png $OUT/xterm-sixel-zoom.png $OUT/xterm-sixel-diff.png $OUT/xterm-sixel-help.png $OUT/xterm-halfcell.png"
