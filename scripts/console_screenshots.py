#!/usr/bin/env python3
"""Screenshots of the console's main views into docs/console/*.png, from a real served solution.

Serves scripts/example-solution (and tests/solutions/console for the data views) on loopback,
makes a few requests, texts the solution from the phone view, and photographs each view in
headless Chromium (Debian's chromium and chromium-driver). Run from the repository root:

    python scripts/console_screenshots.py [--out docs/console]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait

from murano_sim import Runtime, load_config
from murano_sim.console import Console
from murano_sim.solution import SolutionLog, serve_solution
from murano_sim.testing import browser

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "scripts" / "example-solution"
DATA_SOLUTION = ROOT / "tests" / "solutions" / "console"


def wait(driver, css: str, text: str | None = None) -> None:
    locator = (By.CSS_SELECTOR, css)
    condition = ec.visibility_of_element_located(locator) if text is None else ec.text_to_be_present_in_element(
        locator, text)
    WebDriverWait(driver, 20).until(condition)


def show(driver, url: str, view: str) -> None:
    driver.get(f"{url}/_murano-sim/#{view}")
    wait(driver, "#live.on")


def shoot(driver, out: Path, name: str) -> None:
    driver.execute_script("window.scrollTo(0, 0)")
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1280, max(700, min(height + 40, 2400)))
    driver.save_screenshot(str(out / f"{name}.png"))
    driver.set_window_size(1280, 900)
    print(f"wrote {out / name}.png")


def example_views(driver, out: Path) -> None:
    with Runtime(load_config(EXAMPLE / "config.yaml")) as runtime, open(os.devnull, "w") as quiet:
        server = serve_solution(EXAMPLE, runtime, log=SolutionLog(quiet), surfaces=(Console,))
        try:
            url = server.url
            requests.post(url + "/alert", json={"device": "pump-7", "level": "critical", "message": "pressure"},
                          timeout=10)
            requests.post(url + "/alert", json={"device": "pump-7"}, timeout=10)
            requests.get(url + "/alerts", timeout=10)
            show(driver, url, "phone")
            wait(driver, "#sms-path option[value='/sms']")
            driver.find_element(By.ID, "sms-body").send_keys("ACK")
            driver.find_element(By.ID, "sms-send").click()
            wait(driver, "#thread li.them", "Alert acknowledged.")
            shoot(driver, out, "phone")
            show(driver, url, "requests/1")
            wait(driver, "#execution-response", "sid")
            shoot(driver, out, "requests")
            show(driver, url, "solution")
            wait(driver, "#solution", "/alert")
            shoot(driver, out, "solution")
            runtime.advance(5)
            show(driver, url, "twilio")
            wait(driver, "#twilio", "Webhook deliveries")
            shoot(driver, out, "twilio")
        finally:
            server.shutdown()


def data_views(driver, out: Path) -> None:
    with Runtime({}) as runtime, open(os.devnull, "w") as quiet:
        server = serve_solution(DATA_SOLUTION, runtime, log=SolutionLog(quiet), surfaces=(Console,))
        try:
            url = server.url
            for value in (19.5, 20.25, 21, 22.5, 21.75):
                requests.post(url + "/reading", json={"value": value}, timeout=10)
            requests.post(url + "/remind", json={"note": "stretch"}, timeout=10)
            runtime.platform.by_alias["keystore"].model.write("greeting", "hello")
            show(driver, url, "data")
            wait(driver, "#tsdb-metric option[value='temperature']")
            Select(driver.find_element(By.ID, "tsdb-metric")).select_by_value("temperature")
            driver.find_element(By.CSS_SELECTOR, "#tsdb-form button").click()
            wait(driver, "#tsdb svg.chart")
            shoot(driver, out, "data")
            show(driver, url, "clock")
            driver.find_element(By.ID, "clock-seconds").clear()
            driver.find_element(By.ID, "clock-seconds").send_keys("61")
            driver.find_element(By.ID, "clock-advance").click()
            wait(driver, "#clock-ran", "timer timer")
            shoot(driver, out, "clock")
        finally:
            server.shutdown()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "console")
    args = parser.parse_args(argv)
    reason = browser.missing()
    if reason is not None:
        print(f"cannot take screenshots: {reason}", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    with browser.chromium() as driver:
        example_views(driver, args.out)
        data_views(driver, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
