"""The quarantine: apply moves the files marked delete aside, restore moves them back.

Nothing here deletes a user's file. Modules: :mod:`.manifest` (the append-only record of every
move), :mod:`.plan` (what would move and every skip rule), :mod:`.moves` (one no-overwrite move),
:mod:`.apply` and :mod:`.restore`. The rules a user relies on are in ``docs/safety.md``.
"""

from imgreview.quarantine.apply import apply
from imgreview.quarantine.manifest import MANIFEST_NAME, Manifest, QuarantineError
from imgreview.quarantine.plan import ApplyReport, Move, Skip, plan_apply
from imgreview.quarantine.restore import RestoreReport, restore

__all__ = ["MANIFEST_NAME", "ApplyReport", "Manifest", "Move", "QuarantineError", "RestoreReport", "Skip",
           "apply", "plan_apply", "restore"]
