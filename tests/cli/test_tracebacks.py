"""Tests of ophyd_pvcam/cli/tracebacks.py (the shell's one-diagnosis display)."""
import pytest
from bluesky.utils import FailedStatus
from IPython.testing.globalipapp import get_ipython

from ophyd_pvcam.cli.tracebacks import install, without_repeated_cause


def _chained(message_of):
    try:
        try:
            raise ValueError("camera stalled after frame 3")
        except ValueError as cause:
            raise FailedStatus(message_of(cause)) from cause
    except FailedStatus as error:
        return error


def test_a_message_repeating_its_cause_points_to_it_instead():
    error = _chained(lambda cause: f"Status(done=True, error=ValueError: {cause})")
    assert without_repeated_cause(error) == (
        "Status(done=True, error=ValueError (its diagnosis is shown above))")


def test_a_message_holding_only_the_causes_text_points_to_it():
    error = _chained(lambda cause: f"failed: {cause}")
    assert without_repeated_cause(error) == "failed: (ValueError (its diagnosis is shown above))"


def test_a_message_not_repeating_its_cause_or_without_cause_is_left_alone():
    assert without_repeated_cause(_chained(lambda cause: "timed out")) is None
    assert without_repeated_cause(RuntimeError("alone")) is None


def test_install_without_ipython_says_so():
    assert install(None) is False  # no shell running in this test process


@pytest.fixture
def shell():
    ip = get_ipython()
    yield ip
    ip.set_custom_exc((), None)


def test_the_installed_handler_shows_the_diagnosis_once_and_leaves_the_exception_as_it_was(shell, capsys):
    assert install(shell) is True
    shell.user_ns["diagnosis"] = "camera stalled after frame 3"  # not in the shown source
    shell.run_cell("from bluesky.utils import FailedStatus\n"
                   "try:\n"
                   "    raise ValueError(diagnosis)\n"
                   "except ValueError as cause:\n"
                   "    error = FailedStatus(f'Status(error=ValueError: {cause})')\n"
                   "    raise error from cause\n")
    out = capsys.readouterr().out
    assert out.count("camera stalled after frame 3") == 1, out
    assert "Status(error=ValueError (its diagnosis is shown above))" in out
    error = shell.user_ns["error"]
    assert error.args == ("Status(error=ValueError: camera stalled after frame 3)",)
    assert isinstance(error.__cause__, ValueError)
