"""qabase serve: pages and JSON API through Starlette's test client, plus the serve command itself."""
from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import types
import urllib.request
from pathlib import Path
from urllib.parse import quote

import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from qabase import open_kb
from qabase.cli import app as cli_app
from qabase.web import MAX_QUERY_CHARS, create_app

from conftest import REPO, SAMPLE, entry_text, make_kb

runner = CliRunner()


@pytest.fixture(autouse=True)
def _gap_log_in_tmp(tmp_path, monkeypatch):
    # The gaps log lives in the user's data directory; keep the tests' searches out of it.
    monkeypatch.setenv("QABASE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("QABASE_NO_LOG", raising=False)
    monkeypatch.delenv("QABASE_STATUTES", raising=False)


@pytest.fixture
def client(kbase):
    return TestClient(create_app(kbase))


def result_ids(page: str) -> list[str]:
    block = re.search(r'<ol class="results"[^>]*>(.*?)</ol>', page, re.S)
    return re.findall(r'<h2><a href="/entry/([a-z]+-\d+)">', block.group(1)) if block else []


HOSTILE = {
    **SAMPLE,
    "discovery/dis-003.md": entry_text(
        "dis-003", "discovery", "恶意条目<script>alert('q')</script>怎么办",
        "**结论**：财产线索<img src=x onerror=alert(1)>要核实。\n\n<script>alert('a')</script>\n\n"
        "[点我](javascript:alert(2))",
        aliases=["'\"><script>alert(3)</script>'", "<b onmouseover=alert(4)>粗体</b>"],
        tags=["<i>标签</i>"]),
}


@pytest.fixture
def hostile_client(tmp_path):
    return TestClient(create_app(open_kb(make_kb(tmp_path / "hostile", HOSTILE))))


# -- pages -------------------------------------------------------------------------------
def test_home_lists_topics_batches_and_search_form(client):
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    page = r.text
    assert '<html lang="zh-CN">' in page and 'name="viewport"' in page
    assert 'action="/search"' in page and 'name="q"' in page
    assert '<option value="filing-closing">立结案要求</option>' in page
    assert 'href="/topic/discovery"' in page and "2 条" in page  # two published discovery entries
    assert 'href="/batch/1"' in page and 'href="/batch/2"' in page
    assert "不是任何法院的正式发布" in page


def test_search_ranks_and_highlights(client):
    r = client.get("/search", params={"q": "老赖拒执怎么移送公安"})
    assert r.status_code == 200
    ids = result_ids(r.text)
    assert ids[0] == "pl-001"
    first = r.text.split('<li class="result">')[1]
    assert "<mark>" in first and "拒执" in first
    assert "按“" in r.text and "检索，共" in r.text


def test_search_topic_filter_and_chips(client):
    r = client.get("/search", params={"q": "交叉执行", "topic": "立结案要求"})
    assert result_ids(r.text) == ["fil-001"]
    assert re.search(r'topic=filing-closing" class="on"', r.text)
    assert '<option value="filing-closing" selected>' in r.text
    r = client.get("/search", params={"q": "交叉执行", "topic": "nosuch"})
    assert r.status_code == 400 and "未知专题" in r.text


def test_search_nothing_found_offers_topics(client):
    r = client.get("/search", params={"q": "宇宙飞船"})
    assert r.status_code == 200 and "没有找到相关条目" in r.text
    assert 'href="/topic/petitions"' in r.text
    assert "qabase list" not in r.text  # CLI advice does not belong on the page


def test_empty_query_shows_home(client):
    r = client.get("/search", params={"q": "  "})
    assert r.status_code == 200 and "请输入要查询的问题" in r.text


def test_entry_page(client):
    r = client.get("/entry/dis-002")
    assert r.status_code == 200
    page = r.text
    assert "终本案件发现新财产后能否纳入交叉执行？" in page
    assert "<strong>结论</strong>" in page
    assert "第五百一十七条" in page and 'href="/search?q=' in page
    assert 'href="/topic/discovery"' in page and 'href="/batch/1"' in page
    assert "终本后又找到财产怎么办" in page  # aliases
    assert "不是任何法院的正式发布" in page
    assert client.get("/entry/DIS-002").status_code == 200


def test_entry_page_of_draft_says_so(client):
    r = client.get("/entry/pet-001")
    assert r.status_code == 200 and "尚未发布" in r.text


def test_entry_mentions_of_other_entries_become_links(tmp_path):
    entries = dict(SAMPLE)
    entries["discovery/dis-003.md"] = entry_text(
        "dis-003", "discovery", "申请材料有哪些？", "**结论**：见dis-001和dis-404。本条是dis-003。")
    c = TestClient(create_app(open_kb(make_kb(tmp_path / "k", entries))))
    page = c.get("/entry/dis-003").text
    assert '<a href="dis-001">dis-001</a>' in page
    assert 'href="dis-404"' not in page and 'href="dis-003"' not in page


def test_unknown_entry_is_404(client):
    r = client.get("/entry/dis-999")
    assert r.status_code == 404 and "没有编号为 dis-999 的条目" in r.text


def test_topic_and_batch_pages(client):
    page = client.get("/topic/discovery").text
    assert "dis-001" in page and "dis-002" in page and "fil-001" not in page
    assert client.get("/topic/" + quote("案件发现")).status_code == 200
    assert "pet-001" not in client.get("/topic/petitions").text  # drafts are not listed
    assert client.get("/topic/nosuch").status_code == 404
    page = client.get("/batch/2").text
    assert "fil-001" in page and "dis-001" not in page and "立结案要求" in page
    assert client.get("/batch/9").status_code == 404
    assert client.get("/batch/x").status_code == 400


def test_print_stylesheet_and_no_external_assets(client):
    css = client.get("/static/qabase.css")
    assert css.status_code == 200
    assert "@media print" in css.text
    assert "http" not in css.text.replace("http://www.w3.org", "") and "@import" not in css.text
    assert "@font-face" not in css.text
    for url in ("/", "/search?q=终本", "/entry/dis-001", "/topic/discovery", "/batch/1"):
        r = client.get(url)
        assert not re.search(r'(src|href)="(https?:)?//', r.text), url
        csp = r.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "script-src" not in csp
        assert "<script" not in r.text


# -- what the search page says (issue 19) -------------------------------------------------------
def _main(page: str) -> str:
    """The page without the search form and the footer."""
    return page.split("</form>", 1)[1].split("</main>", 1)[0]


def test_typo_notice_and_link_to_the_corrected_search(client):
    r = client.get("/search", params={"q": "中本的案子换了法院后又找到房产"})
    assert r.status_code == 200
    notice = re.search(r'<p class="correction">(.*?)</p>', r.text, re.S)
    assert notice, "the page must say what it corrected"
    text = re.sub(r"<[^>]+>", "", notice.group(1))
    assert "输入的“中本”按“终本”检索" in text and "是不是要找：“终本的案子换了法院后又找到房产”？" in text
    href = re.search(r'href="([^"]+)"', notice.group(1)).group(1).replace("&amp;", "&")
    assert href == "/search?q=" + quote("终本的案子换了法院后又找到房产")
    # The same correction as /api/search (and so as qabase search --json).
    api = client.get("/api/search", params={"q": "中本的案子换了法院后又找到房产"}).json()
    assert api["corrections"] == [{"from": "中本", "to": "终本"}]
    assert api["did_you_mean"] == "终本的案子换了法院后又找到房产"
    assert result_ids(r.text)[:10] == [h["id"] for h in api["results"]]
    # Following the link searches the corrected words: nothing left to correct.
    corrected = client.get(href)
    assert corrected.status_code == 200 and 'class="correction"' not in corrected.text
    assert 'class="pager"' not in corrected.text  # four results: one page, no pager
    assert result_ids(corrected.text)[0] == "dis-002"
    # A topic filter is kept in the link; a query with nothing to correct has no notice.
    r = client.get("/search", params={"q": "中本", "topic": "discovery"})
    assert "topic=discovery" in re.search(r'<p class="correction">.*?</p>', r.text, re.S).group(0)
    assert 'class="correction"' not in client.get("/search", params={"q": "终本"}).text


def test_confidence_shown_instead_of_a_score(client):
    page = client.get("/search", params={"q": "老赖拒执怎么移送公安"}).text
    assert "较有把握" in page and 'class="flagged"' not in page
    assert "得分" not in page and not re.search(r"\d+\.\d{1,3}</", _main(page))


def test_searched_words_are_the_knowledge_base_own_never_slang(tmp_path):
    root = make_kb(tmp_path / "k")
    (root / "kb" / "colloquial.yaml").write_bytes((REPO / "kb" / "colloquial.yaml").read_bytes())
    c = TestClient(create_app(open_kb(root)))
    r = c.get("/search", params={"q": "老赖拒执怎么移送公安"})
    summary = re.search(r'<p class="summary">(.*?)</p>', r.text, re.S).group(1)
    shown = re.search(r"按“(.*?)”检索", summary).group(1).split("、")
    assert "老赖" not in shown and "拒执" not in shown
    assert "被执行人" in shown and "拒不执行判决裁定罪" in shown
    api = c.get("/api/search", params={"q": "老赖拒执怎么移送公安"}).json()
    assert {"text": "被执行人", "origin": "lexicon", "from": "老赖"}.items() <= next(
        t for t in api["searched_terms"] if t["text"] == "被执行人").items()
    assert result_ids(r.text)[0] == "pl-001"


def _flagging_kb(tmp_path, report_to=None):
    """The sample knowledge base with cut-offs that flag every search scoring under 0.9
    (法院食堂的饭菜怎么样 scores about 0.7 on it, 老赖拒执怎么移送公安 2.0)."""
    root = make_kb(tmp_path / "flag")
    (root / "kb" / "confidence.yaml").write_text(
        "cutoffs:\n  whoosh: {low: 0.9, none: 0.3}\n  tantivy: {low: 0.9, none: 0.3}\n", encoding="utf-8")
    if report_to is not None:
        cfg = root / "kb" / "config.yaml"
        text = re.sub(r"(?m)^report_to:.*$", "", cfg.read_text(encoding="utf-8"))
        cfg.write_text(text + f"report_to: {report_to}\n", encoding="utf-8")
    return root


def _statutes(d: Path) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    (d / "民事诉讼法(2023-09-01).md").write_text(
        "# 中华人民共和国民事诉讼法\n\n<!-- INFO END -->\n\n## 第一编\n\n"
        "第十条 虚构条文：法院的食堂向干警开放，仅供测试。\n\n第十一条 虚构条文：与本题无关。\n", encoding="utf-8")
    (d / "民诉法解释(2022-04-10).md").write_text(
        "# 最高人民法院关于适用《中华人民共和国民事诉讼法》的解释\n\n<!-- INFO END -->\n\n## 一、测试\n\n"
        "第五条 虚构条文：法院食堂的饭菜由后勤部门负责。\n", encoding="utf-8")
    return d


def test_flagged_search_says_so_above_the_closest_entries(tmp_path):
    root = _flagging_kb(tmp_path, report_to="执行局编写组 kb@court.example（内网 http://intranet.example/kb）")
    c = TestClient(create_app(open_kb(root)))
    q = "法院食堂的饭菜怎么样"
    assert c.get("/api/search", params={"q": q}).json()["confidence"] == "low"
    page = c.get("/search", params={"q": q}).text
    main = _main(page)
    flagged = re.search(r'<section class="flagged"[^>]*>(.*?)</section>', main, re.S)
    assert flagged, "a flagged search must say so"
    text = re.sub(r"<[^>]+>", "", flagged.group(1))
    assert "把握不大" in text and "知识库中可能没有直接回答这个问题的条目" in text and "请核对后再用" in text
    # Above the results, which are still shown.
    assert main.index('class="flagged"') < main.index('<ol class="results"')
    assert result_ids(page) and "把握不大" in re.search(r'<p class="summary">.*?</p>', main, re.S).group(0)
    # Where to report it: report_to from kb/config.yaml, its addresses made links.
    assert "反映问题：执行局编写组" in text
    assert 'href="mailto:kb@court.example?subject=' + quote("知识库没有回答的问题：" + q) + '"' in flagged.group(1)
    assert '<a href="http://intranet.example/kb">http://intranet.example/kb</a>' in flagged.group(1)
    assert "可能相关的法条" not in page  # no statutes directory configured
    # A search the knowledge base answers is not flagged.
    sure = c.get("/search", params={"q": "老赖拒执怎么移送公安"}).text
    assert 'class="flagged"' not in sure and "反映问题" not in sure


def test_flagged_search_without_report_to_explains_where_to_set_it(tmp_path):
    root = _flagging_kb(tmp_path, report_to="")
    page = TestClient(create_app(open_kb(root))).get("/search", params={"q": "法院食堂的饭菜怎么样"}).text
    assert "反映问题：请把问题告诉知识库的编写组（可在 kb/config.yaml 的 report_to 中写明联系方式）" in page


def test_search_without_results_says_where_to_report(client):
    page = client.get("/search", params={"q": "宇宙飞船"}).text
    assert "没有找到相关条目" in page and "知识库答不了的问题请反映：请把问题和检索词发给" in page


def test_flagged_search_lists_matching_articles_where_statutes_are_configured(tmp_path):
    root = _flagging_kb(tmp_path)
    d = _statutes(tmp_path / "statutes")
    c = TestClient(create_app(open_kb(root), statutes=d))
    page = c.get("/search", params={"q": "法院食堂的饭菜怎么样"}).text
    laws = re.search(r'<section class="laws">(.*?)</section>', page, re.S)
    assert laws, "a flagged search lists the closest articles, as qabase search does"
    block = laws.group(1)
    assert "《最高人民法院关于适用〈中华人民共和国民事诉讼法〉的解释》第五条" in block  # 〈〉 inside, never 《《》》
    assert "《中华人民共和国民事诉讼法》第十条" in block and "第十一条" not in block
    assert "法院食堂的饭菜由后勤部门负责" in block
    assert page.index('<ol class="results"') < page.index('<section class="laws">')
    assert "另附可能相关的法条原文" in page
    # Not under a search the knowledge base answers, nor on a later page.
    assert 'class="laws"' not in c.get("/search", params={"q": "老赖拒执怎么移送公安"}).text
    # The same articles as qabase search --laws.
    cli = cli_json(root, "--statutes", str(d), "search", "法院食堂的饭菜怎么样", "--laws", "--json")
    titles = re.findall(r'<span class="law-title">(.*?)</span>', block)
    assert len(titles) == len(cli["laws"]) and [h["article"] for h in cli["laws"]] == [
        re.search(r"》(第.+条)$", t).group(1) for t in titles]


def test_footer_carries_the_full_disclaimer(kbase, client):
    notice = kbase.kb.notice
    assert len(notice) > 80
    for url in ("/", "/search?q=终本", "/search?q=宇宙飞船", "/entry/dis-001", "/topic/discovery", "/batch/1",
                "/entry/dis-999", "/no/such/page"):
        page = client.get(url).text
        footer = page.split('<footer class="site">', 1)[1]
        assert f"说明：{notice}" in footer, url


def test_missing_entry_links_the_topics_not_the_terminal(client):
    r = client.get("/entry/dis-999")
    assert r.status_code == 404 and "没有编号为 dis-999 的条目" in r.text
    assert "qabase" not in _main(r.text)
    for slug in ("discovery", "filing-closing", "procedure-linkage", "petitions"):
        assert f'href="/topic/{slug}"' in _main(r.text)
    r = client.get("/no/such/page")
    assert r.status_code == 404 and 'href="/topic/discovery"' in _main(r.text)
    # The JSON API keeps the message whole.
    assert "没有编号为 dis-999 的条目" in client.get("/api/entries/dis-999").json()["error"]["message"]


def test_related_entries_on_results_and_entry_pages(kbase, client):
    want = kbase.related("dis-001")
    assert want, "the sample entries share citations and wording"
    page = client.get("/search", params={"q": "上一级法院申请交叉执行"}).text
    result = next(b for b in page.split('<li class="result">')[1:] if 'href="/entry/dis-001"' in b.split("</h2>")[0])
    block = re.search(r'<details class="related">(.*?)</details>', result, re.S).group(1)
    assert f"相关条目（{len(want)}）" in block
    assert re.findall(r'href="/entry/([a-z]+-\d+)"', block) == [r["id"] for r in want]
    entry = client.get("/entry/dis-001").text
    section = re.search(r'<section class="related">(.*?)</section>', entry, re.S).group(1)
    assert re.findall(r'href="/entry/([a-z]+-\d+)"', section) == [r["id"] for r in want]
    assert want[0]["question"] in section


def test_related_entries_follow_an_edit(kbroot, client):
    before = client.get("/entry/dis-001").text
    assert "dis-004" not in before
    (kbroot / "qa_entries" / "discovery" / "dis-004.md").write_text(entry_text(
        "dis-004", "discovery", "执行法院六个月未执行，向上一级法院申请交叉执行要交哪些材料？",
        "**结论**：申请书和执行依据。", tags=["六个月", "上一级法院"]), encoding="utf-8")
    section = re.search(r'<section class="related">(.*?)</section>', client.get("/entry/dis-001").text, re.S)
    assert 'href="/entry/dis-004"' in section.group(1)


def _many(n: int) -> dict[str, str]:
    return {f"discovery/dis-{i:03d}.md": entry_text(
        f"dis-{i:03d}", "discovery", f"交叉执行第{i}号问题：财产线索{i}怎么核实？",
        f"**结论**：交叉执行中第{i}号线索按规定核实。", tags=[f"标签{i}"]) for i in range(1, n + 1)}


@pytest.fixture(scope="module")
def many_client(tmp_path_factory):
    root = make_kb(tmp_path_factory.mktemp("many") / "k", _many(63))
    return TestClient(create_app(open_kb(root))), root


def test_results_are_paged_with_links_and_total(many_client):
    c, root = many_client
    first = c.get("/search", params={"q": "交叉执行"})
    assert first.status_code == 200
    assert "共 63 条结果" in first.text and "第 1–20 条（第 1/4 页）" in first.text
    pager = re.search(r'<nav class="pager"[^>]*>(.*?)</nav>', first.text, re.S).group(1)
    links = {m[1]: m[0].replace("&amp;", "&") for m in re.findall(r'<a href="([^"]+)"[^>]*>([^<]+)</a>', pager)}
    assert links["2"] == "/search?q=" + quote("交叉执行") + "&page=2" and links["下一页"] == links["2"]
    assert "上一页" not in links and 'aria-current="page">1<' in pager
    seen = []
    for n in (1, 2, 3, 4):
        r = c.get("/search", params={"q": "交叉执行", "page": str(n)})
        assert r.status_code == 200
        ids = result_ids(r.text)
        assert len(ids) == (20 if n < 4 else 3)
        assert f'<ol class="results" start="{(n - 1) * 20 + 1}">' in r.text
        seen += ids
    assert len(seen) == 63 and set(seen) == {f"dis-{i:03d}" for i in range(1, 64)}
    # The first pages are the terminal's order (the same search, the same candidates).
    api = c.get("/api/search", params={"q": "交叉执行", "limit": "50"}).json()
    assert seen[:50] == [h["id"] for h in api["results"]]
    last = c.get("/search", params={"q": "交叉执行", "page": "4"}).text
    assert "第 61–63 条（第 4/4 页）" in last and "下一页" not in last and 'rel="prev"' in last


def test_paging_keeps_filters_and_rejects_pages_out_of_range(many_client):
    c, _ = many_client
    r = c.get("/search", params={"q": "交叉执行", "topic": "案件发现", "page": "2"})
    pager = re.search(r'<nav class="pager"[^>]*>(.*?)</nav>', r.text, re.S).group(1)
    assert "topic=discovery" in pager and pager.count("topic=discovery") == pager.count("<a ")
    r = c.get("/search", params={"q": "交叉执行", "page": "5"})
    assert r.status_code == 404 and "没有第 5 页" in r.text and "共 4 页" in r.text
    assert 'href="/search?q=' + quote("交叉执行") + '&amp;page=4">看第 4 页' in r.text
    for bad in ("0", "x", "-1", "999"):
        r = c.get("/search", params={"q": "交叉执行", "page": bad})
        assert r.status_code == 400 and "页码" in r.text


def test_only_the_first_page_is_a_gap(tmp_path, monkeypatch):
    from qabase.search import gaps

    root = _flagging_kb(tmp_path)
    kbase = open_kb(root)
    c = TestClient(create_app(kbase))
    c.get("/search", params={"q": "法院食堂的饭菜怎么样", "page": "1"})
    c.get("/search", params={"q": "法院食堂的饭菜怎么样", "page": "2"})
    assert [g.query for g in gaps.read(kbase)] == ["法院食堂的饭菜怎么样"]


# -- safety ------------------------------------------------------------------------------
HOSTILE_MARKERS = ("<script", "<img", "<b onmouseover", "<i>", 'href="javascript:')


def _assert_inert(page: str):
    for marker in HOSTILE_MARKERS:
        assert marker not in page, marker
    # Escaped text (and quoted attribute values) may say "onerror=", but no tag may carry it.
    unquoted = re.sub(r'"[^"]*"', '""', page)
    assert not re.search(r"<[^>]*\bon(error|mouseover)\s*=", unquoted)


def test_entry_text_is_escaped_everywhere(hostile_client):
    c = hostile_client
    entry = c.get("/entry/dis-003").text
    _assert_inert(entry)
    assert "&lt;script&gt;alert(&#39;q&#39;)&lt;/script&gt;" in entry
    assert "&lt;img src=x onerror=alert(1)&gt;" in entry
    assert "&lt;b onmouseover=alert(4)&gt;" in entry
    search = c.get("/search", params={"q": "恶意条目 财产线索"})
    assert result_ids(search.text)[0] == "dis-003"
    _assert_inert(search.text)
    assert "&lt;script&gt;" in search.text
    for url in ("/topic/discovery", "/batch/1", "/"):
        _assert_inert(c.get(url).text)


def test_query_is_escaped_when_shown(client):
    q = '"><script>alert(1)</script><img src=x onerror=alert(2)>'
    for params in ({"q": q}, {"q": q, "topic": q}, {"q": "x" * (MAX_QUERY_CHARS + 1) + q}):
        r = client.get("/search", params=params)
        _assert_inert(r.text)


@pytest.mark.parametrize("url", [
    "/entry/..%2F..%2Fetc%2Fpasswd",
    "/entry/%2e%2e%2f%2e%2e%2fkb%2fconfig.yaml",
    "/entry/dis-001%2F..%2F..%2Fkb%2Fconfig.yaml",
    "/entry/dis-001%00",
    "/api/entries/..%2F..%2Fkb%2Fconfig.yaml",
    "/api/entries/..",
    "/static/..%2F..%2Fkb.py",
    "/static/%2e%2e/%2e%2e/kb.py",
    "/topic/..%2F..%2Fkb",
    "/batch/..%2F1",
])
def test_path_like_ids_are_rejected(client, url):
    r = client.get(url)
    assert 400 <= r.status_code < 500, (url, r.status_code)
    assert "publisher:" not in r.text and "import " not in r.text


def test_bad_ids_get_a_chinese_message(client):
    r = client.get("/entry/..%2F..%2Fetc%2Fpasswd")
    assert r.status_code == 400 and "编号格式不对" in r.text
    r = client.get("/api/entries/..%2Fx")
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_id"


def test_long_queries_get_a_clear_400(client):
    long = "交叉执行" * (MAX_QUERY_CHARS // 4 + 1)
    r = client.get("/search", params={"q": long})
    assert r.status_code == 400 and "查询太长" in r.text and f"{MAX_QUERY_CHARS} 个字以内" in r.text
    r = client.get("/api/search", params={"q": long})
    assert r.status_code == 400 and r.json()["error"]["code"] == "query_too_long"
    r = client.get("/api/search", params={"q": "a" * 12_000})
    assert r.status_code == 400
    r = client.get("/search", params={"q": "老赖拒执" + "的" * 300})  # under the limit, over the analyser's
    assert r.status_code == 200 and "只取前 200 个字" in r.text


@pytest.mark.parametrize("params", [
    {"q": "x", "limit": "0"}, {"q": "x", "limit": "abc"}, {"q": "x", "limit": "101"},
    {"q": "x", "batch": "-1"}, {"q": "x", "batch": "1e9"}, {"q": "x", "all_status": "maybe"},
    {"q": "x", "topic": "nosuch"}, {"q": "x", "tag": "t" * 51},
])
def test_bad_api_parameters_are_400(client, params):
    r = client.get("/api/search", params=params)
    assert r.status_code == 400
    assert r.json()["error"]["message"]


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_read_only(client, method):
    for url in ("/", "/search", "/entry/dis-001", "/api/search", "/api/entries/dis-001", "/openapi.json"):
        r = client.request(method, url, content=b"id: x")
        assert r.status_code == 405, (method, url)


def test_requests_never_write_entries(kbroot, client):
    def snapshot():
        return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted((kbroot / "qa_entries").rglob("*"))
                if p.is_file()}

    before = snapshot()
    for url in ("/", "/search?q=终本", "/entry/dis-001", "/api/search?q=老赖", "/api/entries/dis-002",
                "/topic/discovery", "/batch/1", "/openapi.json", "/api/topics"):
        assert client.get(url).status_code == 200
    assert snapshot() == before


def test_index_rebuilt_underneath_never_breaks_a_request(kbroot, client):
    """Another process keeps rebuilding the index and an entry keeps changing while requests run."""
    target = kbroot / "qa_entries" / "discovery" / "dis-001.md"
    original = target.read_text(encoding="utf-8")
    stop = threading.Event()
    errors = []

    def churn():
        other = open_kb(kbroot)
        i = 0
        try:
            while not stop.is_set():
                i += 1
                # Saved the way most editors save (write aside, rename over): the page must
                # never miss the entry. Saves in place are covered by the test below.
                tmp = target.with_suffix(".swp")
                tmp.write_text(original + f"\n补充说明第{i}次。\n", encoding="utf-8")
                os.replace(tmp, target)
                other.build_index(lock_wait=None)
                stop.wait(0.05)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    t = threading.Thread(target=churn)
    t.start()
    try:
        statuses, tops = [], []
        for _ in range(15):
            r = client.get("/api/search", params={"q": "老赖拒执"})
            statuses.append(r.status_code)
            tops.append(r.json()["results"][0]["id"] if r.status_code == 200 else r.text)
            statuses.append(client.get("/entry/dis-001").status_code)
    finally:
        stop.set()
        t.join()
    assert not errors
    assert set(statuses) == {200}
    assert set(tops) == {"pl-001"}


def test_entries_read_during_an_in_place_save_are_read_again(kbroot):
    """An editor saving in place truncates the file first: a read that overlaps the save must
    not be cached as the entry having vanished."""
    from qabase.web import WebKB

    kbase = open_kb(kbroot)
    target = kbroot / "qa_entries" / "discovery" / "dis-001.md"
    original = target.read_text(encoding="utf-8")
    real_load = kbase.load_entries
    reads = []

    def load_during_save():
        if not reads:  # first read: the file is empty, the save finishes right after
            target.write_text("", encoding="utf-8")
            result = real_load()
            target.write_text(original + "\n补充说明。\n", encoding="utf-8")
        else:
            result = real_load()
        reads.append(result)
        return result

    kbase.load_entries = load_during_save
    web = WebKB(kbase)
    assert web.entry("dis-001").answer.endswith("补充说明。")
    assert len(reads) == 2 and "dis-001" not in {e.id for e in reads[0].entries}
    assert web.entry("dis-001").id == "dis-001" and len(reads) == 2  # now cached


# -- JSON API ----------------------------------------------------------------------------
def cli_json(kbroot, *args):
    r = runner.invoke(cli_app, ["--root", str(kbroot), *args])
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def test_api_search_is_search_json(kbroot, client):
    for params, args in [({"q": "老赖拒执"}, ["老赖拒执"]),
                         ({"q": "交叉执行", "topic": "立结案要求", "limit": "3"},
                          ["交叉执行", "--topic", "立结案要求", "--limit", "3"]),
                         ({"q": "宇宙飞船"}, ["宇宙飞船"])]:
        r = client.get("/api/search", params=params)
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
        assert r.json() == cli_json(kbroot, "search", *args, "--json")


def test_api_entry_is_show_json(kbroot, client):
    assert client.get("/api/entries/dis-002").json() == cli_json(kbroot, "show", "dis-002", "--json")
    r = client.get("/api/entries/dis-999")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    assert client.get("/api/topics").json() == cli_json(kbroot, "topics", "--json")


def test_openapi_describes_the_real_responses(client):
    doc = client.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    assert {"/api/search", "/api/entries/{id}", "/api/topics"} <= set(doc["paths"])
    schemas = doc["components"]["schemas"]
    search = client.get("/api/search", params={"q": "老赖拒执"}).json()
    assert set(schemas["SearchResult"]["required"]) == set(search)
    assert set(schemas["Hit"]["required"]) == set(search["results"][0])
    assert set(schemas["SnippetRun"]["required"]) == set(search["results"][0]["snippet"][0])
    entry = client.get("/api/entries/dis-002").json()
    assert set(schemas["Entry"]["required"]) == set(entry)
    names = {p["name"] for p in doc["paths"]["/api/search"]["get"]["parameters"]}
    assert names == {"q", "topic", "tag", "batch", "limit", "all_status", "no_log"}
    for url in ("/docs", "/redoc", "/docs/oauth2-redirect"):
        assert client.get(url).status_code == 404  # no docs page that would load scripts from a CDN


def test_error_pages_are_chinese(client):
    r = client.get("/no/such/page")
    assert r.status_code == 404 and "没有这个页面" in r.text
    r = client.get("/api/nothing")
    assert r.status_code == 404 and r.json()["error"]["message"] == "没有这个页面。"


# -- statute texts on the entry page -------------------------------------------------------
def test_entry_page_shows_cited_article_texts(kbase, tmp_path):
    d = tmp_path / "statutes"
    d.mkdir()
    (d / "民事诉讼法(2023-09-01).md").write_text(
        "# 中华人民共和国民事诉讼法\n\n<!-- INFO END -->\n\n## 第一编\n\n"
        "第二百三十七条 虚构条文<script>alert(9)</script>，仅供测试。\n", encoding="utf-8")
    c = TestClient(create_app(kbase, statutes=d))
    page = c.get("/entry/dis-001").text
    assert re.search(r'<blockquote class="article-text">虚构条文&lt;script&gt;alert\(9\)&lt;/script&gt;，仅供测试。',
                     page)
    data = c.get("/api/entries/dis-001").json()
    assert data["articles"][0]["text"].startswith("虚构条文")
    # Without a library the citation is still listed, with no text.
    page = TestClient(create_app(kbase)).get("/entry/dis-001").text
    assert "第二百三十七条" in page and "article-text" not in page


# -- gaps log --------------------------------------------------------------------------------
def test_weak_searches_go_to_the_gaps_log(kbase, client, monkeypatch):
    from qabase.search import gaps

    client.get("/search", params={"q": "宇宙飞船"})
    client.get("/api/search", params={"q": "月球基地"})
    client.get("/api/search", params={"q": "火星车", "no_log": "1"})
    client.get("/search", params={"q": "老赖拒执"})  # a good match is not a gap
    monkeypatch.setenv("QABASE_NO_LOG", "1")
    client.get("/search", params={"q": "潜水艇"})
    assert sorted(g.query for g in gaps.read(kbase)) == ["宇宙飞船", "月球基地"]


def test_gaps_hook_is_optional_and_never_breaks_a_search(client, monkeypatch):
    calls = []
    fake = types.ModuleType("qabase.search.gaps")
    fake.record_if_gap = lambda kb, result: calls.append((kb, result.query))
    monkeypatch.setitem(sys.modules, "qabase.search.gaps", fake)
    assert client.get("/search", params={"q": "终本"}).status_code == 200
    assert calls and calls[0][1] == "终本"

    def boom(kb, result):
        raise RuntimeError("disk full")

    fake.record_if_gap = boom
    assert client.get("/search", params={"q": "终本"}).status_code == 200
    assert client.get("/api/search", params={"q": "终本"}).status_code == 200

    monkeypatch.setitem(sys.modules, "qabase.search.gaps", None)  # as if gaps.py were not installed
    assert result_ids(client.get("/search", params={"q": "老赖拒执"}).text)[0] == "pl-001"


# -- the serve command ---------------------------------------------------------------------
def _start_serve(kbroot, *extra):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "qabase", "--root", str(kbroot), "serve", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8", env=env)
    lines = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        m = re.search(r"http://([\d.]+):(\d+)/", line)
        if m:
            lines.append(proc.stdout.readline())
            return proc, f"http://{m[1]}:{m[2]}", "".join(lines)
    proc.kill()
    raise AssertionError("qabase serve did not start: " + "".join(lines) + proc.stderr.read())


def test_serve_binds_loopback_and_says_so(kbroot):
    proc, base, said = _start_serve(kbroot, "--port", "0")
    try:
        assert base.startswith("http://127.0.0.1:")
        assert "只接受本机访问" in said
        with urllib.request.urlopen(base + "/search?q=" + quote("老赖拒执"), timeout=30) as r:
            page = r.read().decode("utf-8")
        assert result_ids(page)[0] == "pl-001"
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0


def test_serve_port_in_use_is_a_clear_error(kbroot):
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen(1)
        port = blocker.getsockname()[1]
        r = subprocess.run([sys.executable, "-m", "qabase", "--root", str(kbroot), "serve", "--port", str(port)],
                           capture_output=True, text=True, encoding="utf-8", timeout=60)
    assert r.returncode == 1
    assert f"错误：无法在 127.0.0.1:{port} 上启动" in r.stderr and "--port" in r.stderr


def test_search_command_does_not_import_the_web_stack():
    code = ("import sys, qabase.cli; "
            "print(sorted(m for m in ('starlette', 'uvicorn', 'qabase.web') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_templates_and_static_are_package_data():
    text = (Path(__file__).resolve().parent.parent / "pyproject.toml").read_text(encoding="utf-8")
    assert '"templates/*.html"' in text and '"static/*"' in text
