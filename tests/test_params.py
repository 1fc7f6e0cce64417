"""The one parameter check every estimator and runner uses (slmprofile.params)."""

from __future__ import annotations

import numpy as np
import pytest

from slmprofile.params import Interval, Options, Rule, check_params, describe


class _Owner:
    _parameter_constraints = {"C": [Options("auto"), Interval(float, 0, None, closed="neither")],
                              "cv": [Interval(int, 2, None)], "q": [None, Interval(float, 0.5, 1)],
                              "flag": [bool], "name": [Rule(lambda v: isinstance(v, str) and bool(v), "a non-empty str")]}

    def __init__(self, C="auto", cv=5, q=None, flag=True, name="x"):  # noqa: ANN001, N803 - settings as given
        self.C, self.cv, self.q, self.flag, self.name = C, cv, q, flag, name


@pytest.mark.parametrize("settings", [{}, {"C": 0.1}, {"C": 3}, {"cv": np.int64(3)}, {"q": 0.5}, {"q": 1.0},
                                      {"C": np.float32(2.0)}, {"flag": False}])
def test_valid_settings_pass(settings: dict) -> None:
    check_params(_Owner(**settings))


@pytest.mark.parametrize(("settings", "message"), [
    ({"C": 0}, "The 'C' parameter of _Owner must be 'auto' or a float > 0; got 0 instead."),
    ({"C": "big"}, "'C' parameter of _Owner must be 'auto' or a float > 0; got 'big'"),
    ({"C": True}, "got True"),                              # a bool is not a number here
    ({"cv": 1}, "The 'cv' parameter of _Owner must be an int >= 2; got 1 instead."),
    ({"cv": 2.0}, "must be an int >= 2; got 2.0"),         # a float is not an int
    ({"q": 0.4}, "must be None or a float in [0.5, 1]; got 0.4"),
    ({"flag": 1}, "must be a bool; got 1"),
    ({"name": ""}, "must be a non-empty str; got ''"),
])
def test_invalid_settings_name_parameter_class_rule_and_value(settings: dict, message: str) -> None:
    with pytest.raises(ValueError) as info:
        check_params(_Owner(**settings))
    assert message in str(info.value)


def test_interval_sides_and_options_keep_bools_apart() -> None:
    assert Interval(float, 0, 0.5, closed="left")(0) and not Interval(float, 0, 0.5, closed="left")(0.5)
    assert Interval(float, 0, 1, closed="right")(1) and not Interval(float, 0, 1, closed="right")(0)
    assert Options(True, False, "auto")(True) and not Options(True, False, "auto")(1)
    assert not Options(1, 2)(True)
    assert describe([Interval(float, 0, 0.5, closed="left")]) == "a float in [0, 0.5)"
    assert describe([Options("a", "b", "c")]) == "'a', 'b' or 'c'"


def test_estimators_of_the_package_share_the_sentence() -> None:
    from slmprofile.cluster.model import TaskTypeClusterer
    from slmprofile.router.novelty import NoveltyGuard
    from slmprofile.router.train import SlmRouter

    for owner, param, bad in ((SlmRouter(target="cost"), "target", "'cost'"),
                              (TaskTypeClusterer(noise="drop"), "noise", "'drop'"),
                              (NoveltyGuard(quantile=0.2), "quantile", "0.2")):
        with pytest.raises(ValueError, match=rf"The '{param}' parameter of {type(owner).__name__} must be .*; "
                                             rf"got {bad} instead\."):
            check_params(owner)
