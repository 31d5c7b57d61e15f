"""``qabase serve``: pages rendered on the server and a JSON API, over the same Python API as the CLI.

Starlette (not FastAPI) because qabase needs only routing, a test client and static files:
Starlette brings no pydantic, and its lack of generated docs means no page that loads
scripts from a CDN. The OpenAPI document is written out below, next to the code it describes.

Safety rules kept here:
- read-only: only GET/HEAD routes; nothing under ``qa_entries/`` is ever written;
- every piece of entry text goes through Jinja2 autoescaping; the only HTML marked safe is
  ``render.to_html`` output (which escapes raw HTML itself) and the ids linked into it;
- ids are checked against the id pattern before anything touches the disk;
- queries longer than MAX_QUERY_CHARS get a 400 that says so;
- a rebuild of the index underneath a request is waited for or retried, never surfaced.

What the search page says is what ``qabase search`` says: the typo correction and its link,
what was searched in the knowledge base's own words, the search's confidence (never a raw
score), and for a flagged search the plain warning, where to report the question
(``report_to`` in kb/config.yaml) and, with a statutes directory, the closest articles.
"""
from __future__ import annotations

import html
import logging
import re
import socket
import threading
import time
from pathlib import Path
from urllib.parse import quote, urlencode

from jinja2 import Environment, FileSystemLoader
from markupsafe import Markup
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from .api import _ID_RE, SCHEMA_VERSION, KnowledgeBase, SearchResult
from .content.entries import scan_entry_files
from .errors import (BadId, EntryNotFound, IndexBusy, IndexUnavailable, QabaseError, UnknownTopic)
from .content.render import to_html
from .search.retrieve import snippet

log = logging.getLogger("qabase.web")

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"

MAX_QUERY_CHARS = 500      # longer queries get a 400 (the analyser reads only the first 200 anyway)
PAGE_RESULTS = 20          # results per page of the search page
MAX_PAGE = 25              # pages offered (500 results; the shipped knowledge base has a few hundred entries)
RELATED_LIMIT = 5          # related entries per result and on the entry page, as ``qabase show``
LAW_HITS = 5               # articles listed under a flagged search, as ``qabase search``
API_MAX_LIMIT = 100        # same bound as ``qabase search --limit``
SEARCH_ATTEMPTS = 4        # tries when the index changes under a search (waits 0.1 + 0.2 + 0.3 s)
LOAD_ATTEMPTS = 5          # re-reads of the entry files while an editor is still saving them
_LOOSE_ID = re.compile(r"^[A-Za-z]+-\d{3,}$")
_ID_IN_TEXT = re.compile(r"(?<![A-Za-z0-9-])([a-z]+-\d{3,})(?![A-Za-z0-9-])")

# The same words as the terminal (cli's FLAGGED_TEXT and CONFIDENCE_TEXT); kept here because
# the page never imports the CLI.
FLAGGED_TEXT = {
    "low": ("把握不大", "知识库中可能没有直接回答这个问题的条目。"),
    "none": ("没有把握", "知识库中很可能没有回答这个问题的条目。"),
}
CONFIDENCE_TEXT = {"high": "较有把握", "low": "把握不大", "none": "没有把握"}
DEFAULT_REPORT_TO = "请把问题告诉知识库的编写组（可在 kb/config.yaml 的 report_to 中写明联系方式）。"
_CONTACT = re.compile(r"(?P<url>https?://[^\s，。；、）)<>\"']+)|(?P<mail>[\w.+-]+@[\w-]+(?:\.[\w-]+)+)")

