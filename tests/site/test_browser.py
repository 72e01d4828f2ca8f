"""The built site in a real headless browser (Debian's chromium driven by Selenium).

A copy of the knowledge base gets an archive (made by `sddd archive`) and a check report (made
by `sddd check`), is built with `sddd site build --strict` and served on 127.0.0.1 by a plain
HTTP server. Chromium runs with the flags that keep it off the network, and every request it
makes is recorded from the DevTools performance log: none may leave localhost. Screenshots of
the home page and the medium profile page land in artifacts/ (git-ignored; CI keeps them).
"""

from __future__ import annotations

import functools
import json
import shutil
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from sddd.archive.archiving import manifests
from sddd.compose.profiles import load_profile
from sddd.core.config import load_config
from sddd.index.markdown_chunks import parse_markdown
from tests.fixtures.site_repo import build, copy_repo
from tests.helpers import REPO, require, run_sddd, write

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
         "--disable-dev-shm-usage", "--no-proxy-server", "--window-size=1400,1000")
ARTIFACTS = REPO / "artifacts"
WAIT = 30


@pytest.fixture(scope="module")
def kb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = copy_repo(tmp_path_factory.mktemp("browser") / "kb")
    write(root, "docker-compose-medium-fixed.yml", (root / "profiles" / "medium.yml").read_text())
    write(root, "scripts/deploy-medium-old.sh", "#!/bin/sh\ndocker compose up -d\n")
    proc = run_sddd("archive", "docker-compose-medium-fixed.yml", "scripts/deploy-medium-old.sh",
                    "--reason", "superseded by profiles/medium.yml", "--date", "2025-10-16", cwd=root)
    assert proc.returncode == 0, proc.stderr
    proc = run_sddd("check", "--format", "json", "--output", ".sddd/reports/check.json", cwd=root)
    assert proc.returncode in (0, 1), proc.stderr
    code, report = build(root, "--strict")
    assert code == 0, report["warnings"]
    return root


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def base_url(kb: Path) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(kb / "site")))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def driver() -> Iterator[object]:
    require(Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists(),
            "chromium and chromedriver are not installed (.ci/steps/30-browser.sh installs them)")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        require(False, "selenium is not installed (pip install -e '.[test]')")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    browser = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    browser.set_page_load_timeout(WAIT)
    yield browser
    browser.quit()


def wait_for(driver, css: str):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, WAIT).until(ec.presence_of_element_located((By.CSS_SELECTOR, css)))


def texts(driver, css: str) -> list[str]:
    """textContent (visible or not) of every element matching ``css``, whitespace collapsed,
    heading permalinks (¶) left out."""
    return driver.execute_script(
        "return [...document.querySelectorAll(arguments[0])]"
        ".map(e => e.textContent.replace('¶', '').replace(/\\s+/g, ' ').trim())", css)


