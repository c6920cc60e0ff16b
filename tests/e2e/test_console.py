"""The web console (/console) in a real headless Chromium, driven through Selenium, against
the live `serve run` of serve_config.yaml: each view after real requests with real photos.

Chromium and chromedriver are Debian's (`apt-get install chromium chromium-driver`; .ci/run
installs them). Without them the tests skip, unless LUNA_REQUIRE_CHROMIUM=1 (CI) makes that a
failure. With LUNA_CONSOLE_SCREENSHOTS=<folder> the tests also save a 1280x800 screenshot of
each view there (scripts/console_screenshots.py writes docs/images/ that way).
"""

from __future__ import annotations

import base64
import io
import os
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.conftest import new_account
from tests.data.fetch import photo_dir
from tests.ports import free_port

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
# The network is closed where tests run: without these Chromium waits on connections to
# Google's services (updates, sync, QUIC probes) before it gets to the page.
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,800",
)
# The first request to each estimator deployment loads its model: allow for that on 2 cores.
WAIT_S = 120
SCREENSHOTS = os.environ.get("LUNA_CONSOLE_SCREENSHOTS")


def _browser_or_skip() -> None:
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if not missing:
        return
    reason = f"{', '.join(missing)} missing: apt-get install chromium chromium-driver"
    if os.environ.get("LUNA_REQUIRE_CHROMIUM") == "1":
        pytest.fail(f"LUNA_REQUIRE_CHROMIUM=1 but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def driver() -> Iterator[Any]:
    """One headless Chromium for the module, with a fresh profile."""
    _browser_or_skip()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="console-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # The system's chromedriver, named: Selenium then never looks for (or downloads) one.
    browser = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    # The page's viewport, not the window, is 1280x800: screenshots show what a user sees.
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": 1280, "height": 800, "deviceScaleFactor": 1, "mobile": False},
    )
    try:
        yield browser
    finally:
        browser.quit()
        shutil.rmtree(profile, ignore_errors=True)


class Console:
    """The console of the service at ``base_url``, in ``driver``, acting as one account."""

    def __init__(self, driver: Any, base_url: str, account: str) -> None:
        self.driver = driver
        self.base_url = base_url
        self.account = account

    def open(self, view: str) -> None:
        """Show ``view`` (a hash, e.g. ``events?handler=...``) as this console's account."""
        # Any page of the origin gives access to its storage; a stylesheet runs no script.
        self.driver.get(f"{self.base_url}/console/style.css")
        self.driver.execute_script(
            "localStorage.setItem('luna-console.account', arguments[0]); sessionStorage.clear();",
            self.account,
        )
        self.driver.get(f"{self.base_url}/console#{view}")
        self.wait_for(f"#view-{view.split('?')[0]}")

    def find(self, css: str) -> Any:
        return self.driver.find_element("css selector", css)

    def find_all(self, css: str) -> list[Any]:
        return self.driver.find_elements("css selector", css)

    def wait(self, what: str, condition: Callable[[], Any], timeout: float = WAIT_S) -> Any:
        """Poll ``condition`` until it is truthy; on time out fail with what the page shows."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                value = condition()
            except Exception:  # an element not there yet, or replaced while read
                value = None
            if value:
                return value
            if time.monotonic() > deadline:
                page = self.driver.find_element("css selector", "body").text
                logs = [e["message"] for e in self.driver.get_log("browser")]
                pytest.fail(f"timed out waiting for {what}\npage:\n{page[:3000]}\nlog: {logs}")
            time.sleep(0.2)

    def wait_for(self, css: str, text: str | None = None, timeout: float = WAIT_S) -> Any:
        """The first element matching ``css`` (whose text contains ``text``, if given)."""

        def found() -> Any:
            for element in self.find_all(css):
                if text is None or text in element.text:
                    return element
            return None

        return self.wait(f"{css}" + (f" with {text!r}" if text else ""), found, timeout)

    def pick(self, name: str, photo: str) -> None:
        """Choose ``photo`` in the image picker ``name`` (what dropping it does too)."""
        picker = self.find(f'input[type="file"][name="{name}"]')
        picker.send_keys(str(photo_dir() / photo))

    def type(self, css: str, text: str) -> None:
        element = self.find(css)
        element.clear()
        element.send_keys(text)

    def click(self, css: str) -> None:
        self.find(css).click()

    def choose(self, css: str, value: str) -> None:
        """Choose the option ``value`` of the select ``css``."""
        from selenium.webdriver.support.ui import Select

        Select(self.find(css)).select_by_value(value)

    def screenshot(self, view: str) -> None:
        """Save the view as docs/images/console-<view>.png when screenshots are asked for."""
        if not SCREENSHOTS:
            return
        folder = Path(SCREENSHOTS)
        folder.mkdir(parents=True, exist_ok=True)
        self.driver.execute_script("window.scrollTo(0, 0)")
        time.sleep(0.3)  # images fetched as blobs finish drawing
        shot = self.driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png"})
        image = Image.open(io.BytesIO(base64.b64decode(shot["data"]))).convert("RGB")
        # 256 colours: a third of the size, and the page stays readable (the docs keep these).
        image.quantize(256, dither=Image.Dither.NONE).save(
            folder / f"console-{view}.png", optimize=True
        )

    def js_errors(self) -> list[str]:
        """Errors the page's scripts raised or logged (not failed requests, which are answers)."""
        return [
            e["message"]
            for e in self.driver.get_log("browser")
            if e["level"] == "SEVERE" and "Failed to load resource" not in e["message"]
        ]