SECURITY_HEADERS = [
    # No page needs a script; styles and images come only from qabase itself.
    (b"content-security-policy", b"default-src 'none'; style-src 'self'; img-src 'self'; "
                                 b"form-action 'self'; base-uri 'none'; frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]


class BadRequest(QabaseError):
    """A request parameter is malformed; its text is shown to the judge as is."""

    def __init__(self, message: str, code: str = "bad_request"):
        super().__init__(message)
        self.code = code


# -- the knowledge base as the web layer sees it ----------------------------------------------
class WebKB:
    """A KnowledgeBase shared by all requests: entries cached by file state, searches taking
    turns on the shared index reader and retried a few times if the index changed under them."""

    def __init__(self, kbase: KnowledgeBase, statutes=None):
        self.kbase = kbase
        self.library = _statute_library(kbase, statutes)
        self._load_lock = threading.Lock()
        self._search_lock = threading.Lock()
        self._law_lock = threading.Lock()
        self._loaded = None
        self._signature = None
        self._related: dict[str, list[dict]] = {}
        self._related_signature = None
        self._article_terms = None

    @property
    def kb(self):
        return self.kbase.kb

    def warm(self) -> str | None:
        """Open (or build) the index and read the entries before the first judge waits for them."""
        why = self.search("交叉执行", limit=1, log_gap=False).rebuilt
        self.loaded()
        if self.library is not None:
            try:
                self.library.statutes  # parses every file once
            except Exception:  # noqa: BLE001
                log.warning("读取法规原文目录失败，条目页只显示引用", exc_info=True)
                self.library = None
        return why

    def loaded(self):
        """``kbase.load_entries()``, re-read only when an entry file's size or mtime changed."""
        sig = self._file_signature()
        if sig == self._signature and self._loaded is not None:
            return self._loaded
        with self._load_lock:
            # An editor saving in place truncates the file before writing it: a read that
            # overlapped a save would cache a half-written entry (a 404 for a live entry), so
            # the read counts only if no file changed while it ran.
            for _ in range(LOAD_ATTEMPTS):
                if sig == self._signature and self._loaded is not None:
                    break
                loaded = self.kbase.load_entries()
                after = self._file_signature()
                if after == sig:
                    self._loaded, self._signature = loaded, sig
                    break
                self._loaded, sig = loaded, after  # served if the files never settle
                time.sleep(0.02)
            return self._loaded

    def _file_signature(self):
        return tuple(scan_entry_files(self.kb))

    def search(self, query: str, log_gap: bool = True, **kwargs) -> SearchResult:
        # KnowledgeBase keeps one open reader and swaps it when the index changes, which is
        # not safe while another thread still reads it: searches take turns. They are pure
        # Python under the GIL, so taking turns costs next to nothing.
        for attempt in range(1, SEARCH_ATTEMPTS + 1):
            try:
                with self._search_lock:
                    result = self.kbase.search(query, **kwargs)
                break
            except UnknownTopic:
                raise
            except Exception as e:  # noqa: BLE001 - a generation removed mid-read looks like anything
                # IndexBusy/IndexUnavailable also mean "another process is switching generations
                # right now": worth a short wait before the judge sees a 503.
                if attempt == SEARCH_ATTEMPTS:
                    raise
                log.warning("检索时索引发生变化（%s），稍后重试", type(e).__name__)
                time.sleep(0.1 * attempt)
        if result.rebuilt:
            log.info("%s", result.rebuilt)
        if log_gap:
            record_gap(self.kbase, result)
        return result

    def related(self, entry_ids, limit: int = RELATED_LIMIT) -> dict[str, list[dict]]:
        """``kbase.related`` (what ``qabase show`` lists) for each id, remembered until an entry
        file or the published record changes: each call reads every stored entry, too slow for
        twenty results a page."""
        self.loaded()
        key = (self._signature, _stat_key(self.kb.kb_dir / "published.json"))  # edits, publications
        out = {}
        with self._search_lock:  # related() reads the shared index reader, as searches do
            if self._related_signature != key:
                self._related, self._related_signature = {}, key
            for entry_id in entry_ids:
                if entry_id not in self._related:
                    try:
                        self._related[entry_id] = self.kbase.related(entry_id, limit=RELATED_LIMIT)
                    except Exception:  # noqa: BLE001 - related entries are a convenience
                        log.warning("查找相关条目失败", exc_info=True)
                        out[entry_id] = []
                        continue
                out[entry_id] = self._related[entry_id][:limit]
        return out

    def law_hits(self, query: str) -> list[dict] | None:
        """The articles ``qabase search`` lists under a flagged search (content.laws.search_articles);
        None without a statutes directory, or if the lookup fails."""
        if self.library is None:
            return None
        try:
            from .content.laws import search_articles

            with self._law_lock:
                if self._article_terms is None:
                    self._article_terms = _RememberedCuts(self.kbase.segmenter)
                return search_articles(self.library, self.kbase.analyzer.analyse(query), self._article_terms,
                                       LAW_HITS)
        except Exception:  # noqa: BLE001 - the entries are the answer; the articles an extra
            log.warning("检索法规原文失败", exc_info=True)
            return None

    def report_to(self) -> str:
        return str(self.kb.settings.get("report_to") or "").strip() or DEFAULT_REPORT_TO

    def entry(self, entry_id: str):
        """Same answers as ``kbase.get`` (BadId, EntryNotFound), from the cached entries."""
        from .api import check_id, find_entry

        check_id(entry_id)
        return find_entry(self.loaded(), entry_id)

    def published(self, topic: str | None = None, batch: int | None = None):
        out = [e for e in self.loaded().entries if e.status == "published"
               and (topic is None or e.topic == topic) and (batch is None or e.batch == batch)]
        return sorted(out, key=_entry_order)

    def topic_rows(self) -> list[dict]:
        entries = self.published()
        return [{"slug": t.slug, "name": t.name, "description": t.description,
                 "count": sum(1 for e in entries if e.topic == t.slug)} for t in self.kb.topics]

    def batches(self) -> list[tuple[int, int]]:
        counts: dict[int, int] = {}
        for e in self.published():
            if e.batch:
                counts[e.batch] = counts.get(e.batch, 0) + 1
        return sorted(counts.items())


def _stat_key(path: Path):
    try:
        st = path.stat()
        return st.st_size, st.st_mtime_ns
    except OSError:
        return None


class _RememberedCuts:
    """The segmenter as search_articles uses it (``terms``), remembering each article's cut:
    search_articles cuts every article of the library on every call."""

    def __init__(self, segmenter):
        self.segmenter = segmenter
        self.cuts: dict[str, list[str]] = {}

    def terms(self, text: str) -> list[str]:
        cut = self.cuts.get(text)
        if cut is None:
            cut = self.cuts[text] = self.segmenter.terms(text)
        return cut


def _statute_library(kbase, explicit):
    try:
        from .content.laws import StatuteLibrary, statutes_dir

        d = statutes_dir(kbase.kb, explicit)
        return StatuteLibrary(d) if d else None
    except Exception:  # noqa: BLE001
        log.warning("法规原文目录不可用", exc_info=True)
        return None


def _entry_order(e):
    prefix, _, number = e.id.partition("-")
    return (prefix, int(number) if number.isdigit() else 0)


def record_gap(kbase, result) -> None:
    """Hand the search to the gaps log (qabase.search.gaps) if this installation has one.

    The gaps module decides what counts as a gap (confidence, opt-out); the web only reports
    every search to it, and a failure there never costs the judge the answer."""
    try:
        from .search.gaps import record_if_gap
    except ImportError:
        return
    try:
        record_if_gap(kbase, result)
    except Exception:  # noqa: BLE001
        log.warning("写入检索缺口记录失败", exc_info=True)


def cited_articles(web: WebKB, entry) -> list[dict]:
    """One ``{"citation", "status", "text"}`` per legal_basis item, for the entry page.

    ``text`` is the article's text when a statute library is configured (``--statutes``,
    ``QABASE_STATUTES`` or ``statutes:`` in kb/config.yaml) and holds it; otherwise None and the
    page shows the citation alone. The lookup is qabase.content.laws.cited_articles; anything going
    wrong there costs the page the article texts, never the answer."""
    plain = [{"citation": c, "status": None, "text": None} for c in entry.legal_basis]
    try:
        from .content.laws import cited_articles as lookup

        rows = lookup(web.kbase.catalogue, entry.citations, web.library)
    except Exception:  # noqa: BLE001
        log.warning("查找条文原文失败", exc_info=True)
        return plain
    if len(rows) != len(entry.legal_basis):
        return plain
    return [{"citation": written, "status": r.get("status"), "text": r.get("text")}
            for written, r in zip(entry.legal_basis, rows)]


# -- JSON shapes (the same as the CLI's --json) -------------------------------------------
def entry_json(web: WebKB, e) -> dict:
    """Exactly ``qabase show ID --json`` (tests compare the two)."""
    return web.kbase.entry_dict(e, web.library)


# -- request parameters ------------------------------------------------------------------
def _query(request: Request) -> str:
    q = request.query_params.get("q", "")
    if len(q) > MAX_QUERY_CHARS:
        raise BadRequest(f"查询太长（{len(q)} 个字）。请把问题缩短到 {MAX_QUERY_CHARS} 个字以内再检索。",
                         "query_too_long")
    return q


def _int_param(request: Request, name: str, label: str, lo: int, hi: int | None = None) -> int | None:
    raw = (request.query_params.get(name) or "").strip()
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 9:
        raise BadRequest(f"{label}应为正整数，收到的是：{raw[:20]}")
    value = int(raw)
    if value < lo or (hi is not None and value > hi):
        raise BadRequest(f"{label}应在 {lo} 到 {hi} 之间。" if hi else f"{label}至少为 {lo}。")
    return value


def _bool_param(request: Request, name: str) -> bool:
    raw = (request.query_params.get(name) or "").strip().lower()
    if raw in ("", "0", "false", "no"):
        return False
    if raw in ("1", "true", "yes"):
        return True
    raise BadRequest(f"{name} 应为 true 或 false。")


def _filters(request: Request) -> dict:
    topic = (request.query_params.get("topic") or "").strip() or None
    tag = (request.query_params.get("tag") or "").strip() or None
    if tag and len(tag) > 50:
        raise BadRequest("标签太长。")
    return {"topic": topic, "tag": tag, "batch": _int_param(request, "batch", "批次", 1)}


def _check_id(entry_id: str) -> str:
    # Reject before anything reads the disk; "../x", "a/b" and "%00" all fail this pattern.
    if not _LOOSE_ID.match(entry_id or ""):
        raise BadId(f"编号格式不对：{(entry_id or '')[:40]!r}（应为专题前缀加数字，如 dis-001）")
    return entry_id.lower()


# -- pages -------------------------------------------------------------------------------
class Pages:
    def __init__(self, web: WebKB):
        self.web = web
        self.env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=True,
                               trim_blocks=True, lstrip_blocks=True)
        self.env.globals["topic_name"] = self._topic_name
        self.env.filters["marked"] = _marked
        self.env.filters["book_title"] = book_title
        self.env.globals["max_query"] = MAX_QUERY_CHARS

    def _topic_name(self, slug):
        t = self.web.kb.find_topic(slug)
        return t.name if t else slug

    def render(self, request: Request, name: str, status: int = 200, **ctx) -> HTMLResponse:
        ctx.setdefault("q", "")
        ctx.setdefault("topic", "")
        ctx.update(root=request.scope.get("root_path", ""), topics=self.web.kb.topics,
                   notice=self.web.kb.notice, publisher=self.web.kb.publisher)
        return HTMLResponse(self.env.get_template(name).render(**ctx), status_code=status)

    # routes
    def home(self, request: Request):
        return self.render(request, "home.html", topic_rows=self.web.topic_rows(), batches=self.web.batches(),
                           autofocus=True)

    def search(self, request: Request):
        q = request.query_params.get("q", "")
        topic = (request.query_params.get("topic") or "").strip()
        try:
            q = _query(request)
            filters = _filters(request)
            page = _int_param(request, "page", "页码", 1, MAX_PAGE) or 1
        except BadRequest as e:
            return self.render(request, "search.html", status=400, q=q[:MAX_QUERY_CHARS], topic=topic,
                               error=str(e), result=None)
        if not q.strip():
            return self.render(request, "home.html", q=q, topic=topic, topic_rows=self.web.topic_rows(),
                               batches=self.web.batches(), prompt=True)
        try:
            result, found, complete = self._search_pages(q, page, filters)
        except UnknownTopic as e:
            return self.render(request, "search.html", status=400, q=q, topic=topic, error=str(e), result=None)
        t = self.web.kb.find_topic(topic)
        base = {"q": q, **{k: v for k, v in filters.items() if v is not None and k != "topic"}}
        here = {**base, **({"topic": t.slug} if t else {})}
        chips = [{"name": "全部专题", "href": "search?" + urlencode(base), "on": t is None}]
        chips += [{"name": x.name, "href": "search?" + urlencode({**base, "topic": x.slug}),
                   "on": t is not None and t.slug == x.slug} for x in self.web.kb.topics]
        reach = len(found) if complete else min(result.total, MAX_PAGE * PAGE_RESULTS)
        pages = max(1, -(-reach // PAGE_RESULTS))
        first = (page - 1) * PAGE_RESULTS
        shown = found[first:first + PAGE_RESULTS]
        related = self.web.related([h.id for h in shown])
        # Titles light up the words the answer snippets light up (search.retrieve.run).
        marks = [t["text"] for t in result.searched_terms if t.get("origin") not in ("part", "character", "bigram")]
        hits = [{"hit": h, "related": related.get(h.id, []),
                 "title": snippet(h.question, marks or result.searched_as, width=10 ** 6)} for h in shown]
        # A flagged search leaves the judge with the law itself where statutes are configured.
        laws = self.web.law_hits(q) if result.flagged and result.searched_as and page == 1 else None
        corrected = None
        if result.corrections and result.did_you_mean:
            corrected = {"from_to": [(c["from"], c["to"]) for c in result.corrections],
                         "query": result.did_you_mean,
                         "href": "search?" + urlencode({**here, "q": result.did_you_mean})}
        ctx = dict(q=q, topic=t.slug if t else "", result=result, hits=hits, chips=chips, filters=filters,
                   page=page, pages=pages, first=first, pager=_pager(here, page, pages), corrected=corrected,
                   shown_as=shown_terms(result), sure=CONFIDENCE_TEXT.get(result.confidence, ""),
                   flagged=FLAGGED_TEXT.get(result.confidence) if result.flagged else None,
                   report_to=_contact(self.web.report_to(), q), laws=laws,
                   suggestions=[s for s in result.suggestions if "qabase " not in s])
        if page > pages:
            # An old link to a page the results no longer reach: say so, offer the last page.
            return self.render(request, "search.html", status=404, past_end=True,
                               last_href="search?" + urlencode({**here, **({"page": pages} if pages > 1 else {})}),
                               **ctx)
        return self.render(request, "search.html", **ctx)

    def _search_pages(self, q: str, page: int, filters: dict):
        """(the search as ``qabase search`` runs it, its hits far enough for ``page``, whether
        those are all the hits the pages reach).

        The first DEPTH hits come from a search of at most DEPTH results, which reranks the
        same candidates as the terminal's and /api/search's default: the same order and the same
        confidence. Deeper pages append the rest of one search for every page offered, so that
        every page slices the same list. Only the first page counts for the gaps log."""
        from .search.rerank import DEPTH

        need = page * PAGE_RESULTS
        result = self.web.search(q, limit=min(need, DEPTH), log_gap=page == 1, **filters)
        found = list(result.results)
        complete = len(found) >= result.total
        if need > DEPTH and not complete:
            deeper = self.web.search(q, limit=MAX_PAGE * PAGE_RESULTS, log_gap=False, **filters)
            seen = {h.id for h in found}
            found += [h for h in deeper.results if h.id not in seen]
            complete = True
        return result, found, complete

    def entry(self, request: Request):
        e = self.web.entry(_check_id(request.path_params["entry_id"]))
        answer = _link_ids(to_html(e.answer), {x.id for x in self.web.loaded().entries}, e.id)
        return self.render(request, "entry.html", e=e, answer=answer,
                           articles=cited_articles(self.web, e), related=self.web.related([e.id])[e.id],
                           topic_obj=self.web.kb.find_topic(e.topic))

    def topic_page(self, request: Request):
        value = request.path_params["slug"]
        t = self.web.kb.find_topic(value)
        if t is None:
            raise HTTPException(404, f"没有这个专题：{value[:40]}")
        return self.render(request, "listing.html", heading=t.name, description=t.description,
                           kind="topic", topic=t.slug, groups=[(None, self.web.published(topic=t.slug))])

    def batch_page(self, request: Request):
        raw = request.path_params["n"]
        if not raw.isdigit() or len(raw) > 9 or int(raw) < 1:
            raise BadRequest(f"批次应为正整数，收到的是：{raw[:20]}")
        n = int(raw)
        entries = self.web.published(batch=n)
        if not entries:
            raise HTTPException(404, f"第{n}批没有已发布的条目。")
        groups = [(t, [e for e in entries if e.topic == t.slug]) for t in self.web.kb.topics]
        return self.render(request, "listing.html", heading=f"第{n}批", kind="batch",
                           description=f"第{n}批发布的条目，共 {len(entries)} 条。",
                           groups=[(t, es) for t, es in groups if es])


def shown_terms(result: SearchResult) -> list[str]:
    """What was searched, in the knowledge base's own words: ``searched_as``, except that a
    typed colloquial word (one the colloquial lexicon expands, such as 老赖) is shown as the
    first term the lexicon searched for it (被执行人). Slang is never shown as a search term."""
    means: dict[str, str] = {}
    for t in result.searched_terms:
        if t.get("origin") == "lexicon" and t.get("from"):
            means.setdefault(t["from"], t["text"])
    out: list[str] = []
    for word in result.searched_as:
        word = means.get(word, word)
        if word not in out:
            out.append(word)
    return out


def _pager(params: dict, page: int, pages: int) -> list[dict]:
    """Links of the pager: previous, page numbers (a window around this page), next."""
    if pages <= 1:
        return []

    def href(n):
        return "search?" + urlencode({**params, **({"page": n} if n > 1 else {})})

    numbers = sorted({1, pages, *range(max(1, page - 2), min(pages, page + 2) + 1)})
    out = []
    if page > 1:
        out.append({"label": "上一页", "href": href(min(page, pages + 1) - 1), "rel": "prev"})
    last = 0
    for n in numbers:
        if n > last + 1:
            out.append({"label": "…", "href": None})
        out.append({"label": str(n), "href": href(n), "current": n == page})
        last = n
    if page < pages:
        out.append({"label": "下一页", "href": href(page + 1), "rel": "next"})
    return out


def _contact(text: str, query: str) -> Markup:
    """``report_to`` as escaped HTML, its e-mail addresses and web addresses made links (an
    e-mail link carries the question as its subject)."""
    out, at = [], 0
    for m in _CONTACT.finditer(text):
        out.append(html.escape(text[at:m.start()]))
        if m.group("mail"):
            target = f"mailto:{m.group('mail')}?subject=" + quote(f"知识库没有回答的问题：{query[:100]}")
        else:
            target = m.group("url")
        out.append(f'<a href="{html.escape(target, quote=True)}">{html.escape(m.group(0))}</a>')
        at = m.end()
    out.append(html.escape(text[at:]))
    return Markup("".join(out))


def book_title(title: str) -> str:
    """《title》, a title named inside it in 〈〉 as in the entries' legal_basis."""
    inner = str(title or "").strip().strip("《》").replace("《", "〈").replace("》", "〉")
    return f"《{inner}》"


def _for_browser(message: str) -> str:
    """An error's text without its terminal advice ("可用 qabase list 查看…"): the page links instead."""
    kept = [s for s in re.split(r"(?<=。)", message or "") if s and "qabase " not in s]
    return "".join(kept).strip() or message


def _marked(runs) -> str:
    """``{text, match}`` runs as escaped HTML with matches in <mark>."""
    out = []
    for r in runs or ():
        text = html.escape(str(r.get("text", "")), quote=True)
        out.append(f"<mark>{text}</mark>" if r.get("match") else text)
    return Markup("".join(out))


def _link_ids(fragment: str, known: set[str], own: str) -> str:
    """Turn mentions of other entries ("见dis-002") into links, in text only, never inside a tag."""
    parts = re.split(r"(<[^>]*>)", fragment)
    inside_a = False
    for i, part in enumerate(parts):
        if part.startswith("<"):
            if re.match(r"<a\b", part):
                inside_a = True
            elif part.startswith("</a"):
                inside_a = False
            continue
        if not inside_a:
            parts[i] = _ID_IN_TEXT.sub(
                lambda m: f'<a href="{m[1]}">{m[1]}</a>' if m[1] in known and m[1] != own else m[0], part)
    return "".join(parts)


# -- JSON API ------------------------------------------------------------------------------
class Api:
    def __init__(self, web: WebKB):
        self.web = web

    def search(self, request: Request):
        q = _query(request)
        filters = _filters(request)
        limit = _int_param(request, "limit", "limit", 1, API_MAX_LIMIT) or 10
        result = self.web.search(q, limit=limit, all_status=_bool_param(request, "all_status"),
                                 log_gap=not _bool_param(request, "no_log"), **filters)
        return JSONResponse(result.to_dict(self.web.kb))

    def entry(self, request: Request):
        e = self.web.entry(_check_id(request.path_params["entry_id"]))
        return JSONResponse(entry_json(self.web, e))

    def topics(self, request: Request):
        return JSONResponse({"schema_version": SCHEMA_VERSION, "topics": self.web.kbase.topic_counts()})

    def openapi(self, request: Request):
        return JSONResponse(openapi_document())


def _error_json(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


_STATUS_OF = [(BadRequest, 400, "bad_request"), (BadId, 400, "bad_id"), (UnknownTopic, 400, "unknown_topic"),
              (EntryNotFound, 404, "not_found"), (IndexBusy, 503, "index_busy"),
              (IndexUnavailable, 503, "index_unavailable")]


def _classify(exc: Exception) -> tuple[int, str]:
    for cls, status, code in _STATUS_OF:
        if isinstance(exc, cls):
            return status, getattr(exc, "code", code) if cls is BadRequest else code
    return 500, "internal_error"


# -- the application -----------------------------------------------------------------------
class SecurityHeaders:
    """Adds the headers in SECURITY_HEADERS to every response (pure ASGI: no per-request task)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [
                    (k, v) for k, v in SECURITY_HEADERS if k not in names]
            await send(message)

        return await self.app(scope, receive, send_with_headers)


def create_app(kbase: KnowledgeBase | None = None, *, root=None, index_dir=None, statutes=None,
               warm: bool = True):
    """The ASGI application. ``kbase`` defaults to ``open_kb(root, index_dir)``; ``statutes`` is a
    statute directory for article texts on entry pages (default: as ``qabase law`` finds it)."""
    if kbase is None:
        from .api import open_kb

        kbase = open_kb(root, index_dir)
    web = WebKB(kbase, statutes)
    if warm:
        web.warm()
    pages, api = Pages(web), Api(web)

    def is_api(request: Request) -> bool:
        return request.url.path.startswith("/api/") or request.url.path == "/openapi.json"

    async def on_error(request: Request, exc: Exception):
        if isinstance(exc, HTTPException):
            status, code, message = exc.status_code, "http_error", exc.detail
            if status == 404 and message in (None, "", "Not Found"):
                message = "没有这个页面。"
            elif status == 405:
                message = "本服务只读，只接受 GET 请求。"
        else:
            status, code = _classify(exc)
            message = str(exc) if status < 500 else "服务器内部错误，请稍后再试；如果反复出现，请告诉管理员。"
            if status >= 500:
                log.error("请求 %s 出错", request.url.path, exc_info=exc)
        if is_api(request):
            resp = _error_json(status, code, message)
        else:
            resp = pages.render(request, "error.html", status=status, message=_for_browser(message),
                                status_code=status)
        if isinstance(exc, HTTPException) and exc.headers:
            resp.headers.update(exc.headers)
        return resp

    routes = [
        Route("/", pages.home, methods=["GET"]),
        Route("/search", pages.search, methods=["GET"]),
        Route("/entry/{entry_id:path}", pages.entry, methods=["GET"]),
        Route("/topic/{slug:path}", pages.topic_page, methods=["GET"]),
        Route("/batch/{n:path}", pages.batch_page, methods=["GET"]),
        Route("/api/search", api.search, methods=["GET"]),
        Route("/api/entries/{entry_id:path}", api.entry, methods=["GET"]),
        Route("/api/topics", api.topics, methods=["GET"]),
        Route("/openapi.json", api.openapi, methods=["GET"]),
        Mount("/static", app=StaticFiles(directory=str(STATIC)), name="static"),
    ]
    handlers = {HTTPException: on_error, QabaseError: on_error, Exception: on_error}
    app = Starlette(routes=routes, exception_handlers=handlers)
    app.state.web = web
    wrapped = SecurityHeaders(app)
    wrapped.web = web
    return wrapped


# -- serving -------------------------------------------------------------------------------
LOOPBACK = ("127.0.0.1", "::1", "localhost")


def bind(host: str, port: int) -> socket.socket:
    """A listening socket, so that a port in use is a clear error before anything starts."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as e:
        raise QabaseError(f"无法解析地址 {host}：{e.strerror or e}") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as e:
        sock.close()
        raise QabaseError(f"无法在 {host}:{port} 上启动：{e.strerror or e}。"
                          "端口可能已被占用，可用 --port 换一个端口。") from None
    # Listening now means a browser opened right after the start-up message waits in the
    # backlog instead of being refused while uvicorn is still starting.
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def serve(kbase: KnowledgeBase, host: str = "127.0.0.1", port: int = 8000, *, statutes=None,
          say=print) -> None:
    """Run the web page until Ctrl+C; ``say`` prints the start-up lines."""
    import uvicorn

    sock = bind(host, port)
    actual = sock.getsockname()[1]
    say("正在准备索引和条目…")
    app = create_app(kbase, statutes=statutes)
    if app.web.library is None:
        say("（未配置法规原文目录：条目页只显示引用，不显示条文原文。）")
    shown = f"[{host}]" if ":" in host else host
    say(f"qabase 网页版已启动：http://{shown}:{actual}/")
    if host in LOOPBACK:
        say(f"只接受本机访问（{host}）。要让其他计算机访问，请加 --host 0.0.0.0（先确认符合本单位的网络安全要求）。")
    else:
        say(f"注意：已绑定到 {host}，同一网络中的其他计算机都可以访问本页面。")
    say("本服务只读，不会修改任何条目。按 Ctrl+C 停止。")
    config = uvicorn.Config(app, log_level="warning", access_log=False, server_header=False,
                            proxy_headers=False, lifespan="off", timeout_graceful_shutdown=5)
    server = uvicorn.Server(config)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()


# -- OpenAPI ----------------------------------------------------------------------------
def openapi_document() -> dict:
    """The JSON API, described by hand; tests check it against real responses."""
    s = lambda t, **kw: {"type": t, **kw}  # noqa: E731
    nullable = lambda t, **kw: {"type": [t, "null"], **kw}  # noqa: E731

    def obj(props):
        return s("object", properties=props, required=list(props))

    topic_ref = {"$ref": "#/components/schemas/TopicRef"}
    error = {"description": "错误", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    q_params = [
        {"name": "q", "in": "query", "required": True, "description": f"问题，最多 {MAX_QUERY_CHARS} 字",
         "schema": s("string", maxLength=MAX_QUERY_CHARS)},
        {"name": "topic", "in": "query", "description": "专题 slug 或中文名", "schema": s("string")},
        {"name": "tag", "in": "query", "description": "标签", "schema": s("string")},
        {"name": "batch", "in": "query", "description": "批次", "schema": s("integer", minimum=1)},
        {"name": "limit", "in": "query", "description": "最多返回几条", "schema": s("integer", minimum=1,
                                                                                 maximum=API_MAX_LIMIT, default=10)},
        {"name": "all_status", "in": "query", "description": "也查草稿、待审和已撤回的条目",
         "schema": s("boolean", default=False)},
        {"name": "no_log", "in": "query", "description": "不把本次检索记入检索缺口（同 qabase search --no-log）",
         "schema": s("boolean", default=False)},
    ]
    hit_props = {
        "id": s("string"), "topic": topic_ref, "question": s("string"), "score": s("number"),
        "snippet": s("array", items={"$ref": "#/components/schemas/SnippetRun"}),
        "legal_basis": s("array", items=s("string")), "batch": nullable("integer"),
        "status": s("string", enum=["draft", "review", "published", "withdrawn"]),
        "tags": s("array", items=s("string")),
    }
    search_props = {
        "schema_version": s("integer", const=SCHEMA_VERSION), "query": s("string"),
        "searched_as": s("array", items=s("string"), description="检索所用的词，用知识库自己的说法"),
        "searched_terms": s("array", description="实际检索的每个词：权重与来源（query 输入、part 词中词、synonym 同义词、"
                                                 "lexicon 口语词表、correction 改正、character 生词的单字、bigram 字二元组）",
                            items=obj({"text": s("string"), "weight": s("number"), "origin": s("string")})),
        "confidence": s("string", enum=["high", "low", "none"],
                        description="知识库回答这个问题的把握：low 或 none 时应提示可能没有直接回答的条目"),
        "evidence": s("object", description="把握度的依据：coverage、overlap、score"),
        "total": s("integer"), "filters": s("object"),
        "truncated": s("boolean"),
        "skipped": s("array", items=s("object", properties={"path": s("string"), "line": s("integer"),
                                                              "reason": s("string")})),
        "results": s("array", items={"$ref": "#/components/schemas/Hit"}),
        "corrections": s("array", items=obj({"from": s("string"), "to": s("string")})),
        "did_you_mean": nullable("string"),
        "suggestions": s("array", items=s("string")), "notice": s("string"),
    }
    entry_props = {
        "id": s("string"), "topic": topic_ref, "question": s("string"), "status": s("string"),
        "aliases": s("array", items=s("string")), "tags": s("array", items=s("string")),
        "legal_basis": s("array", items=s("string")), "batch": nullable("integer"),
        "updated": nullable("string"), "published": nullable("string"), "version": nullable("integer"),
        "source": nullable("string"), "asked_by": nullable("string"), "answered_by": nullable("string"),
        "reviewed_by": nullable("string"), "reviewed_at": nullable("string"), "superseded_by": nullable("string"),
        "commented_by": nullable("string", description="点评专家（法答网早期批次；只在有点评的条目出现）"),
        "commentary": nullable("string", description="点评意见（只在有点评的条目出现）"),
        "answer": s("string", description="Markdown 原文"), "path": s("string"),
        "articles": s("array", items=obj({"citation": s("string"), "status": nullable("string"),
                                          "text": nullable("string")})),
        "related": s("array", items=obj({"id": s("string"), "topic": s("string"), "question": s("string"),
                                         "score": s("number")})),
        "schema_version": s("integer", const=SCHEMA_VERSION), "notice": s("string"),
    }
    topic_row = {"slug": s("string"), "name": s("string"), "prefix": s("string"), "description": s("string"),
                 "entries": s("integer"), "published": s("integer")}

    return {
        "openapi": "3.1.0",
        "info": {"title": "qabase 交叉执行问答 JSON 接口", "version": str(SCHEMA_VERSION),
                 "description": "只读接口。字段与 `qabase search --json`、`qabase show --json` 相同；"
                                "schema_version 为 1，后续版本只增加字段。"},
        "paths": {
            "/api/search": {"get": {
                "summary": "检索（同 qabase search --json）", "operationId": "search", "parameters": q_params,
                "responses": {"200": {"description": "检索结果", "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/SearchResult"}}}},
                              "400": error, "503": error}}},
            "/api/entries/{id}": {"get": {
                "summary": "条目全文（同 qabase show --json）", "operationId": "show",
                "parameters": [{"name": "id", "in": "path", "required": True,
                                "schema": s("string", pattern=_LOOSE_ID.pattern)}],
                "responses": {"200": {"description": "条目", "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Entry"}}}}, "400": error, "404": error}}},
            "/api/topics": {"get": {
                "summary": "专题及条目数（同 qabase topics --json）", "operationId": "topics",
                "responses": {"200": {"description": "专题", "content": {"application/json": {
                    "schema": obj({"schema_version": s("integer"),
                                   "topics": s("array", items=obj(topic_row))})}}}}}},
        },
        "components": {"schemas": {
            "TopicRef": obj({"slug": s("string"), "name": s("string")}),
            "SnippetRun": obj({"text": s("string"), "match": s("boolean")}),
            "Hit": obj(hit_props),
            "SearchResult": obj(search_props),
            "Entry": s("object", properties=entry_props,
                       required=[k for k in entry_props if k not in ("commented_by", "commentary")]),
            "Error": obj({"error": obj({"code": s("string"), "message": s("string")})}),
        }},
    }
