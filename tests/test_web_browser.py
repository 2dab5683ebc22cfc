"""The dashboard in a real browser: Debian's headless Chromium driven by Selenium through Debian's chromedriver
(both from apt; nothing downloads a browser). Every page at a phone's (390 px) and a desktop's (1,280 px) width,
then a whole session: log in, filter the stories, open one, correct its tone, see the overview and the export
change, log out; a viewer's write refused.

Deselected unless `pytest --browser` (conftest.py); `.ci/run` installs chromium and chromium-driver and runs these.
`MONITOR_SCREENSHOTS=docs/img pytest --browser -m browser tests/test_web_browser.py` also saves the screenshots
that docs/dashboard.md shows."""

import csv
import io
import os
import re
import shutil
import socket
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from monitor.db.store import Store, scalar
from monitor.web.app import WebSettings, create_app
from monitor.web.auth import add_user

from test_web import PASSWORD, dashboard_db

pytestmark = pytest.mark.browser
WIDTHS = (390, 1280)
PAGES = {"overview": "/", "agency": "/agency/kpk", "stories": "/stories", "article": "/article/a1", "downloads": "/downloads"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The dashboard on a loopback port, with an analyst (ani) and a viewer (budi)."""
    import uvicorn

    folder = tmp_path_factory.mktemp("dash")
    db = dashboard_db(folder / "dash.duckdb")
    users = folder / "users.yaml"
    add_user(users, "ani", "analyst", PASSWORD)
    add_user(users, "budi", "viewer", PASSWORD)
    app = create_app(WebSettings(db_path=db, followed=["kpk", "polri"], users_file=users, secret="rahasia-uji"))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(100):
        if server.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", db
    server.should_exit = True
    thread.join(5)


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary = shutil.which("chromium")
    driver_path = shutil.which("chromedriver")
    assert binary and driver_path, "browser tests need Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)"
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,900"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    yield driver
    driver.quit()


def set_width(driver, width: int) -> None:
    """The viewport of a phone or a desktop (device metrics: a headless window will not shrink below 500 px)."""
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": 844 if width < 500 else 900, "deviceScaleFactor": 1, "mobile": width < 500})


def click_and_wait(driver, css: str) -> None:
    """Click the first element matching `css`, which loads a new page, and wait until the old page is gone (no stale
    elements after). Found afresh on each try: Chromium now and then loses a node it has just reported."""
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    for attempt in range(3):
        old = driver.find_element(By.TAG_NAME, "html")
        try:
            driver.find_element(By.CSS_SELECTOR, css).click()
        except (StaleElementReferenceException, WebDriverException):
            if expected_conditions.staleness_of(old)(driver):
                return  # the click went through (the page changed): never click twice
            if attempt == 2:
                raise
            time.sleep(0.2)
            continue
        WebDriverWait(driver, 10).until(expected_conditions.staleness_of(old))
        return


def log_in(driver, base: str, name: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(base + "/login")
    driver.find_element(By.NAME, "name").send_keys(name)
    driver.find_element(By.NAME, "password").send_keys(PASSWORD)
    click_and_wait(driver, "form button[type=submit]")


def log_out(driver) -> None:

    click_and_wait(driver, "#logout")


def measure(driver) -> dict:
    """Viewport and document widths, and the images once each has been decoded (or has failed): a page's `load`
    can come before an image from the cache is decoded, which made `naturalWidth` read 0 now and then."""
    driver.set_script_timeout(10)
    return driver.execute_async_script(
        "const done = arguments[arguments.length - 1]; const imgs = [...document.images];"
        "Promise.all(imgs.map(i => i.decode().then(() => true, () => false))).then(ok => done({"
        "width: window.innerWidth, scroll: document.documentElement.scrollWidth, images: imgs.length,"
        "loaded: ok.filter(Boolean).length}));")


def test_every_page_fits_a_phone_and_a_desktop(site, browser):
    base, _ = site
    log_in(browser, base, "ani")
    shots = os.environ.get("MONITOR_SCREENSHOTS")
    try:
        for width in WIDTHS:
            set_width(browser, width)
            for name, path in PAGES.items():
                browser.get(base + path)
                seen = measure(browser)
                assert seen["width"] == width, (name, seen)
                assert seen["scroll"] <= width, f"{name} at {width} px overflows sideways: {seen}"
                assert seen["images"] == seen["loaded"], (name, seen)
                if shots:
                    Path(shots).mkdir(parents=True, exist_ok=True)
                    height = browser.execute_script("return document.documentElement.scrollHeight")
                    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
                        "width": width, "height": min(height, 2400), "deviceScaleFactor": 1, "mobile": width < 500})
                    browser.save_screenshot(str(Path(shots) / f"dashboard-{name}-{width}.png"))
                    set_width(browser, width)
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        log_out(browser)


def cookie_request(browser, url: str, data: dict | None = None) -> tuple[int, bytes]:
    """A request with the browser's session cookie (a download, or a hand-made form post)."""
    cookie = "; ".join(f"{c['name']}={c['value']}" for c in browser.get_cookies())
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    request = urllib.request.Request(url, data=body, headers={"Cookie": cookie})
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_an_analyst_filters_opens_corrects_and_sees_the_figures_change_then_a_viewer_cannot(site, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    base, db = site
    log_in(browser, base, "ani")
    assert "ani · analis" in browser.find_element(By.CSS_SELECTOR, "header").text
    before = browser.find_element(By.ID, "instansi").text
    browser.get(base + "/stories")
    browser.find_element(By.NAME, "agency").send_keys("kpk")
    Select(browser.find_element(By.NAME, "tone")).select_by_value("negative")
    click_and_wait(browser, "#filters button")
    assert "agency=kpk" in browser.current_url and "tone=negative" in browser.current_url
    rows = browser.find_elements(By.CSS_SELECTOR, "#hasil tbody tr")
    assert rows and all("negatif" in r.text for r in rows)
    click_and_wait(browser, "#hasil tbody tr a")
    article_url = browser.current_url
    mention = browser.find_element(By.ID, "mention-kpk")
    assert "negatif" in mention.text and browser.find_elements(By.CSS_SELECTOR, "#teks mark.tone-negative")
    Select(mention.find_element(By.NAME, "new_value")).select_by_value("positive")
    mention.find_element(By.NAME, "note").send_keys("klarifikasi humas, bukan kritik")
    click_and_wait(browser, "#mention-kpk form.correct button")
    assert browser.current_url == article_url
    assert "Koreksi disimpan." in browser.find_element(By.CSS_SELECTOR, ".flash").text
    assert "positif" in browser.find_element(By.ID, "mention-kpk").text
    assert "ani" in browser.find_element(By.ID, "riwayat").text
    browser.get(base + "/")
    after = browser.find_element(By.ID, "instansi").text
    assert after != before and "Koreksi analis dipakai: 1 nada diubah" in after
    article_id = article_url.rsplit("/", 1)[1]
    with Store(db).session(read_only=True) as con:  # the ISO week the corrected article is counted in
        week = scalar(con, "SELECT strftime(day, '%G-W%V') FROM agency_mentions WHERE article_id = ? AND agency_id = 'kpk'", [article_id])
    browser.get(base + "/downloads")
    assert f"/downloads/{week}/summary.csv" in browser.page_source
    status, body = cookie_request(browser, f"{base}/downloads/{week}/summary.csv")
    rows = {r["agency_id"]: r for r in csv.DictReader(io.StringIO(body.decode("utf-8-sig")))}
    assert status == 200 and rows["kpk"]["tones_corrected"] == "1"
    log_out(browser)
    assert "/login" in browser.current_url
    browser.get(base + "/")
    assert "/login" in browser.current_url  # logged out: the pages need a login again

    log_in(browser, base, "budi")
    browser.get(article_url)
    assert "budi · pembaca" in browser.page_source and not browser.find_elements(By.CSS_SELECTOR, "form.correct")
    token = re.search(r'name="csrf_token" value="([^"]+)"', browser.page_source).group(1)
    status, body = cookie_request(browser, article_url + "/correct",
                                  {"csrf_token": token, "kind": "tone", "agency_id": "kpk", "new_value": "negative"})
    assert status == 403 and "hanya dapat membaca" in body.decode()
    browser.get(article_url)
    assert "positif" in browser.find_element(By.ID, "mention-kpk").text
    log_out(browser)
