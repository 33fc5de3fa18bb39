"""``error_line`` on messages no fast test produced: written for surviving mutants."""

from __future__ import annotations

from alignsim.errors import error_line


def test_unknown_group_option_without_an_options_list_points_to_conf() -> None:
    exc = Exception("In 'config': Could not find 'scenario/nosuch'\n")
    assert error_line(exc) == "scenario: unknown option 'nosuch'; allowed: see conf/scenario"


def test_unknown_group_option_with_the_options_list_names_them() -> None:
    exc = Exception("In 'config': Could not find 'scenario/nosuch'\n\n"
                    "Available options in 'scenario':\n\tbaseline\n\thistory\n"
                    "Config search path:\n\tprovider=hydra")
    assert error_line(exc) == "scenario: unknown option 'nosuch'; allowed: baseline, history"


def test_could_not_override_without_a_key_line_drops_hydras_wording() -> None:
    # a Hydra override error with "Could not override" but no "Key '...'" line
    exc = Exception("Could not override 'months'.\n"
                    "Value 'abc' could not be converted to Integer\n"
                    "    full_key: months\n    object_type=Config")
    assert error_line(exc) == "'months'. Value 'abc' could not be converted to Integer"


def test_key_line_without_could_not_override_is_kept() -> None:
    exc = Exception("Key 'nosuch' is not in struct\n    full_key: nosuch\n    object_type=Config")
    assert error_line(exc) == "Key 'nosuch' is not in struct"


def test_a_hydra_error_wrapping_an_omegaconf_error_reports_the_cause() -> None:
    cause = Exception("Value 'abc' could not be converted to Integer\n"
                      "    full_key: months\n    object_type=Config")
    cause.full_key = "months"
    exc = Exception("Error merging overrides")
    exc.__cause__ = cause
    assert error_line(exc) == "months: Value 'abc' could not be converted to Integer"