@pytest.fixture
def console(driver, service_url) -> Console:
    """The live service's console, as a new account with nothing in it."""
    return Console(driver, service_url, new_account())


def api(service_url: str, account: str) -> httpx.Client:
    """A plain client of the live service as ``account``, to set up and check state."""
    return httpx.Client(base_url=service_url, headers={"Luna-Account-Id": account}, timeout=120)


def test_the_console_files_are_served_and_nothing_else(service_url):
    """No browser needed: the thin router serves its own files only, outside the API."""
    with httpx.Client(base_url=service_url, timeout=30) as http:
        page = http.get("/console/")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert '<script type="module" src="/console/app.js">' in page.text
        module = http.get("/console/views/detect.js")
        assert module.headers["content-type"].startswith("text/javascript")
        assert module.headers["cache-control"] == "no-cache"
        for path in ("/console/missing.js", "/console/%2e%2e/routes/console.py", "/console/.."):
            refused = http.get(path)
            assert refused.status_code == 404 and refused.json()["error_code"] == 12013, path
        spec = http.get("/1/docs/spec", headers={"Accept": "application/x-yaml"}).text
        assert "/console" not in spec


def test_detect_draws_every_face_with_its_attributes(console):
    console.open("detect")
    console.pick("detect-image", "group_six.jpg")
    summary = console.wait_for("#detect-summary", "face(s)")
    assert summary.text.startswith("6 face(s)"), summary.text
    cards = console.find_all('[data-testid="face"]')
    assert len(cards) == 6
    for card in cards:
        attributes = card.text
        for name in ("age, gender", "head pose", "emotion", "mask", "quality", "box"):
            assert name in attributes, attributes
    canvas = console.find("#detect-canvas")
    assert canvas.get_attribute("data-faces") == "6"
    assert int(canvas.get_attribute("width")) > 300  # the photo was drawn, boxes over it
    console.screenshot("detect")
    assert console.js_errors() == []


def test_detect_shows_filtered_faces_with_their_reasons(console):
    console.open("detect")
    console.type('input[name="yaw_threshold"]', "20")
    console.pick("detect-image", "turned_head.jpg")
    console.wait_for("#detect-summary", "filtered")
    [filtered] = console.find_all('[data-testid="filtered-face"]')
    assert "yaw_threshold" in filtered.text and "threshold 20" in filtered.text, filtered.text
    assert console.find_all('[data-testid="face"]') == []
    assert console.find("#detect-canvas").get_attribute("data-filtered") == "1"


