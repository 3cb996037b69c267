#!/bin/sh
# Screenshots of the review in real kitty under Xvfb, captured with ImageMagick `import`: pictures
# drawn with Kitty's graphics protocol (kitty.png, kitty-zoom.png).
#   apt-get install -y xvfb kitty imagemagick xdotool fonts-dejavu-core
#   sh screenshots/kitty.sh [OUT_DIR]
# kitty needs OpenGL 3.3: under Xvfb Mesa's software renderer gives it (LIBGL_ALWAYS_SOFTWARE=1).
# SETTLE (seconds, default 3) is the wait after each key before a screenshot.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$HERE")
OUT=${1:-$HERE}
PY=${PYTHON:-$REPO/.venv/bin/python}
WORK=$(mktemp -d /tmp/imgreview-kitty.XXXXXX)
DISPLAY_NUM=${DISPLAY_NUM:-:96}
SETTLE=${SETTLE:-3}

"$PY" -m imgreview demo "$WORK/demo" --no-review
"$PY" -m imgreview scan "$WORK/demo" -q -j 1

Xvfb "$DISPLAY_NUM" -screen 0 1500x940x24 -nolisten tcp &
XVFB=$!
trap 'kill $KITTY 2>/dev/null || true; kill $XVFB 2>/dev/null || true; rm -rf "$WORK"' EXIT
KITTY=
sleep 1
export DISPLAY="$DISPLAY_NUM" LIBGL_ALWAYS_SOFTWARE=1

shot() { sleep "$SETTLE"; import -window root "$1.tmp.png" && convert "$1.tmp.png" -crop 1204x786+0+0 +repage "$1" && rm "$1.tmp.png"; }
keys() { for key in "$@"; do xdotool key --clearmodifiers "$key"; sleep 0.6; done; }

rm -f "$WORK/demo/.imgreview/journal.jsonl"
kitty --config NONE -o font_family='DejaVu Sans Mono' -o font_size=9.5 -o remember_window_size=no \
    -o initial_window_width=1204 -o initial_window_height=786 -o background=#000000 -o foreground=#ffffff \
    -o placement_strategy=top-left -o window_padding_width=0 \
    sh -c "cd '$REPO' && IMGREVIEW_TEST_READY='$WORK/ready.json' '$PY' -m imgreview review --session '$WORK/demo/.imgreview' --graphics auto; sleep 2" &
KITTY=$!
for _ in $(seq 120); do [ -s "$WORK/ready.json" ] && break; sleep 0.5; done  # the first group is on screen
sleep 2
xdotool search --class kitty windowmove 0 0 windowfocus 2>/dev/null || true
keys j j j j j j l d           # a group of three exact copies, the second marked delete
shot "$OUT/kitty.png"
keys z                         # zoom: the picture large with every fact
shot "$OUT/kitty-zoom.png"
keys Escape question           # the help screen: no picture may stay on top of it
shot "$OUT/kitty-help.png"
keys Escape q
sleep 1
echo "$OUT/kitty.png $OUT/kitty-zoom.png $OUT/kitty-help.png"
