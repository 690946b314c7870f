"""The host memory budget shared by every frame queue."""
import pytest

from ophyd_pvcam.engine.budget import (DEFAULT_FRACTION, ENV_VAR, MIN_BUDGET, host_memory_budget,
                                       parse_memory_size, physical_memory)
from ophyd_pvcam.engine.errors import ValidationError

GIB = 1024 ** 3


@pytest.mark.parametrize("text, expected", [("6G", 6 * GIB), ("512M", 512 * 1024 ** 2),
                                            ("1.5GiB", int(1.5 * GIB)), ("100663296", 100663296),
                                            ("25%", 4 * GIB), ("100%", 16 * GIB)])
def test_sizes_and_percentages_parse_to_bytes(text, expected):
    assert parse_memory_size(text, total=16 * GIB) == expected


@pytest.mark.parametrize("text, message", [("lots", "not a size"), ("0%", "percentage"),
                                           ("150%", "percentage"), ("1M", "at least"),
                                           ("64G", "more than")])
def test_bad_budgets_are_refused_with_the_variable_named(text, message):
    with pytest.raises(ValidationError, match=message) as info:
        parse_memory_size(text, total=16 * GIB)
    assert ENV_VAR in str(info.value)


def test_default_is_a_fraction_of_physical_memory(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert host_memory_budget() == max(MIN_BUDGET, int(physical_memory() * DEFAULT_FRACTION))


def test_environment_variable_sets_the_budget(monkeypatch):
    monkeypatch.setenv(ENV_VAR, "256M")
    assert host_memory_budget() == 256 * 1024 ** 2
