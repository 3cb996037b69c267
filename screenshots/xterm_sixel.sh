#!/bin/sh
# Screenshots of the review in a real terminal (see xterm_common.sh): Sixel pictures
# (xterm-sixel*.png) and the same screen with half-cell pictures (xterm-halfcell.png).
#   sh screenshots/xterm_sixel.sh [OUT_DIR]
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:-$HERE}
. "$HERE/xterm_common.sh"

"$PY" -m imgreview demo "$WORK/demo" --no-review
"$PY" -m imgreview scan "$WORK/demo" -q -j 1

review() {  # review GRAPHICS: the review of the demo, a fresh journal each time
    rm -f "$WORK/demo/.imgreview/journal.jsonl"
    terminal "IMGREVIEW_TEST_READY='$WORK/ready-$1.json' '$PY' -m imgreview review --session '$WORK/demo/.imgreview' --graphics $1"
    # keys typed before the first group is on screen are lost: wait for it (the review's ready file)
    for _ in $(seq 120); do [ -s "$WORK/ready-$1.json" ] && break; sleep 0.5; done
    sleep 2
}

review auto
keys j j j j j j l d           # a group of three exact copies, the second marked delete
shot "$OUT/xterm-sixel.png"
keys z                         # zoom: the picture large with every fact
shot "$OUT/xterm-sixel-zoom.png"
keys Escape c                  # the difference view
shot "$OUT/xterm-sixel-diff.png"
keys Escape question           # the help screen: no picture may linger under it
shot "$OUT/xterm-sixel-help.png"
keys Escape q
close

review halfcell
keys j j j j j j l d
shot "$OUT/xterm-halfcell.png"
keys q
close
echo "$OUT/xterm-sixel.png $OUT/xterm-sixel-zoom.png $OUT/xterm-sixel-diff.png $OUT/xterm-sixel-help.png $OUT/xterm-halfcell.png"
