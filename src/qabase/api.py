"""The Python API that the CLI (and later the web page) is a thin layer over.

>>> kb = open_kb("path/to/kb")                    # doctest: +SKIP
>>> result = kb.search("交叉执行案件怎么结案")       # doctest: +SKIP
>>> result.results[0].id                           # doctest: +SKIP
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .search import index as ix_mod
from .errors import BadId, EntryNotFound, IndexBusy, IndexUnavailable, Problem, QabaseError
from .kb import KB, load_kb
from .search.retrieve import Filters, Hit

SCHEMA_VERSION = 1
MAX_QUERY_INPUT = 10_000
# By default every search checks that the index is fresh (cheap: one stat per entry file);
# a busy long-running process (the web page) may trust its last check for a moment.
FRESHNESS_INTERVAL = 0.0
# A stale index that another process is updating: wait this long for it, then answer from the
# index as it is (a search never fails because a build is running).
BUSY_WAIT = 3.0
# Up to this many changed files are re-analysed with the index vocabulary instead of jieba.
FAST_UPDATE_MAX = 50


@dataclass
class SearchResult:
    query: str
    searched_as: list[str]
    total: int
    results: list[Hit]
    skipped: list[Problem]
    notice: str
    filters: dict = field(default_factory=dict)
    suggestions: list[str] = field(default_factory=list)
    truncated: bool = False
    corrections: list[dict] = field(default_factory=list)
    did_you_mean: str | None = None
    rebuilt: str | None = None  # why the index was (re)built for this search, if it was
    # high | low | none (search.confidence); a search is "flagged" when it is not high.
    confidence: str = "none"
    evidence: dict = field(default_factory=dict)
    searched_terms: list[dict] = field(default_factory=list)
    cited: bool = False  # a citation query answered by entries that cite the article

    @property
    def flagged(self) -> bool:
        return self.confidence != "high"

    def to_dict(self, kb: KB) -> dict:
        return {
            "schema_version": SCHEMA_VERSION,
            "query": self.query,
            "searched_as": self.searched_as,
            "searched_terms": self.searched_terms,
            "total": self.total,
            "confidence": self.confidence,
            "evidence": self.evidence,
            "filters": self.filters,
            "truncated": self.truncated,
            "skipped": [{"path": p.path, "line": p.line, "reason": p.message} for p in self.skipped],
            "results": [hit_dict(kb, h) for h in self.results],
            "corrections": self.corrections,
            "did_you_mean": self.did_you_mean,
            "suggestions": self.suggestions,
            "notice": self.notice,
        }


def hit_dict(kb: KB, h: Hit) -> dict:
    t = kb.find_topic(h.topic)
    return {
        "id": h.id,
        "topic": {"slug": h.topic, "name": t.name if t else h.topic},
        "question": h.question,
        "score": h.score,
        "snippet": h.snippet,
        "legal_basis": h.legal_basis,
        "batch": h.batch,
        "status": h.status,
        "tags": h.tags,
    }


_ID_RE = re.compile(r"^([a-z]+)-(\d{1,9})$")


def check_id(entry_id: str) -> str:
    """The id, normalised: lower case, the number padded to three digits (``fil-03`` and
    ``dis-1`` are fil-003 and dis-001); BadId for anything else (a path such as ``../x``
    never gets further)."""
    entry_id = (entry_id or "").strip().lower()
    m = _ID_RE.match(entry_id)
    if not m:
        raise BadId(f"编号格式不对：{entry_id[:40]!r}（应为专题前缀加数字，如 dis-001）")
    return f"{m.group(1)}-{m.group(2).zfill(3)}"


def find_entry(loaded, entry_id: str):
    """The entry with this id among loaded entries; EntryNotFound says why not. The number
    may carry more leading zeros than the entry's (dis-0001 finds dis-001)."""
    entry_id = check_id(entry_id)
    prefix, _, number = entry_id.partition("-")
    for e in loaded.entries:
        if e.id == entry_id:
            return e
    for e in loaded.entries:
        p, _, n = e.id.partition("-")
        if p == prefix and n.isdigit() and int(n) == int(number):
            return e
    broken = [p for p in loaded.skipped if Path(p.path).stem == entry_id]
    if broken:
        raise EntryNotFound(f"条目 {entry_id} 有错误，无法显示：{broken[0].message}")
    raise EntryNotFound(f"没有编号为 {entry_id} 的条目。可用 qabase list 查看全部条目。")


