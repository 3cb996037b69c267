# Shared by the screenshot scripts (sourced, not run): a real graphics terminal for imgreview,
# xterm in VT340 mode (Sixel) under Xvfb, captured with ImageMagick `import`.
#   apt-get install -y xvfb xterm imagemagick xdotool fonts-dejavu-core
# Before sourcing, set HERE (this folder). Settings from the environment: PYTHON (default the repo's
# .venv), DISPLAY_NUM, SETTLE (seconds to wait after keys before a screenshot; xterm draws large
# Sixel pictures slowly on a busy machine), CROP (WxH+X+Y of the screen kept), COLOURS (Sixel
# colour registers), SIXEL_SIZE (xterm's largest Sixel picture, WxH; empty: xterm's default).
REPO=$(dirname "$HERE")
PY=${PYTHON:-$REPO/.venv/bin/python}
WORK=$(mktemp -d /tmp/imgreview-xterm.XXXXXX)
DISPLAY_NUM=${DISPLAY_NUM:-:97}
SETTLE=${SETTLE:-4}
CROP=${CROP:-1204x786+0+0}
COLOURS=${COLOURS:-256}
SIXEL_SIZE=${SIXEL_SIZE:-}
XTERM=""

Xvfb "$DISPLAY_NUM" -screen 0 1500x940x24 -nolisten tcp &
XVFB=$!
trap 'kill $XVFB 2>/dev/null || true; rm -rf "$WORK"' EXIT
sleep 1
export DISPLAY="$DISPLAY_NUM"

shot() { import -window root "$1.tmp.png" && convert "$1.tmp.png" -crop "$CROP" +repage "$1" && rm "$1.tmp.png"; }
keys() { for key in "$@"; do xdotool key --clearmodifiers "$key"; sleep 0.6; done; sleep "$SETTLE"; }

terminal() {  # terminal COMMAND: run COMMAND (in the repo, truecolour) in a 150x46 xterm; waits for it to start
    xterm -ti vt340 -geometry 150x46+0+0 -fa 'DejaVu Sans Mono' -fs 10 -bg black -fg white \
        -xrm 'XTerm*decTerminalID: vt340' -xrm "XTerm*numColorRegisters: $COLOURS" \
        -xrm 'XTerm*sixelScrolling: true' ${SIXEL_SIZE:+-xrm "XTerm*regisGraphicsSize: $SIXEL_SIZE"} \
        -e sh -c "cd '$REPO' && COLORTERM=truecolor $1; sleep 2" &
    XTERM=$!
    sleep 8
}

close() { kill "$XTERM" 2>/dev/null || true; }
