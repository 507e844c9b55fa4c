"""End to end in a real headless Chromium: sign in and see the home page."""

from __future__ import annotations

import time

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests import factories
from tests.browser import chromium, require_chromium, streamlit_server, wait_for_text, wait_until_idle

pytestmark = pytest.mark.browser


def test_sign_in_in_a_real_browser_shows_the_overview(world, tmp_path):
    require_chromium()
    factories.add_user("manager.eu", "inventory_manager", ["EU"], "manager-password")
    with streamlit_server({"DATABASE_URL": world}) as url, chromium() as browser:
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


def test_live_page_timer_shows_a_committed_change_without_a_reload(world, kafka, tmp_path):
    """Database commit -> relay -> Kafka -> the app's tail -> the fragment's timer in Chromium."""
    require_chromium()
    from queries.db import run_transaction
    from queries.stock_ledger import apply_movement
    from tests.cdc_helpers import RelayThread, drop_slot, relay_config, unique_prefix, unique_slot

    factories.add_user("hq", "hq_viewer", [], "hq-password")
    prefix, slot = unique_prefix(), unique_slot()
    env = {"DATABASE_URL": world, "KAFKA_BOOTSTRAP_SERVERS": kafka, "STOCKROOM_TOPIC_PREFIX": prefix}
    try:
        with RelayThread(relay_config(world, kafka, prefix, slot)), streamlit_server(env) as url, \
                chromium() as browser:
            browser.get(url)
            wait_until_idle(browser)
            browser.find_element(By.CSS_SELECTOR, 'input[aria-label="Username"]').send_keys("hq")
            browser.find_element(By.CSS_SELECTOR, 'input[aria-label="Password"]').send_keys(
                "hq-password", Keys.ENTER)
            wait_for_text(browser, "Consolidated stock and orders")
            browser.find_element(By.PARTIAL_LINK_TEXT, "Live").click()
            wait_for_text(browser, "straight from the database's change stream")
            wait_until_idle(browser)

            run_transaction(lambda cur: apply_movement(
                cur, location_id="ST-NYC-1", sku="SKU-2", kind="adjustment", reason="damaged",
                delta_on_hand=-100, actor="browser-test"))
            # No click, no reload: only the fragment's run_every timer can bring this toast in.
            wait_for_text(browser, "SKU-2 is out of stock at ST-NYC-1.", timeout=45)
            browser.save_screenshot(str(tmp_path / "live.png"))
    finally:
        drop_slot(world, slot)


def sign_in(browser, username: str, password: str) -> None:
    browser.find_element(By.CSS_SELECTOR, 'input[aria-label="Username"]').send_keys(username)
    browser.find_element(By.CSS_SELECTOR, 'input[aria-label="Password"]').send_keys(
        password, Keys.ENTER)


def test_a_reload_keeps_the_sign_in_and_signing_out_ends_it(world, tmp_path):
    require_chromium()
    from queries.db import fetch_one

    factories.add_user("support.eu", "support", ["EU"], "support-password")
    with streamlit_server({"DATABASE_URL": world}) as url, chromium() as browser:
        browser.get(url)
        wait_until_idle(browser)
        wait_for_text(browser, "Sign in")
        sign_in(browser, "support.eu", "support-password")
        wait_for_text(browser, "Signed in as")
        wait_until_idle(browser)
        browser.save_screenshot(str(tmp_path / "signed-in.png"))
        cookie = browser.get_cookie("stockroom_session")
        assert cookie is not None, "the sign-in wrote no session cookie"

        browser.refresh()  # a new Streamlit session: only the cookie can sign it in
        wait_until_idle(browser)
        wait_for_text(browser, "Signed in as")
        assert "Please sign in" not in browser.find_element(By.TAG_NAME, "body").text

        browser.find_element(By.XPATH, '//button[.//p[text()="Sign out"]]').click()
        wait_for_text(browser, "Sign in")
        wait_until_idle(browser)
        revoked = fetch_one("SELECT count(*) AS n FROM sign_in_sessions "
                            "WHERE username = 'support.eu' AND revoked_at IS NOT NULL")
        assert revoked["n"] == 1

        # Even a browser that kept the old cookie is not signed in by it any more.
        browser.add_cookie({"name": "stockroom_session", "value": cookie["value"], "path": "/"})
        browser.refresh()
        wait_until_idle(browser)
        wait_for_text(browser, "Sign in")
        assert "Signed in as" not in browser.find_element(By.TAG_NAME, "body").text
        browser.save_screenshot(str(tmp_path / "signed-out.png"))


def click_tab(browser, label: str) -> None:
    tab = next(t for t in browser.find_elements(By.CSS_SELECTOR, '[data-testid="stTab"]')
               if t.text == label)
    tab.click()


