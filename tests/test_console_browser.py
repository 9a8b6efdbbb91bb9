"""The console in a real browser: headless Chromium (Debian's packages) driven by Selenium.

Skipped with the reason when Chromium, chromedriver or selenium is missing here; CI installs them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
import requests

from murano_sim import Runtime
from murano_sim.console import Console
from murano_sim.services.device2.mqtt_api import serve_mqtt
from murano_sim.solution import SolutionLog, serve_solution
from murano_sim.testing import browser

pytestmark = pytest.mark.skipif(browser.missing() is not None, reason=f"no headless browser: {browser.missing()}")

SOLUTION = Path(__file__).resolve().parent / "solutions" / "console"
WAIT = 60  # seconds: a hang guard only; every wait ends as soon as the page shows the thing


@pytest.fixture(scope="module")
def driver() -> Iterator[object]:
    with browser.chromium() as chromium:
        yield chromium


@contextmanager
def console_served(solution: Path, config: Any = None) -> Iterator[str]:
    """`solution` served with its console on loopback, its log discarded; yields the URL."""
    with Runtime({} if config is None else config) as runtime, open(os.devnull, "w") as quiet:
        server = serve_solution(solution, runtime, log=SolutionLog(quiet), surfaces=(Console,))
        try:
            yield server.url
        finally:
            server.shutdown()


@pytest.fixture
def served() -> Iterator[str]:
    with console_served(SOLUTION) as url:
        yield url


def wait_for(driver, css: str, text: str | None = None):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    locator = (By.CSS_SELECTOR, css)
    if text is None:
        return WebDriverWait(driver, WAIT).until(ec.visibility_of_element_located(locator))
    WebDriverWait(driver, WAIT).until(ec.text_to_be_present_in_element(locator, text))
    return driver.find_element(*locator)


def open_view(driver, url: str, view: str) -> None:
    driver.get(f"{url}/_murano-sim/#{view}")
    wait_for(driver, "#live.on")  # the live feed is connected: what runs from now on shows up


def type_into(driver, css: str, text: str) -> None:
    from selenium.webdriver.common.by import By

    field = driver.find_element(By.CSS_SELECTOR, css)
    field.clear()
    field.send_keys(text)


def test_a_request_made_with_requests_appears_at_once_and_opens_with_its_logs_and_calls(driver, served):
    open_view(driver, served, "requests")
    requests.post(served + "/remind", json={"note": "tea"}, timeout=10)
    item = wait_for(driver, "#executions a", "POST /remind")
    item.click()
    wait_for(driver, "#execution-logs", "arming a reminder")
    wait_for(driver, "#execution", "timer.sendAfter")
    wait_for(driver, "#execution-response", "reminder")


def test_replay_from_the_page_runs_the_request_again(driver, served):
    requests.get(served + "/boom", timeout=10)
    open_view(driver, served, "requests/1")
    wait_for(driver, "#execution-error", "attempt to index")
    driver.find_element("css selector", "#replay").click()
    wait_for(driver, "#executions li[data-id='2'] a", "GET /boom")


def test_a_text_from_the_phone_view_gets_the_solutions_reply(driver, served):
    open_view(driver, served, "phone")
    wait_for(driver, "#sms-path option[value='/sms']")
    type_into(driver, "#sms-body", "hello there")
    driver.find_element("css selector", "#sms-send").click()
    wait_for(driver, "#thread li.me", "hello there")
    wait_for(driver, "#thread li.them", "You said: hello there")


def test_a_keystore_key_edited_in_the_page_is_what_the_endpoint_returns(driver, served):
    open_view(driver, served, "data/keystore")
    type_into(driver, "#ks-key", "greeting")
    type_into(driver, "#ks-value", "hi from the browser")
    driver.find_element("css selector", "#ks-save").click()
    wait_for(driver, "#keystore [data-key='greeting']", "hi from the browser")
    assert requests.get(served + "/greeting", timeout=10).json() == {"greeting": "hi from the browser"}


def test_advancing_the_clock_fires_the_timer(driver, served):
    requests.post(served + "/remind", json={"note": "walk"}, timeout=10)
    open_view(driver, served, "clock")
    type_into(driver, "#clock-seconds", "61")
    driver.find_element("css selector", "#clock-advance").click()
    wait_for(driver, "#clock-ran", "timer timer")
    assert requests.get(served + "/fired", timeout=10).json() == {"fired": "walk"}


def test_the_tsdb_chart_draws_the_points(driver, served):
    for value in (20, 22, 21):
        requests.post(served + "/reading", json={"value": value}, timeout=10)
    open_view(driver, served, "data/tsdb")
    from selenium.webdriver.support.ui import Select

    Select(wait_for(driver, "#tsdb-metric option[value='temperature']").find_element("xpath", "..")).select_by_value(
        "temperature")
    driver.find_element("css selector", "#tsdb-form button").click()
    chart = wait_for(driver, "#tsdb svg.chart")
    assert chart.get_attribute("aria-label") == "temperature: 3 points from 20 to 22"


def test_the_solution_view_and_keyboard_navigation(driver, served):
    from selenium.webdriver.common.keys import Keys

    open_view(driver, served, "solution")
    wait_for(driver, "#solution", "/greeting")
    wait_for(driver, "#solution", "timer")
    link = driver.find_element("css selector", "header nav a[href='#twilio']")
    link.send_keys(Keys.ENTER)  # a real link: the keyboard follows it
    wait_for(driver, "#view-twilio h2", "Twilio")
    assert driver.find_element("css selector", "#view-solution").is_displayed() is False


def press_keys(driver, panel: str, digits: str) -> None:
    """Type digits into a call panel and press; the live feed may redraw the panel meanwhile."""
    from selenium.common.exceptions import StaleElementReferenceException

    for _ in range(50):  # a bounded retry: each redraw replaces the form we held
        try:
            type_into(driver, f"{panel} input[name='digits']", digits)
            driver.find_element("css selector", f"{panel} button[type='submit']").click()
            return
        except StaleElementReferenceException:
            continue
    raise AssertionError("the call panel never held still long enough to press a key")


def test_pressing_a_digit_in_a_call(driver, served):
    phone = "+15551230042"
    requests.post(served + "/call", json={"to": phone, "menu": served + "/voice"}, timeout=10)
    open_view(driver, served, "phone")
    type_into(driver, "#sms-from", phone)
    driver.execute_script("document.getElementById('sms-from').dispatchEvent(new Event('change'))")
    # The call rings and answers on the real clock; its menu's <Gather> then waits for a key.
    wait_for(driver, "#phone-calls [data-call] .transcript", "Press 1 for sales.")
    press_keys(driver, "#phone-calls [data-call]", "1")
    wait_for(driver, "#phone-calls [data-call] .transcript", "You pressed 1.")
    assert requests.get(served + "/pressed", timeout=10).json() == {"pressed": "1"}


def test_a_narrow_screen_needs_no_sideways_scrolling(driver, served):
    requests.post(served + "/remind", json={"note": "a fairly long note " * 5}, timeout=10)
    driver.set_window_size(400, 800)
    try:
        for view in ("requests/1", "phone", "data", "clock", "solution"):
            open_view(driver, served, view)
            if view == "requests/1":
                wait_for(driver, "#execution-logs", "arming")
            overflow = driver.execute_script(
                "return document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 0, f"{view} is {overflow}px wider than a 400px screen"
    finally:
        driver.set_window_size(1280, 900)


def test_the_devices_panel_shows_which_devices_are_connected_and_over_which_protocol(driver):
    with Runtime({"serve": {"mqtt_tls": False}}) as runtime, open(os.devnull, "w") as quiet, \
            serve_mqtt(runtime.platform) as port:
        server = serve_solution(SOLUTION, runtime, log=SolutionLog(quiet), surfaces=(Console,))
        devices = runtime.platform.control("device2").fixture()
        devices.provision("idle-1")
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="", protocol=mqtt.MQTTv311)
        client.username_pw_set("", devices.provision("pump-7"))
        client.connect("127.0.0.1", int(port.url.rsplit(":", 1)[1]))
        client.loop_start()
        try:
            client.publish("$resource/t", "1", qos=1).wait_for_publish(WAIT)  # acknowledged: connected by now
            open_view(driver, server.url, "data/devices")
            wait_for(driver, "#devices", "pump-7")
            rows = {row.split()[0]: row for row in wait_for(driver, "#devices").text.splitlines()
                    if row.startswith(("pump-7", "idle-1"))}
            assert rows["pump-7"].split()[1] == "mqtt" and rows["idle-1"].split()[1] == "no", rows
        finally:
            client.disconnect()
            client.loop_stop()
            server.shutdown()
