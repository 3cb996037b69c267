"""Every command's ``--help`` states the defaults the command really uses."""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from imgreview.cli.main import COMMANDS, build_parser, main


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def _options(p: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for a in p._actions if a.option_strings and a.help not in (None, argparse.SUPPRESS)
            and not isinstance(a, argparse._HelpAction)]


@pytest.mark.parametrize("name", COMMANDS)
def test_every_stated_default_is_the_real_default(name: str) -> None:
    """A number after "default" is the option's default; a choice marked "(default)" is the default choice."""
    for a in _options(_subparsers()[name]):
        text = a.help or ""
        m = re.search(r"default[: ]+(-?\d+(?:\.\d+)?)\b", text)
        if m and a.default is not None and not isinstance(a.default, str):
            assert float(m.group(1)) == float(a.default), (name, a.option_strings, text, a.default)
        for choice in a.choices or ():
            c = re.escape(str(choice))
            if re.search(rf"\b{c}\b[^,;()]*\(default\)|default:? {c}\b", text):
                assert choice == a.default, (name, a.option_strings, text, a.default)


@pytest.mark.parametrize("name", COMMANDS)
def test_options_with_a_default_say_what_it_is(name: str) -> None:
    """A value option whose default is not "nothing" says its default in its help."""
    for a in _options(_subparsers()[name]):
        if a.nargs == 0 or a.default in (None, [], False, argparse.SUPPRESS):
            continue
        assert "default" in (a.help or ""), (name, a.option_strings, a.help)


def _session_help(name: str) -> str:
    p = _subparsers()[name]
    return next(a.help or "" for a in p._actions if "--session" in a.option_strings)


@pytest.mark.parametrize("name", [c for c in COMMANDS if c not in ("demo", "restore")])
def test_session_help_matches_the_lookup_the_command_uses(name: str, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    """Commands that take ROOTs put the session inside the first ROOT; the others find the nearest one.

    Checked by behaviour: from a folder with no session above it, a nearest-session command says so,
    and its help says it looks for the nearest ``.imgreview/``.
    """
    text = _session_help(name)
    takes_roots = name in ("scan", "review", "triage", "check", "split")
    if takes_roots:
        assert "inside the first ROOT" in text, text
        assert "nearest" not in text
        return
    assert "nearest .imgreview/" in text, text
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("IMGREVIEW_SESSION", raising=False)
    argv = {"export": ["export"], "apply": ["apply", "--move-to", str(tmp_path / "q")],
            "resolve": ["resolve", "--exact"], "find": ["find", str(tmp_path / "x.jpg")]}[name]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert ".imgreview" in err and os.fspath(tmp_path) in err, err


def _modules_after(argv: list[str]) -> set[str]:
    """The modules a fresh interpreter has imported after parsing ``argv`` (``--help`` exits early)."""
    code = (f"import sys\nfrom imgreview.cli.main import main\ntry:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
            "print(' '.join(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    return set(out.stdout.split())


def test_start_up_imports_only_the_command_that_runs() -> None:
    # --version needs no decoder, no terminal library, no command module
    quick = _modules_after(["--version"])
    assert not {"numpy", "PIL", "rich", "textual", "cv2", "scipy"} & quick
    assert not any(m.startswith("imgreview.cli.commands.") for m in quick)
    # a command imports its own module, not the others' (scan does not load the review UI)
    scan = _modules_after(["scan", "--help"])
    assert "imgreview.cli.commands.scan" in scan
    assert not {"imgreview.cli.commands.review", "imgreview.cli.commands.triage", "textual", "scipy"} & scan


def test_help_and_unknown_commands_still_list_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert all(name in out for name in COMMANDS)
    with pytest.raises(SystemExit) as exc:
        main(["scna"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice" in err and "scan" in err