def test_inventory_tabs_run_when_clicked_keep_the_url_and_a_bookmark_opens_one(world, tmp_path):
    """Only the open tab is drawn; a click on another tab runs it and puts it in the URL; the URL
    opened later (a bookmark, after a reload signed in by the cookie) opens that tab."""
    require_chromium()
    factories.add_user("manager.eu", "inventory_manager", ["EU"], "manager-password")
    with streamlit_server({"DATABASE_URL": world}) as url, chromium() as browser:
        browser.get(url)
        wait_until_idle(browser)
        sign_in(browser, "manager.eu", "manager-password")
        wait_for_text(browser, "Signed in as")
        wait_until_idle(browser)
        browser.get(url + "/inventory?tab=Ledger")
        wait_until_idle(browser)
        wait_for_text(browser, "As of date (UTC)")
        body = browser.find_element(By.TAG_NAME, "body").text
        assert "Search SKU or product name" not in body and "Ship a transfer" not in body

        click_tab(browser, "Transfers")
        wait_for_text(browser, "Ship a transfer")
        wait_until_idle(browser)
        assert "tab=Transfers" in browser.current_url
        assert "As of date (UTC)" not in browser.find_element(By.TAG_NAME, "body").text

        # A form inside the tab still submits there.
        click_tab(browser, "Adjust & count")
        wait_for_text(browser, "Adjust on hand")
        wait_until_idle(browser)
        sku = browser.find_elements(By.CSS_SELECTOR, 'input[aria-label="SKU"]')[0]
        sku.send_keys("SKU-1")
        change = browser.find_element(By.CSS_SELECTOR,
                                      'input[aria-label="Change (+ adds, − removes)"]')
        change.send_keys(Keys.CONTROL, "a")
        change.send_keys("5")
        browser.find_element(By.XPATH, '//button[.//p[text()="Apply adjustment"]]').click()
        wait_for_text(browser, "SKU-1 at WH-BER-1: +5 (received); on hand now 105")
        assert "Adjust on hand" in browser.find_element(By.TAG_NAME, "body").text
        browser.save_screenshot(str(tmp_path / "inventory-tabs.png"))


def wait_for_elements(browser, css: str, count: int, timeout: float = 30) -> list:
    """At least `count` elements matching css (polled until they are drawn)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = browser.find_elements(By.CSS_SELECTOR, css)
        if len(found) >= count:
            return found
        time.sleep(0.2)
    raise AssertionError(f"fewer than {count} of {css!r} appeared")


def pick_option(browser, label: str, starts_with: str, timeout: float = 30) -> None:
    """Open the selectbox labelled `label` and click its option starting with `starts_with`
    (its options may arrive with a rerun still under way: open it again until they do)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        wait_until_idle(browser)
        box = browser.find_element(By.CSS_SELECTOR,
                                   f'input[role="combobox"][aria-label="{label}"]')
        box.click()
        time.sleep(0.3)
        options = [o for o in browser.find_elements(By.CSS_SELECTOR, '[role="option"]')
                   if o.text.startswith(starts_with)]
        if options:
            options[0].click()
            return
        box.send_keys(Keys.ESCAPE)
        time.sleep(0.5)
    raise AssertionError(f"no option starting with {starts_with!r} in {label!r}")


def test_headquarters_sees_every_location_on_the_map_and_drills_into_a_sku(world, tmp_path):
    """Signed in as hq: the map draws a point per location with no internet access (plotly geo
    without base layers), and picking a SKU in the drill-down shows its table."""
    require_chromium()
    factories.add_user("hq", "hq_viewer", [], "hq-password")
    with streamlit_server({"DATABASE_URL": world}) as url, chromium() as browser:
        browser.get(url)
        wait_until_idle(browser)
        sign_in(browser, "hq", "hq-password")
        wait_for_text(browser, "Consolidated stock and orders across every region")
        wait_for_text(browser, "Data as of")
        wait_until_idle(browser)
        assert "900" in browser.find_element(By.TAG_NAME, "body").text  # 3 x 3 SKUs x 100

        click_tab(browser, "Map")
        wait_for_text(browser, "Every location")
        points = wait_for_elements(browser, ".js-plotly-plot .scattergeo path.point", 3)
        assert len(points) == 3  # WH-BER-1, WH-PAR-1, ST-NYC-1
        browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", points[0])
        browser.save_screenshot(str(tmp_path / "overview-map.png"))

        click_tab(browser, "SKU drill-down")
        wait_for_text(browser, "Find a SKU or product above")
        wait_until_idle(browser)
        search = browser.find_element(By.CSS_SELECTOR, 'input[aria-label="Find a SKU or product"]')
        search.send_keys("SKU-2", Keys.ENTER)
        pick_option(browser, "SKU", "SKU-2")
        wait_for_text(browser, "SKU-2 at each location")
        wait_for_text(browser, "Where to send a transfer from")
        wait_until_idle(browser)
        assert "sku=SKU-2" in browser.current_url
        assert browser.find_elements(By.CSS_SELECTOR, '[data-testid="stDataFrame"]')
        browser.save_screenshot(str(tmp_path / "overview-drill-down.png"))


def test_a_bookmarked_page_asks_for_a_sign_in_then_opens_itself(world):
    """Signed out, /orders shows the sign-in form (no "Page not found"); after signing in the
    person is on Orders. Both ways Streamlit can serve the address: the first request of a new
    server runs pages/orders.py by itself (its legacy pages/ mode), a later one goes through
    st.navigation."""
    require_chromium()
    factories.add_user("support.eu", "support", ["EU"], "support-password")
    with streamlit_server({"DATABASE_URL": world}) as url:
        for attempt in ("first request of the server", "through st.navigation"):
            with chromium() as browser:
                browser.get(url + "/orders")
                wait_until_idle(browser)
                wait_for_text(browser, "Sign in")
                assert "Page not found" not in browser.find_element(By.TAG_NAME, "body").text
                sign_in(browser, "support.eu", "support-password")
                wait_for_text(browser, "Find an order", timeout=45)
                assert browser.current_url.rstrip("/").endswith("/orders"), attempt