def test_handlers_create_validate_inline_edit_and_delete(console, service_url):
    console.open("handlers")
    console.type('input[name="description"]', "entrance camera")
    console.click('input[name="detect_policy.estimate_head_pose"]')
    console.click('input[name="extract_policy.extract_basic_attributes"]')
    console.click("#handler-save")
    row = console.wait_for('[data-testid="handler-row"]', "entrance camera")
    handler_id = row.get_attribute("data-handler-id")
    with api(service_url, console.account) as http:
        stored = http.get(f"/1/handlers/{handler_id}").json()
    assert stored["description"] == "entrance camera"
    assert stored["policies"]["detect_policy"]["estimate_head_pose"] == 1
    assert stored["policies"]["extract_policy"]["extract_basic_attributes"] == 1

    # An invalid value: the validator's message beside the field, the LUNA error below.
    console.type('input[name="detect_policy.yaw_threshold"]', "500")
    console.click("#handler-validate")
    error = console.wait_for('[data-error-for="detect_policy.yaw_threshold"]', "180")
    assert "less than or equal to 180" in error.text
    assert "invalid" in console.find('input[name="detect_policy.yaw_threshold"]').get_attribute(
        "class"
    )
    assert "12022" in console.wait_for("#handler-form-status .error").text
    console.screenshot("handlers")

    # Fixed and saved: the form edits the handler it shows (PUT).
    console.type('input[name="detect_policy.yaw_threshold"]', "40")
    console.type('input[name="description"]', "entrance camera, frontal faces")
    console.click("#handler-save")
    console.wait_for('[data-testid="handler-row"]', "frontal faces")
    with api(service_url, console.account) as http:
        stored = http.get(f"/1/handlers/{handler_id}").json()
    assert stored["policies"]["detect_policy"]["yaw_threshold"] == 40
    assert stored["description"] == "entrance camera, frontal faces"

    # A field the form lacks, typed into the JSON editor: its error shows beside the JSON.
    console.driver.execute_script(
        """const editor = document.querySelector('textarea[name="policies-json"]');
        const policies = JSON.parse(editor.value);
        policies.conditional_tags_policy = [{tag: ""}];
        editor.value = JSON.stringify(policies);
        editor.dispatchEvent(new Event("change"));"""
    )
    console.click("#handler-validate")
    error = console.wait_for('[data-error-for=""]', "conditional_tags_policy.0.tag")
    assert "at least 1 character" in error.text, error.text

    row = console.wait_for('[data-testid="handler-row"]', "frontal faces")
    row.find_element("xpath", ".//button[text()='Delete']").click()
    console.driver.switch_to.alert.accept()
    console.wait_for("#handlers-list .empty")
    with api(service_url, console.account) as http:
        assert http.head(f"/1/handlers/{handler_id}").status_code == 404
    assert console.js_errors() == []


def test_an_event_posted_to_a_handler_shows_and_arrives_live(console, service_url):
    with api(service_url, console.account) as http:
        created = http.post(
            "/1/handlers",
            json={
                "description": "lobby",
                "policies": {
                    "detect_policy": {"estimate_head_pose": 1},
                    "extract_policy": {"extract_basic_attributes": 1},
                    "conditional_tags_policy": [{"tag": "visitor"}],
                },
            },
        )
    assert created.status_code == 201, created.text
    handler_id = created.json()["handler_id"]
    console.open(f"events?handler={handler_id}")
    console.wait_for("#live-state", "connected")
    console.pick("event-image", "obama.jpg")
    assert console.wait_for("#event-summary", "event(s)").text.startswith("1 event(s)")
    event = console.wait_for('[data-testid="event"]')
    event_id = event.get_attribute("data-event-id")
    assert "age, gender" in event.text and "visitor" in event.text, event.text
    live = console.wait_for(f'[data-testid="live-event"][data-event-id="{event_id}"]')
    assert "visitor" in live.text
    console.screenshot("events")
    assert console.js_errors() == []


def test_verify_two_photos_of_one_person(console):
    console.open("verify")
    console.pick("verify-a", "obama.jpg")
    console.pick("verify-b", "obama2.jpg")
    console.click("#verify-run")
    similarity = float(console.wait_for("#verify-similarity").text)
    assert similarity > 0.5
    assert "Same person" in console.find("#verify-result").text
    console.screenshot("verify")
    assert console.js_errors() == []


def test_a_face_added_to_a_list_is_found_by_the_matcher(console):
    console.open("lists")
    console.type('input[name="list-user-data"]', "employees")
    console.click("#list-create")
    console.wait_for('[data-testid="list-row"]', "employees")
    console.wait_for("h3", "Faces of list")
    console.type('input[name="face-user-data"]', "Barack")
    console.pick("face-image", "obama.jpg")
    face_id = console.wait_for("#face-added").get_attribute("data-face-id")
    tile = console.wait_for(f'[data-testid="face-tile"][data-face-id="{face_id}"]')
    assert "Barack" in tile.text
    # Its sample image, fetched with the console's headers, is shown.
    console.wait(
        "the face's sample image",
        lambda: console.driver.execute_script(
            "return arguments[0].querySelector('img').naturalWidth", tile
        ),
    )
    console.wait_for('[data-testid="list-row"]', "1")  # faces_count
    console.screenshot("lists")

    console.open("matcher")
    console.pick("matcher-image", "obama2.jpg")
    candidate = console.wait_for('[data-testid="candidate"]')
    assert candidate.get_attribute("data-face-id") == face_id
    assert "Barack" in candidate.text
    similarity = float(re.match(r"[\d.]+", candidate.text).group())
    assert similarity > 0.5
    console.screenshot("matcher")
    assert console.js_errors() == []


