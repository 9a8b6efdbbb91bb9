"""The console's executions list in a real browser: search, the kind and severity filters, the clear button."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from test_console_browser import WAIT, console_served, open_view, type_into, wait_for

from murano_sim.testing import browser

pytestmark = pytest.mark.skipif(browser.missing() is not None, reason=f"no headless browser: {browser.missing()}")

SOLUTION = Path(__file__).resolve().parent / "solutions" / "console"


@pytest.fixture(scope="module")
def driver() -> Iterator[object]:
    with browser.chromium() as chromium:
        yield chromium


@pytest.fixture
def served() -> Iterator[str]:
    with console_served(SOLUTION) as url:
        yield url


def listed(driver) -> list[str]:
    """The "what" of every execution the list shows, newest first."""
    return [node.text for node in driver.find_elements("css selector", "#executions li[data-id] .what")]


def shows(driver, expected: list[str]) -> None:
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    try:  # the list is redrawn as executions arrive: an item read mid-redraw is stale, read again
        WebDriverWait(driver, WAIT, ignored_exceptions=(StaleElementReferenceException,)).until(
            lambda d: listed(d) == expected)
    except Exception:  # noqa: BLE001 - selenium's timeout: say what the list showed instead
        raise AssertionError(f"the list shows {listed(driver)}, not {expected}") from None


def choose(driver, css: str, value: str) -> None:
    from selenium.webdriver.support.ui import Select

    Select(driver.find_element("css selector", css)).select_by_value(value)


def test_search_and_filters_narrow_the_list_and_new_executions_follow_them(driver, served):
    open_view(driver, served, "requests")
    requests.get(served + "/greeting", timeout=10)
    requests.post(served + "/sms", data={"From": "+15551230001", "Body": "hi"}, timeout=10)
    requests.get(served + "/boom", timeout=10)
    shows(driver, ["GET /boom", "POST /sms", "GET /greeting"])

    choose(driver, "#exec-level", "error")
    shows(driver, ["GET /boom"])
    choose(driver, "#exec-level", "warn")  # warnings and errors
    shows(driver, ["GET /boom", "POST /sms"])
    choose(driver, "#exec-level", "")

    type_into(driver, "#exec-search", "sms from +1555")  # a log line's text, which the list does not show
    shows(driver, ["POST /sms"])
    requests.get(served + "/greeting", timeout=10)  # does not match: stays out
    requests.post(served + "/sms", data={"From": "+15551230002", "Body": "again"}, timeout=10)
    shows(driver, ["POST /sms", "POST /sms"])
    type_into(driver, "#exec-search", "")

    choose(driver, "#exec-kind", "timer")
    wait_for(driver, "#executions", "No execution matches.")
    choose(driver, "#exec-kind", "endpoint")
    shows(driver, ["POST /sms", "GET /greeting", "GET /boom", "POST /sms", "GET /greeting"])


def test_clear_empties_the_list_for_good_and_new_executions_still_appear(driver, served):
    requests.get(served + "/greeting", timeout=10)
    open_view(driver, served, "requests")
    shows(driver, ["GET /greeting"])
    driver.find_element("css selector", "#exec-clear").click()
    wait_for(driver, "#executions", "Cleared.")
    driver.refresh()  # a reload does not bring them back
    wait_for(driver, "#live.on")
    wait_for(driver, "#executions", "Nothing ran yet")
    requests.get(served + "/fired", timeout=10)
    shows(driver, ["GET /fired"])
    # the log keeps what the console cleared
    kept = requests.get(served + "/_murano-sim/api/logs", params={"endpoint": "/greeting"}, timeout=10).json()
    assert [r["event"] for r in kept["records"] if r["type"] == "script"] == ["GET /greeting"]
