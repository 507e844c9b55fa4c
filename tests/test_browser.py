"""End to end in a real headless Chromium: sign in and see the home page."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests import factories
from tests.browser import chromium, require_chromium, streamlit_server, wait_for_text, wait_until_idle

pytestmark = pytest.mark.browser


def test_sign_in_in_a_real_browser_shows_the_overview(db, tmp_path):
    require_chromium()
    factories.small_world()
    factories.add_user("manager.eu", "inventory_manager", ["EU"], "manager-password")
    with streamlit_server({"DATABASE_URL": db}) as url, chromium() as browser:
        # A page URL opened before signing in shows nothing of that page.
        browser.get(url + "/users")
        wait_until_idle(browser)
        assert "Add or update a user" not in browser.find_element(By.TAG_NAME, "body").text
        browser.get(url)
        wait_until_idle(browser)
        wait_for_text(browser, "Sign in")
        browser.find_element(By.CSS_SELECTOR, 'input[aria-label="Username"]').send_keys("manager.eu")
        password = browser.find_element(By.CSS_SELECTOR, 'input[aria-label="Password"]')
        password.send_keys("wrong-password", Keys.ENTER)
        wait_for_text(browser, "Wrong username or password.")

        password = browser.find_element(By.CSS_SELECTOR, 'input[aria-label="Password"]')
        password.send_keys(Keys.CONTROL, "a")
        password.send_keys(Keys.DELETE)
        password.send_keys("manager-password", Keys.ENTER)
        wait_for_text(browser, "Consolidated stock and orders across EU")
        wait_until_idle(browser)
        body = browser.find_element(By.TAG_NAME, "body").text
        assert "Units on hand" in body
        assert "600" in body  # 2 EU locations x 3 SKUs x 100 units; the NA store is out of scope
        assert "inventory manager" in body
        browser.save_screenshot(str(tmp_path / "overview.png"))
