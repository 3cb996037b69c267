"""Shared fixtures. Tests are grouped by layer: unit/, cli/, tui/, safety/; generators in helpers/."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from imgreview.cli.main import main

# Keep the tests independent of a session chosen by the environment.
os.environ.pop("IMGREVIEW_SESSION", None)


@dataclass
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    """Run ``imgreview ARGS`` in this process (fast; a traceback fails the test as an exception)."""

    def run(*args: str | os.PathLike[str]) -> CliResult:
        capsys.readouterr()
        code = main([os.fspath(a) for a in args])
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run
