"""Tests of ophyd_pvcam/cli/__init__.py: parsing, --help everywhere, one-line errors, --debug."""
import pytest

from ophyd_pvcam.cli import EXIT_ERROR, EXIT_USAGE, build_parser, main

SUBCOMMANDS = [["list"], ["info"], ["snap"], ["stream"], ["demo"], ["ioc"], ["shell"], ["sim"], ["sim", "env"]]


@pytest.mark.parametrize("words", SUBCOMMANDS, ids=" ".join)
def test_every_subcommand_has_help(words, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([*words, "--help"])
    assert exit_info.value.code == 0
    assert "usage: ophyd-pvcam" in capsys.readouterr().out


def test_top_level_help_lists_every_subcommand(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for name in ("list", "info", "snap", "stream", "demo", "ioc", "shell", "sim"):
        assert name in out


def test_missing_sdk_is_one_readable_line_naming_what_was_tried(monkeypatch, capsys):
    monkeypatch.setenv("PVCAM_LIBRARY", "/nonexistent/libpvcam.so.2")
    assert main(["list"]) == EXIT_ERROR
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert err.startswith("ophyd-pvcam list: error:")
    assert "/nonexistent/libpvcam.so.2" in err


def test_debug_shows_the_traceback_instead(monkeypatch):
    monkeypatch.setenv("PVCAM_LIBRARY", "/nonexistent/libpvcam.so.2")
    from ophyd_pvcam.sdk.errors import LibraryNotFoundError

    with pytest.raises(LibraryNotFoundError):
        main(["list", "--debug"])


def test_unknown_simulated_model_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["list", "--sim", "nikon-d90"])
    assert exit_info.value.code == EXIT_USAGE
    assert "invalid choice" in capsys.readouterr().err


def test_parser_requires_a_subcommand():
    with pytest.raises(SystemExit):
        build_parser().parse_args([])


def test_options_work_before_and_after_the_subcommand(monkeypatch, capsys):
    assert main(["--sim", "kinetix", "list"]) == 0
    assert "Kinetix" in capsys.readouterr().out
    assert main(["list", "--sim", "prime-95b"]) == 0
    assert "1200 x 1200" in capsys.readouterr().out


def test_missing_sdk_error_suggests_the_sim_option(monkeypatch, capsys):
    monkeypatch.setenv("PVCAM_LIBRARY", "/nonexistent/libpvcam.so.2")
    assert main(["info"]) == EXIT_ERROR
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "PVCAM_LIBRARY=sim" in err and "ophyd-pvcam info --sim MODEL" in err and "prime-bsi" in err
