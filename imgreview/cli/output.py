"""Terminal output for the commands: a progress bar for scans and the summary table (rich)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from imgreview.model import ScanResult
from imgreview.scan.pipeline import Progress as ScanProgress
from imgreview.text import human_bytes

STAGE_LABELS = {"walk": "Finding images", "hash": "Hashing", "index": "Searching pairs",
                "verify": "Checking local features", "group": "Grouping"}


class _RateColumn(TextColumn):
    def __init__(self) -> None:
        super().__init__("")

    def render(self, task):  # type: ignore[no-untyped-def]
        speed = task.finished_speed or task.speed
        from rich.text import Text

        if not speed or task.description != STAGE_LABELS["hash"]:
            return Text("")
        return Text(f"{speed:,.0f} img/s", style="progress.data.speed")


@contextmanager
def scan_progress(quiet: bool = False) -> Iterator[ScanProgress]:
    """A ``progress(stage, done, total)`` callback drawing a rich bar on a terminal, else nothing."""
    console = Console(stderr=True)
    if quiet or not console.is_terminal:
        yield lambda stage, done, total: None
        return
    bar = Progress(
        TextColumn("[bold]{task.description:<16}"),
        BarColumn(),
        MofNCompleteColumn(),
        _RateColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )
    tasks: dict[str, TaskID] = {}

    def update(stage: str, done: int, total: int) -> None:
        label = STAGE_LABELS.get(stage, stage)
        if stage not in tasks:
            tasks[stage] = bar.add_task(label, total=total or None)
        bar.update(tasks[stage], completed=done, total=total or None)

    with bar:
        yield update


def print_summary(result: ScanResult, console: Console | None = None, max_errors: int = 20) -> None:
    console = console or Console(stderr=not sys.stdout.isatty())
    s = result.stats
    table = Table(title="imgreview scan", show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    rows = [
        ("Files", f"{s.get('files', 0):,}"),
        ("Images", f"{s.get('images', 0):,}  ({s.get('hashed', 0):,} hashed, {s.get('cached', 0):,} from cache)"),
        ("Exact groups", f"{s.get('exact_groups', 0):,}"),
        ("Near groups", f"{s.get('near_groups', 0):,}  (threshold {s.get('threshold')} bits, {s.get('engine')})"),
        ("Could be removed", f"{s.get('removable_files', 0):,} files"),
        ("Reclaimable", human_bytes(s.get("reclaimable_bytes", 0))),
        ("Errors", f"{s.get('errors', 0):,}"),
    ]
    dataset = s.get("dataset") or {}
    labels = dataset.get("labels") or {}
    if any(labels):
        rows.append(("Labels", f"{sum(1 for label in labels if label):,}"))
    if dataset.get("label_conflicts") or dataset.get("split_leaks"):
        rows.append(("Label conflicts", f"[bold red]{dataset.get('label_conflicts', 0):,}[/] groups"))
        rows.append(("Split leaks", f"[bold red]{dataset.get('split_leaks', 0):,}[/] groups"))
    if s.get("aliases"):
        rows.append(("Aliases", f"{s['aliases']:,} extra paths to the same files (never offered for deletion)"))
    if s.get("skipped_links"):
        rows.append(("Links skipped", f"{s['skipped_links']:,} (use --follow-links)"))
    for k, v in rows:
        table.add_row(k, v)
    console.print(table)
    if result.errors:
        console.print(f"[yellow]{len(result.errors)} file(s) skipped:[/]")
        for e in result.errors[:max_errors]:
            console.print(f"  {e.path!r}: {e.error}", markup=False, highlight=False)
        if len(result.errors) > max_errors:
            console.print(f"  … and {len(result.errors) - max_errors} more (see --json)")