def test_login_box_shows_luna_errors_readably(console):
    console.open("handlers")
    console.type("#login-account", "not-an-account")
    console.click("#login-apply")
    console.wait_for("#login-status", "must be a UUID")
    # Credentials are checked even with authentication off: a wrong password is 11065.
    console.choose("#login-mode", "basic")
    console.type("#login-login", "nobody")
    console.type("#login-password", "wrong password")
    console.click("#login-apply")
    error = console.wait_for("#login-status .error", "11065")
    assert "HTTP 401" in error.text
    # Back to the account alone: the console works again.
    console.choose("#login-mode", "none")
    console.type("#login-account", console.account)
    console.click("#login-apply")
    console.wait_for("#login-ok", "0 handler(s)")


# Authentication on: the same app in this process (uvicorn, SQLite, no estimators needed),
# which is far cheaper than a second `serve run` on PostgreSQL.
ADMIN = ("console-admin", "a console admin password")


@pytest.fixture
def auth_service(models_dir, tmp_path) -> Iterator[str]:
    """The app with authentication on and ``ADMIN`` as its first admin, served by uvicorn."""
    _browser_or_skip()
    import uvicorn

    from serve_app.app import create_app
    from tests.api.conftest import make_services

    auth = {"enabled": True, "admin_login": ADMIN[0], "admin_password": ADMIN[1]}
    app = create_app(make_services(models_dir, tmp_path, auth=auth))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.1)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


def test_with_auth_on_a_token_in_the_login_box_decides_the_account(driver, auth_service):
    with httpx.Client(base_url=auth_service, timeout=60) as http:
        made = http.post(
            "/1/accounts",
            auth=ADMIN,
            json={"login": "camera", "password": "a camera password", "account_type": "user"},
        )
        assert made.status_code == 201, made.text
        camera_account = made.json()["account_id"]
        issued = http.post("/1/accounts/tokens", auth=("camera", "a camera password"), json={})
        assert issued.status_code == 201, issued.text
        token = issued.json()["token"]
        bearer = {"Authorization": f"Bearer {token}"}
        handler = http.post("/1/handlers", headers=bearer, json={"description": "camera's own"})
        assert handler.status_code == 201, handler.text
        # Another account's handler, which the camera's token must not show.
        assert http.post("/1/handlers", auth=ADMIN, json={"description": "admin's"}).is_success

    # The page loads without credentials (no browser login dialog): the login box logs in.
    console = Console(driver, auth_service, "")
    driver.get(f"{console.base_url}/console#handlers")
    console.wait_for("#view-handlers")
    console.choose("#login-mode", "token")
    console.type("#login-token", "not a token")
    console.click("#login-apply")
    assert "HTTP 401" in console.wait_for("#login-status .error", "11065").text

    console.type("#login-token", token)
    console.click("#login-apply")
    console.wait_for("#login-ok", "1 handler(s)")
    # The account field shows the token's account (the live view names it).
    assert console.find("#login-account").get_attribute("value") == camera_account
    console.wait_for('[data-testid="handler-row"]', "camera's own")
    rows = console.find_all('[data-testid="handler-row"]')
    assert [r.text for r in rows if "admin's" in r.text] == []

    # The live view subscribes with the token (offered as a WebSocket subprotocol, as a
    # browser cannot set headers there) and hears the account's new event.
    handler_id = handler.json()["handler_id"]
    driver.execute_script("location.hash = arguments[0]", f"#events?handler={handler_id}")
    console.wait_for("#live-state", "connected")
    console.pick("event-image", "obama.jpg")
    event_id = console.wait_for('[data-testid="event"]').get_attribute("data-event-id")
    console.wait_for(f'[data-testid="live-event"][data-event-id="{event_id}"]')
    assert console.js_errors() == []
