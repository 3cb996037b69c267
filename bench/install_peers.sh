#!/usr/bin/env bash
# Create one virtual environment per peer tool for bench/peers.py (PyPI only, nothing else is fetched).
#
#   bash bench/install_peers.sh                 # all peers into bench/.peers/venv-<peer>
#   bash bench/install_peers.sh czkawka difpy   # only these
#   IMGREVIEW_PEERS_DIR=/somewhere PYTHON=python3.12 bash bench/install_peers.sh
#
# The peers pin conflicting numpy / Pillow / torch versions (fastdup wants numpy 1.x, imagededup
# pulls torch, imgdupes installs a top-level module called `common`), so each gets its own venv.
# Versions are the ones bench/peers.py was tested with; override one with e.g.
# SPEC_fastdup='fastdup>=2.54'. Disk: ~8.5 GB in total, 5.8 GB of it imagededup (torch + CUDA wheels).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dir="${IMGREVIEW_PEERS_DIR:-$here/.peers}"
python="${PYTHON:-python3.11}"
declare -A spec=(
  [imgdupes]="imgdupes==0.1.3"
  [imagededup]="imagededup==0.3.3.post2"
  [czkawka]="czkawka==0.1.2"
  [fastdup]="fastdup==2.54"
  [cleanvision]="cleanvision==0.3.7"
  [difpy]="difPy==4.2.1"
  [undouble]="undouble==1.4.11"
)
peers=("$@")
[ ${#peers[@]} -eq 0 ] && peers=(imgdupes imagededup czkawka fastdup cleanvision difpy undouble)
mkdir -p "$dir"
for peer in "${peers[@]}"; do
  [ -n "${spec[$peer]:-}" ] || { echo "unknown peer: $peer" >&2; exit 2; }
  override="SPEC_$peer"
  want="${!override:-${spec[$peer]}}"
  venv="$dir/venv-$peer"
  echo "== $peer: $want -> $venv"
  [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check "$want"
done
IMGREVIEW_PEERS_DIR="$dir" python3 "$here/peers.py" list
