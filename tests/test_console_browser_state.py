"""The console's State view in a real headless Chromium: reset and snapshots, each asked for first."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from test_console_browser import console_served, open_view, type_into, wait_for

from murano_sim.testing import browser

pytestmark = pytest.mark.skipif(browser.missing() is not None, reason=f"no headless browser: {browser.missing()}")

SOLUTION = Path(__file__).resolve().parent / "solutions" / "reset-state"


@pytest.fixture(scope="module")
def page() -> Iterator[object]:
    with browser.chromium() as chromium:
        yield chromium


@pytest.fixture
def served() -> Iterator[str]:
    with console_served(SOLUTION, SOLUTION / "config.yaml") as url:
        yield url


def written(url: str) -> str:
    return str(requests.get(url + "/written", timeout=10).json()["written"])


def answer_confirm(page, accept: bool) -> str:
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    dialog = WebDriverWait(page, 60).until(ec.alert_is_present())
    question = dialog.text
    dialog.accept() if accept else dialog.dismiss()
    return str(question)


def click(page, css: str) -> None:
    """Click what `css` finds, finding it again if the list was drawn anew in between."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    def clicked(driver) -> bool:
        try:
            driver.find_element("css selector", css).click()
        except StaleElementReferenceException:
            return False
        return True

    WebDriverWait(page, 60).until(clicked)


def test_the_reset_button_asks_first_then_resets(page, served):
    requests.post(served + "/write", json={"name": "dev-1"}, timeout=10)
    open_view(page, served, "state")
    page.find_element("css selector", "#state-reset").click()
    assert "seeded state" in answer_confirm(page, accept=False)
    assert written(served) == "dev-1"  # declined: nothing changed
    page.find_element("css selector", "#state-reset").click()
    answer_confirm(page, accept=True)
    wait_for(page, "#state-result", "init.lua ran")
    assert written(served) == "nothing"
    devices = requests.get(served + "/_murano-sim/api/services/device2", timeout=10).json()["devices"]
    assert [d["identity"] for d in devices] == ["from-init"]


def test_a_snapshot_saved_and_loaded_from_the_page(page, served):
    requests.post(served + "/write", json={"name": "kept"}, timeout=10)
    open_view(page, served, "state")
    type_into(page, "#snapshot-name", "before-demo")
    page.find_element("css selector", "#snapshot-save").click()
    answer_confirm(page, accept=True)
    wait_for(page, "#snapshots", "before-demo")
    requests.post(served + "/write", json={"name": "later"}, timeout=10)
    click(page, "[data-load='before-demo']")
    assert "replaced" in answer_confirm(page, accept=True)
    wait_for(page, "#state-result", "Loaded before-demo")
    assert written(served) == "kept"
