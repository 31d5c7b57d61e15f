"""The citation catalogue ``kb/instruments.yaml``: which instruments entries may cite,
their abbreviations, versions and status, and which article numbers exist."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from .citations import Citation, normalise_name

CURRENT = "现行"


@dataclass(frozen=True)
class Instrument:
    id: str
    name: str
    abbr: tuple[str, ...] = ()
    version: str = ""
    issuer: str = ""
    status: str = CURRENT
    superseded_by: str | None = None
    articles: object = None  # None: not catalogued yet; "unknown": text not held; dict: facts
    note: str = ""

    @property
    def is_current(self) -> bool:
        return self.status == CURRENT

    def article_keys(self) -> set[str] | None:
        """Every article that exists, as ``237`` / ``10-1``; None when not known."""
        if not isinstance(self.articles, dict):
            return None
        count = int(self.articles.get("count") or 0)
        keys = {str(i) for i in range(1, count + 1)}
        keys.update(str(x) for x in self.articles.get("extra") or [])
        keys.difference_update(str(x) for x in self.articles.get("missing") or [])
        return keys


@dataclass
class Catalogue:
    instruments: list[Instrument] = field(default_factory=list)

    def by_id(self, iid: str) -> Instrument | None:
        return next((i for i in self.instruments if i.id == iid), None)

    def candidates(self, name: str) -> list[Instrument]:
        """All versions of the instrument called ``name`` (full name or abbreviation)."""
        key = normalise_name(name)
        full = [i for i in self.instruments if normalise_name(i.name) == key]
        if full:
            return full
        return [i for i in self.instruments if key in {normalise_name(a) for a in i.abbr}]

    def resolve(self, citation: Citation) -> Instrument | None:
        """The catalogued version a citation points at: the one named in brackets, else the current one."""
        versions = self.candidates(citation.name)
        if not versions:
            return None
        if citation.version:
            want = _version_key(citation.version)
            for v in versions:
                if _version_key(v.version) == want or (want and want in _version_key(v.version)):
                    return v
            return None
        current = [v for v in versions if v.is_current]
        return (current or versions)[0]

    def names_for_queries(self) -> list[tuple[str, Instrument]]:
        """(name or abbreviation, current instrument), longest first, for spotting citations in queries."""
        out = []
        for inst in self.instruments:
            if not inst.is_current and any(
                o.is_current and normalise_name(o.name) == normalise_name(inst.name) for o in self.instruments
            ):
                continue
            for n in (inst.name, *inst.abbr):
                out.append((normalise_name(n), inst))
        out.sort(key=lambda x: -len(x[0]))
        return out


def _version_key(v: str) -> str:
    return re.sub(r"[年修正订\s（）()]", "", v or "")


UNVERIFIABLE = "无法核验：未收录原文"


def verify(catalogue: Catalogue, citation: Citation) -> list[tuple[str, str]]:
    """Check one citation against the catalogue; [(level, Chinese message)], empty when fine.

    Errors: unknown instrument, unknown version, superseded or repealed text cited as current,
    article that does not exist. Warnings: text not held (``articles: unknown``), validity
    unverified, repealed text cited with its version.
    """
    import difflib

    from .numerals import to_chinese

    versions = self_versions = catalogue.candidates(citation.name)
    if not versions:
        pool = {}
        for i in catalogue.instruments:
            for n in (i.name, *i.abbr):
                pool[normalise_name(n)] = i.name
        close = difflib.get_close_matches(normalise_name(citation.name), list(pool), n=1, cutoff=0.5)
        hint = f"；是不是《{pool[close[0]]}》？" if close else "；请先在 kb/instruments.yaml 中收录该文件"
        return [("error", f"引用目录中没有《{citation.name}》{hint}")]
    inst = catalogue.resolve(citation)
    if inst is None:
        known = "、".join(v.version for v in self_versions if v.version)
        return [("error", f"《{citation.name}》没有“{citation.version}”这个版本（目录收录的版本：{known}）")]
    out = []
    if not inst.is_current:
        successor = catalogue.by_id(inst.superseded_by) if inst.superseded_by else None
        if inst.status == "效力待核实":
            out.append(("warning", f"《{inst.name}》效力待核实，引用前请到官方渠道确认"))
        elif not citation.version:
            now = f"，现行文本是《{successor.name}》（{successor.version}）" if successor else ""
            return [("error", f"《{inst.name}》（{inst.version}）{inst.status}{now}；"
                              "不能作为现行规定引用，确需引用旧文本的，在书名号后注明版本")]
        elif inst.status == "已废止":
            now = f"，现行文本是《{successor.name}》" if successor else ""
            out.append(("warning", f"引用的是已废止的《{inst.name}》（{inst.version}）{now}"))
    if inst.articles == "unknown":
        out.append(("warning", f"{UNVERIFIABLE}（《{inst.name}》），请对照官方文本核对条号"))
        return out
    keys = inst.article_keys()
    if keys is None:
        out.append(("warning", f"{UNVERIFIABLE}（目录中没有《{inst.name}》的条号信息）"))
        return out
    if citation.article_key not in keys:
        count = int(inst.articles.get("count") or 0)
        hint = f"该文件（{inst.version}）共{to_chinese(count)}条" if count else ""
        if citation.sub and str(citation.article) in keys:
            hint += f"，有第{to_chinese(citation.article)}条但没有{citation.article_label}"
        if not citation.version and len(self_versions) > 1:
            hint += "；如引用的是旧版本的条号，请在书名号后注明版本"
        out.append(("error", f"《{inst.name}》没有{citation.article_label}（{hint}）"))
    return out


def citation_key(catalogue: Catalogue, citation: Citation) -> str:
    """Normalised form of a citation for the index: instrument id and article number."""
    inst = catalogue.resolve(citation)
    base = inst.id if inst else normalise_name(citation.name)
    return f"{base}:{citation.article_key}"


def load_catalogue(path: Path) -> Catalogue:
    from .. import yamlsafe

    if not path.exists():
        return Catalogue([])
    data = yamlsafe.load(path.read_text(encoding="utf-8-sig")) or {}
    out = []
    for item in data.get("instruments") or []:
        out.append(Instrument(
            id=str(item["id"]),
            name=str(item["name"]),
            abbr=tuple(str(a) for a in item.get("abbr") or ()),
            version=str(item.get("version") or ""),
            issuer=str(item.get("issuer") or ""),
            status=str(item.get("status") or CURRENT),
            superseded_by=item.get("superseded_by"),
            articles=item.get("articles"),
            note=str(item.get("note") or ""),
        ))
    return Catalogue(out)