def requested_urls(driver) -> list[str]:
    """Every URL the browser requested since the last call (DevTools Network events)."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def off_localhost(urls: list[str]) -> list[str]:
    return [u for u in urls if urlsplit(u).scheme not in ("data", "blob", "about")
            and urlsplit(u).hostname not in ("127.0.0.1", "localhost")]


def screenshot(driver, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    assert driver.save_screenshot(str(ARTIFACTS / name)), f"could not save {name}"


def test_home_page_renders(driver, base_url: str, kb: Path):
    home = parse_markdown((kb / "docs" / "index.md").read_text(encoding="utf-8"), "docs/index.md")
    driver.get(base_url)
    h1 = wait_for(driver, "article h1")
    assert h1.text == next(s.title for s in home.sections if s.level == 1)
    assert home.title in driver.title
    assert driver.execute_script("return getComputedStyle(document.body).fontFamily")  # CSS loaded
    severe = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert severe == [], severe
    screenshot(driver, "site-home.png")


def test_palette_toggle_switches_between_light_and_dark(driver, base_url: str):
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(base_url)
    wait_for(driver, "form[data-md-component=palette] label")
    scheme = "return document.body.getAttribute('data-md-color-scheme')"
    before = driver.execute_script(scheme)
    toggle = ("[...document.querySelectorAll('form[data-md-component=palette] label')]"
              ".find(l => l.offsetParent !== null).click()")
    driver.execute_script(toggle)
    WebDriverWait(driver, WAIT).until(lambda d: d.execute_script(scheme) != before)
    assert {before, driver.execute_script(scheme)} == {"default", "slate"}
    driver.execute_script(toggle)  # back, for the screenshots of the next tests
    WebDriverWait(driver, WAIT).until(lambda d: d.execute_script(scheme) == before)


def test_navigation_lists_every_guide(driver, base_url: str, kb: Path):
    driver.get(base_url)
    wait_for(driver, "nav.md-nav--primary")
    links = driver.execute_script(
        "return [...document.querySelectorAll('nav.md-nav--primary a.md-nav__link')]"
        ".map(a => [a.textContent.replace(/\\s+/g, ' ').trim(), a.href])")
    shown = {href: text for text, href in links}
    guides = sorted((kb / "docs" / "guides").glob("*.md"))
    assert guides
    for guide in guides:
        title = parse_markdown(guide.read_text(encoding="utf-8"), guide.name).title
        href = f"{base_url}guides/{guide.stem}/"
        assert shown.get(href) == title, f"{guide.name} ({title}) missing from the navigation"


def test_medium_profile_page_shows_the_profile_values(driver, base_url: str, kb: Path):
    svc = load_profile(load_config(kb / "sddd.yaml"), "medium", strict=False).service
    driver.get(f"{base_url}reference/profiles/medium/")
    wait_for(driver, "article table")
    rows = driver.execute_script(
        "return [...document.querySelectorAll('article table tr')].map(tr => "
        "[...tr.querySelectorAll('td')].map(td => td.textContent.replace(/\\s+/g, ' ').trim()))")
    flags = {r[0]: r[1] for r in rows if len(r) == 4}
    facts = {r[0]: r[1] for r in rows if len(r) == 2}
    assert flags["--gpu-memory-utilization"] == svc.vllm["--gpu-memory-utilization"]
    for arg in svc.args:
        assert flags[arg.flag] == (arg.value if arg.value is not None else "on"), arg.flag
    assert facts["Model"] == svc.model and facts["Image"] == svc.image
    assert f"host {svc.ports[0].host} → container {svc.ports[0].container}" in facts["Ports"]
    assert facts["GPUs"].startswith(str(svc.gpu.gpus))
    wait_for(driver, "pre [data-clipboard-target]")  # the copy button on the resolved YAML
    screenshot(driver, "site-profile-medium.png")


def test_archive_page_lists_the_archived_files(driver, base_url: str, kb: Path):
    found = [(m, e) for _, m in manifests(load_config(kb / "sddd.yaml")) for e in m.entries]
    assert len(found) == 2
    driver.get(f"{base_url}reference/archives/")
    wait_for(driver, "article table")
    cells = set(texts(driver, "article table td"))
    headings = texts(driver, "article h2")
    for m, e in found:
        assert m.folder in headings
        archived = e.archived.removeprefix(m.folder + "/")
        assert {archived, e.original, e.sha256, e.reason, e.review_date} <= cells, e


def test_builtin_search_finds_the_optimization_guide(driver, base_url: str):
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(base_url)
    wait_for(driver, "label.md-search__icon, .md-search__input")
    driver.execute_script("document.querySelector('.md-search__input').focus()")
    box = driver.find_element("css selector", ".md-search__input")
    box.send_keys("chunked prefill")
    WebDriverWait(driver, WAIT).until(
        lambda d: d.find_elements("css selector", ".md-search-result__item a"))
    hrefs = driver.execute_script(
        "return [...document.querySelectorAll('.md-search-result__item a')].map(a => a.href)")
    assert any("/guides/optimization/" in h for h in hrefs), hrefs


def test_no_request_leaves_localhost(driver, base_url: str):
    requested_urls(driver)  # drop what earlier tests logged; they are checked below anyway
    pages = ["", "guides/optimization/", "guides/configuration/", "reference/profiles/medium/",
             "reference/archives/", "reference/discoverability/", "reports/2025-10-21-grid-search/"]
    seen: list[str] = []
    for path in pages:
        driver.get(base_url + path)
        wait_for(driver, "article h1")
        seen += driver.execute_script(
            "return performance.getEntriesByType('resource').map(e => e.name)")
    seen += requested_urls(driver)
    assert len(seen) > len(pages), "the pages load their CSS and JS from the site"
    assert off_localhost(seen) == []
    # The probe can fail: a resource from elsewhere is seen by the same log.
    from selenium.webdriver.support.ui import WebDriverWait

    driver.execute_script("const i = new Image(); i.src = 'http://example.invalid/probe.png';"
                          "document.body.appendChild(i);")
    caught: list[str] = []
    WebDriverWait(driver, WAIT).until(
        lambda d: caught.extend(off_localhost(requested_urls(d))) or caught)
    assert caught == ["http://example.invalid/probe.png"]


# Every line break inside a code element that does not fall at whitespace: a token cut in two.
MID_TOKEN_BREAKS = """
const bad = [];
for (const code of document.querySelectorAll('article code')) {
  const walker = document.createTreeWalker(code, NodeFilter.SHOW_TEXT);
  let top = null, before = '';
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    for (let i = 0; i < node.length; i++) {
      const ch = node.data[i];
      if (/\\s/.test(ch)) { before = ch; continue; }
      const range = document.createRange();
      range.setStart(node, i); range.setEnd(node, i + 1);
      const rect = range.getClientRects()[0];
      if (!rect) continue;
      if (top !== null && rect.top > top + 2 && !/\\s/.test(before)) bad.push(code.textContent.slice(0, 60));
      top = rect.top; before = ch;
    }
  }
}
return bad;"""
MANUAL = {"manual/": ("The sddd manual", "manual-start.png"),
          "manual/reference/commands/": ("Commands", "manual-reference-commands.png"),
          "manual/how-to/ci/": ("Run sddd in CI: GitHub Actions and pre-commit", "manual-how-to-ci.png")}


def site_file(kb: Path, base_url: str, href: str) -> Path:
    path = href.removeprefix(base_url).split("#", 1)[0]
    return kb / "site" / (path + "index.html" if path.endswith("/") or not path else path)


def test_manual_pages_render_offline_with_whole_links_and_tokens(driver, base_url: str, kb: Path):
    requested_urls(driver)  # drop what earlier tests logged
    try:
        for path, (title, shot) in MANUAL.items():
            for width in (700, 1400):  # a narrow window wraps the most
                driver.set_window_size(width, 1000)
                driver.get(base_url + path)
                assert wait_for(driver, "article h1").text == title
                assert driver.execute_script(MID_TOKEN_BREAKS) == [], f"{path} at {width}px"
            screenshot(driver, shot)
            links = driver.execute_script("return [...document.querySelectorAll('a[href]')].map(a => a.href)")
            internal = [h for h in links if h.startswith(base_url)]
            assert internal, path
            broken = [h for h in internal if not site_file(kb, base_url, h).is_file()]
            assert broken == [], f"{path} links to pages that do not exist: {broken}"
            ids = set(driver.execute_script("return [...document.querySelectorAll('[id]')].map(e => e.id)"))
            here = [h.split("#", 1)[1] for h in internal if "#" in h and h.split("#")[0] == base_url + path]
            assert set(here) <= ids, f"{path}: anchors missing {set(here) - ids}"
        nav = texts(driver, "nav.md-nav--primary .md-nav__item--section > label, "
                            "nav.md-nav--primary .md-nav__item--section > a")
        assert "Manual" in nav, nav
        assert off_localhost(requested_urls(driver)) == []
        # The break check can fail: let code break anywhere, in a narrow window, and it sees it.
        driver.set_window_size(500, 1000)
        driver.get(base_url + "manual/reference/commands/")
        wait_for(driver, "article h1")
        driver.execute_script("document.head.insertAdjacentHTML('beforeend', '<style>article code, "
                              "article code * {white-space: normal !important; word-break: break-all "
                              "!important}</style>')")
        assert driver.execute_script(MID_TOKEN_BREAKS)
    finally:
        driver.set_window_size(1400, 1000)