class KnowledgeBase:
    """One knowledge base: configuration, entries, index and search."""

    def __init__(self, kb: KB, index_dir: Path | str | None = None, engine: str | None = None):
        import os

        self.kb = kb
        self.engine = engine or os.environ.get("QABASE_ENGINE") or str(kb.settings.get("engine") or "whoosh")
        self.freshness_interval = FRESHNESS_INTERVAL
        ix_mod.engine_module(self.engine)  # unknown engine: fail now, in Chinese
        self._live = None
        self._catalogue = None
        self.location = ix_mod.locate(kb.root, index_dir)
        self._segmenter = None
        self._analyzer = None

    @property
    def catalogue(self):
        """kb/instruments.yaml, read on first use (most searches never need it)."""
        if self._catalogue is None:
            from .content.catalogue import load_catalogue

            self._catalogue = load_catalogue(self.kb.kb_dir / "instruments.yaml")
        return self._catalogue

    @property
    def root(self) -> Path:
        return self.kb.root

    @property
    def segmenter(self):
        if self._segmenter is None:
            from .search.segment import Segmenter

            extra = [w for g in self.kb.synonyms for w in g if len(w) >= 2]
            extra += [t.name for t in self.kb.topics]
            self._segmenter = Segmenter(self.kb.userdict, extra)
        return self._segmenter

    @property
    def analyzer(self):
        if self._analyzer is None:
            from .search.segment import QueryAnalyzer

            self._analyzer = QueryAnalyzer(self.segmenter, self.kb.synonyms, self.kb.stopwords, self.catalogue)
        return self._analyzer

    # -- entries -------------------------------------------------------------------------
    def load_entries(self, working: bool = False):
        """Every entry as judges are served it (the text as last published, content.published);
        ``working=True``: the files under qa_entries/ as they stand, for check and publish."""
        from .content.entries import load_entries

        return load_entries(self.kb, served=not working)

    def check(self):
        from .authoring.check import check

        return check(self)

    def get(self, entry_id: str):
        """The entry with this id, read from its file."""
        check_id(entry_id)
        return find_entry(self.load_entries(), entry_id)

    # -- index ---------------------------------------------------------------------------
    def build_index(self, progress=None, lock_wait: float | None = 60.0):
        """Full rebuild into a new generation (what ``qabase index`` does)."""
        from .errors import os_reason

        self._drop_live()
        try:
            return ix_mod.build(self.kb, self.segmenter, self.catalogue, progress=progress,
                                lock_wait=lock_wait, location=self.location, engine=self.engine)
        except OSError as e:  # a full disk: the previous generation stays live
            raise IndexUnavailable(f"无法建立索引（{self.location.path}）：{os_reason(e)}") from None

    def index_status(self) -> tuple[Path | None, dict | None, bool]:
        """(live generation, its manifest, fresh?)"""
        from .content.entries import scan_entry_files

        gen = ix_mod.current_generation(self.location.path)
        manifest = ix_mod.read_manifest(gen) if gen else None
        fresh = (bool(manifest) and ix_mod.compatible(self.kb, manifest, self.engine)
                 and ix_mod.is_fresh(self.kb, gen, manifest, scan_entry_files(self.kb)))
        return gen, manifest, fresh

    def _drop_live(self):
        if self._live is not None:
            try:
                self._live["reader"].close()
            except Exception:
                pass
            self._live = None

    def ensure_index(self, progress=None):
        """The live generation, built or updated first when missing, stale or broken.

        Returns (reader, manifest, query analyzer, why it was rebuilt or None). In a
        long-running process the answer may be reused for ``freshness_interval`` seconds.
        """
        import time

        from .content.entries import scan_entry_files

        live = self._live
        if live is not None and time.monotonic() - live["checked"] < self.freshness_interval:
            return live["reader"], live["manifest"], live["analyzer"], None
        why = None
        for _attempt in range(3):
            gen = ix_mod.current_generation(self.location.path)
            manifest = ix_mod.read_manifest(gen) if gen else None
            if gen is None or manifest is None:
                if gen is not None and ix_mod.current_generation(self.location.path) != gen:
                    continue  # builds elsewhere switched generations and removed this one meanwhile
                why = ix_mod.why_unusable(self.location.path, gen)
                gen, manifest = self._rebuild(progress)
            elif not ix_mod.compatible(self.kb, manifest, self.engine):
                why = "索引的结构、分词配置或检索引擎有变化，已重建"
                gen, manifest = self._rebuild(progress)
            else:
                # Listing and stat-ing every entry file is most of a cold search at tens of
                # thousands of entries, and mostly waiting on the kernel: open the index
                # meanwhile. The opened reader is kept only if nothing changed.
                pending = _in_background(lambda: scan_entry_files(self.kb))
                if self._live is None:
                    try:
                        self._open_live(gen, manifest, None)
                    except Exception:  # noqa: BLE001 - opened (and reported) properly below
                        self._drop_live()
                scan = pending()
                try:
                    changed, deleted, touched = ix_mod.changed_files(self.kb, gen, manifest, scan)
                except ix_mod.IndexCorrupt as e:
                    if ix_mod.current_generation(self.location.path) != gen:
                        continue  # an update elsewhere replaced the table meanwhile
                    changed = deleted = touched = None
                    why = f"{e}，已从条目重建"
                    gen, manifest = self._rebuild(progress)
                if touched:
                    manifest = ix_mod.refresh_state(self.kb, gen, manifest, scan, self.location) or manifest
                if changed or deleted:
                    n = len(changed) + len(deleted)
                    try:
                        if n <= max(1, ix_mod.INCREMENTAL_MAX_SHARE * manifest.get("file_count", 0)):
                            try:
                                done = self._update(gen, manifest, changed, deleted, progress, BUSY_WAIT)
                                why = f"{n} 个条目文件有变动，已更新索引"
                            except ix_mod.IndexCorrupt as e:  # e.g. a crash in the middle of an update
                                done = self._rebuild(progress)
                                why = f"{e}，已从条目重建"
                            if done is None:
                                continue  # another process switched generations meanwhile
                            gen, manifest = done
                        else:
                            why = "条目有较多变动，已重建索引"
                            gen, manifest = self._rebuild(progress, BUSY_WAIT)
                    except IndexBusy:
                        # A long build elsewhere: answer from the index as it is rather than wait.
                        why = "另一个 qabase 进程正在更新索引，本次结果来自更新前的索引"
            try:
                return self._open_live(gen, manifest, why)
            except ix_mod.IndexCorrupt as e:
                latest = ix_mod.current_generation(self.location.path)
                if latest is not None and latest != gen:
                    continue  # another build switched under us
                why = f"{e}，已从条目重建"
                gen, manifest = self._rebuild(progress)
                return self._open_live(gen, manifest, why)
        raise IndexUnavailable("索引在多次尝试中一直被其他进程改动，请稍后再试。")

    def _rebuild(self, progress, lock_wait: float | None = 60.0):
        try:
            return self.build_index(progress=progress, lock_wait=lock_wait)
        except OSError as e:
            raise IndexUnavailable(f"无法建立索引（{self.location.path}）：{e.strerror or e}") from None

    def _update(self, gen, manifest, changed, deleted, progress, lock_wait: float | None = 60.0):
        segmenter = self.segmenter
        if len(changed) <= FAST_UPDATE_MAX:
            # A trainer's edit should show in the next search at once: cut the few changed
            # entries over the index's own vocabulary (jieba's algorithm and frequencies, the
            # same cut queries get) instead of loading jieba's whole dictionary. Words new to
            # the index fall apart into known parts until the next full build.
            try:
                reader = ix_mod.open_generation(gen, manifest.get("engine", "whoosh"))
                try:
                    from .search.segment import VocabSegmenter

                    segmenter = VocabSegmenter.parse(reader.vocab())
                    segmenter.source = (gen, reader.generation)
                finally:
                    reader.close()
            except Exception:
                segmenter = self.segmenter
        self._drop_live()
        try:
            return ix_mod.update(self.kb, segmenter, self.catalogue, gen, manifest, changed, deleted,
                                 progress=progress, location=self.location, lock_wait=lock_wait)
        except (FileNotFoundError, NotADirectoryError) as e:  # a file the generation names is gone
            raise ix_mod.IndexCorrupt(f"索引 {gen.name} 已损坏：缺少文件 {Path(e.filename or '').name}") from None
        except OSError as e:
            from .errors import os_reason

            raise IndexUnavailable(f"无法更新索引（{self.location.path}）：{os_reason(e)}") from None
        except QabaseError:
            raise
        except Exception as e:  # the engine cannot read the generation it is to update
            raise ix_mod.IndexCorrupt(f"索引 {gen.name} 已损坏：{type(e).__name__}") from None

    def _open_live(self, gen, manifest, why):
        import time

        from .search.segment import QueryAnalyzer, VocabSegmenter

        live = self._live
        eng = ix_mod.engine_module(manifest.get("engine", "whoosh"))
        try:
            egen = eng.latest_generation(gen)
        except (OSError, ValueError):
            egen = None
        if live is not None and live["gen"] == gen and live["egen"] == egen:
            live.update(manifest=manifest, checked=time.monotonic())
            return live["reader"], manifest, live["analyzer"], why
        self._drop_live()
        reader = ix_mod.open_generation(gen, manifest.get("engine", "whoosh"))
        try:
            segmenter = VocabSegmenter.parse(reader.vocab())
        except Exception:
            reader.close()
            raise ix_mod.IndexCorrupt(f"索引 {gen} 缺少词表")
        def homophones():
            from .search.pinyin import FILE, Homophones

            try:
                return Homophones((gen / FILE).read_bytes())
            except (OSError, ValueError):
                return None

        from .search import lexicon

        try:
            lex = lexicon.parse((gen / lexicon.SAVED).read_bytes())
        except OSError:
            lex = []  # a generation built before the lexicon existed
        analyzer = QueryAnalyzer(segmenter, self.kb.synonyms, self.kb.stopwords, lambda: self.catalogue,
                                 homophones, lexicon=lex)
        self._live = dict(gen=gen, manifest=manifest, reader=reader, analyzer=analyzer, egen=reader.generation,
                          checked=time.monotonic())
        return reader, manifest, analyzer, why

    def close(self):
        """Release the open index (a KnowledgeBase also works without calling this)."""
        self._drop_live()

    # -- search --------------------------------------------------------------------------
    def search(self, query: str, *, limit: int = 10, topic: str | None = None, tag: str | None = None,
               batch: int | None = None, all_status: bool = False, progress=None) -> SearchResult:
        """Search the knowledge base the way a judge asks.

        :param query: free Chinese text; Whoosh syntax characters are plain text here.
        :param topic: slug or Chinese name.
        :param all_status: include draft, review and withdrawn entries (default: published only).
        """
        from .search import retrieve as s

        query = "" if query is None else str(query)
        truncated = len(query) > MAX_QUERY_INPUT
        query = query[:MAX_QUERY_INPUT]
        t = self.kb.topic(topic) if topic else None
        filters = Filters(topic=t.slug if t else None, tag=tag, batch=batch, all_status=all_status)
        reader, manifest, analyzer, why = self.ensure_index(progress)
        plan = analyzer.analyse(query)
        try:
            total, hits = self._run(s, reader, plan, filters, limit)
        except ix_mod.IndexCorrupt as e:
            self._drop_live()
            _, manifest = self._rebuild(progress)
            reader, manifest, analyzer, _ = self.ensure_index(progress)
            why = f"{e}，已从条目重建"
            plan = analyzer.analyse(query)
            total, hits = self._run(s, reader, plan, filters, limit)
        skipped = [Problem(p["path"], p["line"], p["level"], p["message"]) for p in manifest.get("skipped", [])]
        skipped = self._judges_concern(skipped)
        result = SearchResult(
            query=query, searched_as=plan.searched_as, total=total, results=hits, skipped=skipped,
            notice=self.kb.notice, truncated=truncated or plan.truncated, rebuilt=why,
            filters={k: v for k, v in asdict(filters).items() if v not in (None, False)},
            corrections=list(plan.corrections), did_you_mean=plan.corrected_query,
            searched_terms=plan.searched_terms, evidence=dict(plan.evidence),
        )
        result.cited = bool(plan.citation_labels) and any(
            label in h.legal_basis for h in hits for label in plan.citation_labels)
        result.confidence = "high" if result.cited else self._confidence(plan, hits)
        if not hits:
            result.suggestions = self._suggest(plan, filters)
        return result

    def _confidence(self, plan, hits) -> str:
        from .search.confidence import level, load_cutoffs

        if not hits:
            return "none"
        return level(plan.evidence, load_cutoffs(self.kb, self.engine))

    def _judges_concern(self, skipped: list[Problem]) -> list[Problem]:
        """The broken files a search should mention. Where publication is recorded, a file
        that was never published is a trainer's draft: ``check`` reports it, searches do not
        (a published entry's broken edit never gets here, its published text is served)."""
        from .content.published import published_ids

        if not skipped:
            return skipped
        ids = published_ids(self.kb)
        return [p for p in skipped if Path(p.path).stem in ids] if ids else skipped

    @staticmethod
    def _run(retrieve, reader, plan, filters, limit):
        from .search import index as ix

        try:
            return retrieve.run(reader, plan, filters, limit)
        except Exception as e:
            if type(e).__name__ == "EngineCorrupt":
                raise ix.IndexCorrupt(str(e)) from None
            raise

    def _suggest(self, plan, filters: Filters) -> list[str]:
        out = []
        if plan.empty:
            out.append("请输入要查询的问题，例如：交叉执行案件怎么结案")
        if filters.active:
            out.append("去掉专题、标签或批次筛选后再试")
        words = [t.text for t in plan.terms if t.origin == "query"]
        if len(words) > 1:
            out.append("换成更短的关键词，例如：" + "、".join(words[:3]))
        out.append("按专题浏览：" + "、".join(f"{t.name}（qabase list --topic {t.slug}）" for t in self.kb.topics))
        return out

    def entry_dict(self, e, library=None) -> dict:
        """The whole entry as ``qabase show --json`` and the web API give it."""
        from .content.laws import cited_articles

        data = e.to_dict(self.root)
        t = self.kb.find_topic(e.topic)
        data["topic"] = {"slug": e.topic, "name": t.name if t else e.topic}
        data["articles"] = cited_articles(self.catalogue, e.citations, library)
        data["related"] = self.related(e.id)
        data["schema_version"] = SCHEMA_VERSION
        data["notice"] = self.kb.notice
        return data

    def related(self, entry_id: str, limit: int = 5) -> list[dict]:
        """Up to ``limit`` published entries sharing citations, tags and wording with this one."""
        import re

        reader, _, _, _ = self.ensure_index()
        docs = reader.docs()
        me = next((d for d in docs if d["id"] == entry_id), None)
        if me is None:
            return []

        def grams(text):
            t = re.sub(r"[^\u4e00-\u9fff]", "", text)
            return {t[i:i + 2] for i in range(len(t) - 1)}

        mine_q = grams(me["question"] + "".join(me.get("aliases") or []))
        mine_c, mine_t = set(me.get("legal_basis") or []), set(me.get("tags") or [])
        scored = []
        for d in docs:
            if d["id"] == entry_id or d["status"] != "published":
                continue
            q = grams(d["question"] + "".join(d.get("aliases") or []))
            overlap = len(mine_q & q) / (len(mine_q | q) or 1)
            score = (2.0 * len(mine_c & set(d.get("legal_basis") or []))
                     + 1.5 * len(mine_t & set(d.get("tags") or [])) + 10.0 * overlap)
            if score > 0:
                scored.append((score, d))
        scored.sort(key=lambda x: (-x[0], x[1]["id"]))
        return [{"id": d["id"], "topic": d["topic"], "question": d["question"], "score": round(sc, 3)}
                for sc, d in scored[:limit]]

    def run_queries(self, queries: dict[str, str], k: int = 10) -> tuple[dict, dict]:
        """BEIR-style run over ``queries`` through the same path as search: (run, top scores)."""
        run, top = {}, {}
        for qid, text in queries.items():
            result = self.search(text, limit=k)
            run[qid] = {h.id: h.score for h in result.results}
            top[qid] = result.results[0].score if result.results else 0.0
        return run, top

    def evaluate(self, path: Path | str | None = None, k: int = 10):
        """Score the golden questions (default ``kb/golden.tsv``); returns an evaluate.Report."""
        from .search.evaluate import evaluate, load_golden

        golden = load_golden(Path(path) if path else self.kb.kb_dir / "golden.tsv")
        run, top = self.run_queries(golden.queries, k)
        topics = {e.id: e.topic for e in self.load_entries().entries}
        return evaluate(golden, run, top, topics.get)

    def evaluate_blind(self, directory: Path | str | None = None) -> dict:
        """Score the blind set (default ``kb/blind``): graded metrics (search.blind.report) and
        how confidence flags its queries. Every query is searched as a judge would search it."""
        from .search.blind import load_blind, report

        blind = load_blind(Path(directory) if directory else self.kb.kb_dir / "blind")
        run, flags = {}, {}
        for q, text in blind.queries.items():
            r = self.search(text, limit=10)
            run[q] = {h.id: float(len(r.results) - i) for i, h in enumerate(r.results)}
            flags[q] = r.flagged
        out = report(blind, run)
        full = {q: {e for e, v in blind.grades.get(q, {}).items() if v >= 2} for q in blind.queries}
        unanswerable = [q for q in blind.queries if not full[q]]
        right = [q for q in blind.queries if full[q] and run[q] and max(run[q], key=run[q].get) in full[q]]
        kb_q = [q for q in blind.queries if blind.scopes[q] == "kb"]
        out["confidence"] = {
            "unanswerable": len(unanswerable),
            "unanswerable_flagged": round(sum(flags[q] for q in unanswerable) / len(unanswerable), 3) if unanswerable else None,
            "answered_first": len(right),
            "answered_first_flagged": round(sum(flags[q] for q in right) / len(right), 3) if right else None,
        }
        out["kb_without_full_answer"] = round(sum(1 for q in kb_q if not full[q]) / len(kb_q), 3) if kb_q else None
        out["queries"] = len(blind.queries)
        return out

    def list_entries(self, topic: str | None = None, all_status: bool = True):
        t = self.kb.topic(topic) if topic else None
        loaded = self.load_entries()
        entries = [e for e in loaded.entries if (t is None or e.topic == t.slug)
                   and (all_status or e.status == "published")]
        return entries, loaded

    def topic_counts(self) -> list[dict]:
        loaded = self.load_entries()
        out = []
        for t in self.kb.topics:
            es = [e for e in loaded.entries if e.topic == t.slug]
            out.append({"slug": t.slug, "name": t.name, "prefix": t.prefix, "description": t.description,
                        "entries": len(es), "published": sum(1 for e in es if e.status == "published")})
        return out


def open_kb(root: Path | str | None = None, index_dir: Path | str | None = None,
            engine: str | None = None) -> KnowledgeBase:
    """Open the knowledge base at ``root`` (or found from the current directory).

    :param engine: "whoosh" (default) or "tantivy"; else ``QABASE_ENGINE``, else ``engine:`` in kb/config.yaml.
    """
    return KnowledgeBase(load_kb(root), index_dir, engine)


def search(query: str, root: Path | str | None = None, **kwargs) -> SearchResult:
    """One-shot search: ``qabase.search("终本案件怎么恢复执行")``."""
    return open_kb(root).search(query, **kwargs)


def _in_background(fn):
    """Run ``fn`` in a thread; the returned callable waits for its result (or exception)."""
    import threading

    box: dict = {}

    def run():
        try:
            box["value"] = fn()
        except BaseException as e:  # noqa: BLE001 - re-raised in the caller's thread
            box["error"] = e

    t = threading.Thread(target=run, name="qabase-scan", daemon=True)
    t.start()

    def result():
        t.join()
        if "error" in box:
            raise box["error"]
        return box["value"]
    return result


def load_entries(root: Path | str | None = None):
    return open_kb(root).load_entries()
