"""The timer handler, run by murano_solution (served in-process) when a midnight passes."""

from pathlib import Path

SOLUTION = Path(__file__).resolve().parent.parent


def test_a_day_is_counted(murano_solution):
    app = murano_solution(SOLUTION)
    app.advance(86400)
    assert app.keystore["days"] == "1"
