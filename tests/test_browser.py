"""A real browser against `qabase serve`: Debian's chromium driven by Playwright.

`playwright install` cannot download a browser here, so the test uses /usr/bin/chromium
(installed by scripts/test.sh when run as root). A missing browser or missing CJK fonts is a
failure with instructions, never a silent skip.

With QABASE_SCREENSHOT_DIR set, the screenshots are also written there; the README's picture
comes from:  QABASE_SCREENSHOT_DIR=docs .venv/bin/pytest tests/test_browser.py
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote, unquote

import pytest

from qabase import open_kb

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
INSTALL_HINT = "以 root 运行 bash scripts/test.sh 会自动安装；或手动运行：apt-get install -y chromium fonts-noto-cjk"

# A judge's way of asking, and the entry that answers it.
QUESTION = "老赖拒执怎么移送公安"
EXPECTED = "pl-010"
# A typo the search corrects (中本 for 终本), and a question the knowledge base does not answer.
TYPO = "中本的案子换了法院后又找到房产"
CORRECTED = "终本的案子换了法院后又找到房产"
OFF_TOPIC = "法院食堂的饭菜怎么样"
PHONE = dict(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True,
             locale="zh-CN")


def _require_browser():
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"浏览器测试需要 Debian 的 chromium（{CHROMIUM}），但没有找到。{INSTALL_HINT}")
    if shutil.which("fc-list"):
        zh = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True).stdout
        if not zh.strip():
            pytest.fail(f"没有中文字体，页面上的中文会显示成方块。{INSTALL_HINT}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("没有安装 playwright（Python 包）：运行 bash scripts/test.sh，或 .venv/bin/pip install -e '.[test]'")
    return sync_playwright


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`qabase serve --port 0` on a copy of the shipped knowledge base; yields the base URL.
    The pages only read, so the tests of this module share one server."""
    tmp_path = tmp_path_factory.mktemp("served")
    root = tmp_path / "kb-copy"
    shutil.copytree(REPO / "kb", root / "kb", ignore=shutil.ignore_patterns(".index"))
    shutil.copytree(REPO / "qa_entries", root / "qa_entries")
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "QABASE_DATA_DIR": str(tmp_path / "data")}
    env.pop("QABASE_INDEX_DIR", None)
    proc = subprocess.Popen([sys.executable, "-m", "qabase", "--root", str(root), "serve", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8", env=env)
    base, said = None, []
    while base is None:
        line = proc.stdout.readline()
        if not line:
            proc.kill()
            pytest.fail("qabase serve 没有启动：" + "".join(said) + proc.stderr.read())
        said.append(line)
        m = re.search(r"(http://127\.0\.0\.1:\d+)/", line)
        if m:
            base = m.group(1)
    try:
        yield base, root
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def _save(page, tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    page.screenshot(path=str(path), full_page=False)
    extra = os.environ.get("QABASE_SCREENSHOT_DIR")
    if extra:
        Path(extra).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, Path(extra) / name)
    return path


def test_judge_finds_the_answer_in_a_real_browser(server, tmp_path):
    sync_playwright = _require_browser()
    base, root = server
    expected_title = open_kb(root).get(EXPECTED).question
    requested = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1100, "height": 860}, locale="zh-CN")
            page = context.new_page()
            page.on("request", lambda r: requested.append(r.url))
            page.goto(base + "/")
            assert page.title() == "交叉执行问答"
            page.fill("#q", QUESTION)
            page.click("form.search button[type=submit]")
            page.wait_for_url(re.compile(r"/search\?"))
            first = page.locator("ol.results li.result h2 a").first
            assert first.get_attribute("href") == f"/entry/{EXPECTED}"
            assert expected_title in first.inner_text().replace("\n", "")
            assert page.locator("ol.results li.result").first.locator("mark").count() > 0
            assert page.evaluate("document.fonts.check('16px \"Noto Sans CJK SC\"')"), "中文字体不可用"
            shot = _save(page, tmp_path, "screenshot-search.png")
            assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000

            # The entry page, and what a printer gets: no header or search form, the answer kept.
            first.click()
            page.wait_for_url(re.compile(rf"/entry/{EXPECTED}$"))
            assert expected_title in page.locator("h1").inner_text().replace("\n", "")
            page.emulate_media(media="print")
            assert not page.locator("header.site").is_visible()
            assert page.locator("section.answer").is_visible()
            page.emulate_media(media="screen")

            # A phone: the results fit the screen without sideways scrolling.
            phone = browser.new_context(**PHONE)
            mobile = phone.new_page()
            mobile.on("request", lambda r: requested.append(r.url))
            mobile.goto(page.url.split("/entry/")[0] + "/search?q=" + QUESTION)
            assert mobile.locator("ol.results li.result h2 a").first.get_attribute("href") == f"/entry/{EXPECTED}"
            assert mobile.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
            _save(mobile, tmp_path, "screenshot-search-phone.png")
        finally:
            browser.close()
    outside = [u for u in requested if not u.startswith(base + "/")]
    assert not outside, f"页面向外部地址发出了请求：{outside}"


def test_typo_notice_in_a_real_browser(server, tmp_path):
    """The page says what it corrected, as the terminal and /api/search do, and links to the
    corrected search; a flagged search says so above the closest entries. Both fit a phone."""
    sync_playwright = _require_browser()
    base, _ = server
    requested = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(viewport={"width": 1100, "height": 860}, locale="zh-CN").new_page()
            page.on("request", lambda r: requested.append(r.url))
            page.goto(base + "/")
            page.fill("#q", TYPO)
            page.click("form.search button[type=submit]")
            page.wait_for_url(re.compile(r"/search\?"))
            notice = page.locator("p.correction")
            assert notice.is_visible()
            text = notice.inner_text()
            assert "输入的“中本”按“终本”检索" in text and f"是不是要找：“{CORRECTED}”？" in text
            # Above the results, which are already those of the corrected words.
            assert notice.bounding_box()["y"] < page.locator("ol.results").bounding_box()["y"]
            assert page.locator("ol.results li.result").count() > 0
            notice.locator("a").click()
            page.wait_for_url(re.compile(r"/search\?q="))
            assert unquote(page.url).endswith("/search?q=" + CORRECTED)
            assert page.locator("#q").input_value() == CORRECTED
            assert page.locator("p.correction").count() == 0
            assert page.locator("ol.results li.result").count() > 0

            phone = browser.new_context(**PHONE).new_page()
            phone.on("request", lambda r: requested.append(r.url))
            phone.goto(base + "/search?q=" + quote(TYPO))
            assert phone.locator("p.correction").is_visible()
            assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
            _save(phone, tmp_path, "screenshot-typo-phone.png")

            phone.goto(base + "/search?q=" + quote(OFF_TOPIC))
            flagged = phone.locator("section.flagged")
            assert flagged.is_visible(), "这个问题知识库答不了，页面应提示把握不大"
            # "low" or "none", depending on the calibrated cut-offs: either says so in plain words.
            assert re.search("知识库中(可能没有直接|很可能没有)回答这个问题的条目", flagged.inner_text())
            assert "反映问题" in flagged.inner_text()
            assert flagged.bounding_box()["y"] < phone.locator("ol.results").bounding_box()["y"]
            assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
            _save(phone, tmp_path, "screenshot-flagged-phone.png")
        finally:
            browser.close()
    outside = [u for u in requested if not u.startswith(base + "/")]
    assert not outside, f"页面向外部地址发出了请求：{outside}"
