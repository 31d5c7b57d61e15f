#!/usr/bin/env python3
"""Write docs/coverage.md: for each enforcement instrument of the catalogue (current texts only)
and each of its articles that an entry cites or that bears on enforcement, the entries whose
``legal_basis`` cites it.

  python scripts/coverage.py            # (re)write docs/coverage.md
  python scripts/coverage.py --check    # CI: exit 1 when docs/coverage.md is out of date

Needs only the repository: article counts come from kb/instruments.yaml, citations from the
entries' ``legal_basis`` (not from the statute texts, which live outside the repository).
Which articles "bear on enforcement" is fixed below, per instrument, from the texts' own
structure (e.g. the 民事诉讼法's 第三编 执行程序 is 第二百三十五条 to 第二百六十九条).
"""
from __future__ import annotations

import argparse
import difflib
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from qabase.content.catalogue import load_catalogue  # noqa: E402
from qabase.content.entries import load_entries  # noqa: E402
from qabase.content.numerals import to_chinese  # noqa: E402
from qabase.kb import load_kb  # noqa: E402

OUT = Path("docs/coverage.md")
PLAN = "editorial-plan.md"
ALL = "all"


def span(a: int, b: int) -> list[int]:
    return list(range(a, b + 1))


@dataclass
class Scope:
    """The articles of one instrument that bear on enforcement, and why."""

    iid: str
    articles: object  # ALL, or a list of article numbers
    why: str = ""


@dataclass
class Group:
    title: str
    scopes: list[Scope] = field(default_factory=list)


# The map's instruments, grouped as in issue 20. An instrument written for enforcement counts
# with all its articles; a general law or code only with its enforcement parts (chapter and
# section bounds read from the statute texts, so they do not change unless the text does).
GROUPS = [
    Group("一、民事诉讼法执行编和执行程序的司法解释", [
        Scope("cpl-2023", span(235, 269), "第三编“执行程序”（第二百三十五条至第二百六十九条）"),
        Scope("cpl-interp-2022", span(302, 314) + span(460, 519),
              "“十五、执行异议之诉”（第三百零二条至第三百一十四条）和“二十一、执行程序”（第四百六十条至第五百一十九条）"),
        Scope("enforcement-work-provisions", ALL),
        Scope("enforcement-procedure-interp", ALL),
        Scope("property-investigation-provisions", ALL),
    ]),
    Group("二、失信名单、限制消费、执行和解、执行异议和复议", [
        Scope("dishonest-list-2017", ALL),
        Scope("consumption-limits-2015", ALL),
        Scope("settlement-provisions", ALL),
        Scope("objection-review-provisions", ALL),
    ]),
    Group("三、执行异议之诉、委托执行、网络司法拍卖", [
        Scope("objection-suit-interp-2025", ALL),
        Scope("entrusted-enforcement-provisions", ALL),
        Scope("online-auction-provisions", ALL),
    ]),
    Group("四、涉执行司法赔偿", [
        Scope("enforcement-compensation-interp", ALL),
        Scope("state-compensation-law", [21, *span(22, 31), 38],
              "第三十八条（执行错误适用刑事赔偿程序）及其援用的赔偿义务机关（第二十一条）和刑事赔偿程序（第二十二条至第三十一条）"),
    ]),
    Group("五、拒不执行判决、裁定罪", [
        Scope("criminal-law", [313, 314, 399],
              "第三百一十三条（拒不执行判决、裁定罪）、第三百一十四条（非法处置查封、扣押、冻结的财产罪）、第三百九十九条（含执行判决、裁定失职、滥用职权）"),
        Scope("refusal-crime-interp-2024", ALL),
    ]),
    Group("六、信访、政务处分和法官的考核奖惩", [
        Scope("petition-regulations", ALL),
        Scope("sanctions-law", span(28, 41), "第三章“违法行为及其适用的政务处分”（第二十八条至第四十一条）"),
        Scope("judges-law", span(38, 51), "第六章“法官的考核、奖励和惩戒”（第三十八条至第五十一条）"),
    ]),
    Group("七、其他执行司法解释和相关规定", [
        Scope("party-change-provisions", ALL),
        Scope("guarantee-provisions", ALL),
        Scope("seizure-provisions", ALL),
        Scope("auction-provisions", ALL),
        Scope("reference-price-provisions", ALL),
        Scope("equity-enforcement-provisions", ALL),
        Scope("online-deposit-provisions", ALL),
        Scope("delay-interest-interp", ALL),
        Scope("preservation-provisions", ALL),
        Scope("auction-buyer-provisions", ALL),
        Scope("arbitration-enforcement-provisions", ALL),
        Scope("notarial-enforcement-provisions", ALL),
        Scope("criminal-property-enforcement-provisions", ALL),
        Scope("expropriation-enforcement-provisions", ALL),
        Scope("time-limits-provisions", span(5, 10) + span(20, 24),
              "第五条（执行期限）、第六条至第十条（期限的计算和扣除）、第二十条至第二十四条（期限的监督）"),
        Scope("recusal-provisions", ALL),
        Scope("judicial-police-provisions", ALL),
    ]),
    Group("八、相关法律（只列被引用的条文）", [
        Scope("court-org-law", []),
        Scope("bankruptcy-law", []),
    ]),
]


def article_label(key: str) -> str:
    main, _, sub = key.partition("-")
    return f"第{to_chinese(int(main))}条" + (f"之{to_chinese(int(sub))}" if sub else "")


def sort_key(key: str) -> tuple[int, int]:
    main, _, sub = key.partition("-")
    return int(main), int(sub or 0)


def ranges(keys: list[str]) -> str:
    """第三条至第五条、第九条 — consecutive plain articles folded into ranges."""
    keys = sorted(keys, key=sort_key)
    out, i = [], 0
    while i < len(keys):
        j = i
        while (j + 1 < len(keys) and "-" not in keys[j] and "-" not in keys[j + 1]
               and int(keys[j + 1]) == int(keys[j]) + 1):
            j += 1
        out.append(article_label(keys[i]) if j == i else
                   f"{article_label(keys[i])}至{article_label(keys[j])}" if j > i + 1 else
                   f"{article_label(keys[i])}、{article_label(keys[j])}")
        i = j + 1
    return "、".join(out)


def cited_by(root: Path):
    """{(instrument id, article key): sorted entry ids}, and the citations left out."""
    kb = load_kb(root)
    catalogue = load_catalogue(kb.kb_dir / "instruments.yaml")
    loaded = load_entries(kb)  # the files as they stand, like qabase check
    cites: dict[tuple[str, str], set[str]] = {}
    old = 0
    entries = [e for e in loaded.entries if e.status != "withdrawn"]
    for e in entries:
        for c in e.citations:
            inst = catalogue.resolve(c)
            if inst is None:
                continue
            if not inst.is_current:
                old += 1  # an older text's numbering, cited with its version: not on this map
                continue
            cites.setdefault((inst.id, c.article_key), set()).add(e.id)
    return catalogue, entries, {k: sorted(v) for k, v in cites.items()}, old


def render(root: Path) -> str:
    catalogue, entries, cites, old = cited_by(root)
    known = {s.iid for g in GROUPS for s in g.scopes}
    for g in GROUPS:
        for s in g.scopes:
            if catalogue.by_id(s.iid) is None:
                raise SystemExit(f"scripts/coverage.py：引用目录（kb/instruments.yaml）中没有 {s.iid}，请更新脚本中的分组")
    # Current instruments with article facts that no group names still get a place.
    rest = [Scope(i.id, []) for i in catalogue.instruments
            if i.id not in known and i.is_current and isinstance(i.articles, dict)]
    groups = GROUPS + ([Group("九、目录中的其他现行文件（只列被引用的条文）", rest)] if rest else [])

    lines = [
        "# 条文覆盖图",
        "",
        "> 本文件由 `python scripts/coverage.py` 根据引用目录（`kb/instruments.yaml`）和各条目的 `legal_basis` 生成，"
        "请勿手工修改；CI 运行 `python scripts/coverage.py --check`，本文件过期时失败。",
        f"> 按条文分组的问题清单和回答它们的条目，见[编辑计划]({PLAN})。",
        "",
        "说明：",
        "",
        "- 只统计 `legal_basis` 列出的条文（正文里的引用由 `qabase check` 核对是否列入）；某条的第几款、第几项都计入该条。",
        "- 只列现行文本。已被修正或废止的文本（2013年失信规定、2010年限高规定、2020年拒执解释、2021年民诉法）"
        "和效力待核实的文件不在图中" + (f"；条目中注明版本引用旧文本条号的 {old} 处不计入。" if old else "。"),
        "- 为执行制定的司法解释列出全部条文；法律和综合性规定只列与执行有关的部分（见各文件下的说明），"
        "以及条目引用了的其他条文。",
        f"- 统计范围：qa_entries/ 下 {len(entries)} 个条目（已撤回的除外，草稿和待审的计入）。条目编号对应文件 "
        "`qa_entries/<专题>/<编号>.md`。",
        "",
        "## 汇总",
        "",
        "| 文件组 | 文件 | 全文条数 | 图中条数 | 有条目引用 | 未引用 |",
        "|---|---|---:|---:|---:|---:|",
    ]
    body: list[str] = []
    for g in groups:
        body += [f"## {g.title}", ""]
        uncited_summary = []
        for s in g.scopes:
            inst = catalogue.by_id(s.iid)
            keys = inst.article_keys() or set()
            count = int(inst.articles.get("count") or 0)
            cited_here = {k for (iid, k) in cites if iid == inst.id}
            if s.articles == ALL:
                scope = set(keys)
                why = "全部条文"
            else:
                scope = {str(n) for n in s.articles} & keys
                why = s.why or "只列被引用的条文"
            listed = sorted(scope | cited_here, key=sort_key)
            with_entries = [k for k in listed if cites.get((inst.id, k))]
            without = [k for k in listed if not cites.get((inst.id, k))]
            short = inst.abbr[0] if inst.abbr else inst.name
            first = s is g.scopes[0]
            lines.append(f"| {g.title.split('（')[0] if first else ''} | {short} | {count} | {len(listed)} "
                         f"| {len(with_entries)} | {len(without)} |")
            body += [f"### 《{inst.name}》（{inst.version}）", "",
                     f"全文共 {count} 条。图中列出：{why}" + ("，以及条目引用的其他条文" if s.articles != ALL and
                                                         set(cited_here) - scope else "") +
                     f"；共 {len(listed)} 条，{len(with_entries)} 条有条目引用，{len(without)} 条未引用。", ""]
            if listed:
                body += ["| 条文 | 引用的条目 |", "|---|---|"]
                body += [f"| {article_label(k)} | {'、'.join(cites.get((inst.id, k), [])) or '（无）'} |" for k in listed]
                body.append("")
            if without:
                uncited_summary.append(f"- {short}（{len(without)} 条）：{ranges(without)}")
        body += ["**本组未引用的条文**：", ""]
        body += uncited_summary or ["- 无"]
        body.append("")

    unknown = [i for i in catalogue.instruments if i.articles == "unknown"]
    if unknown:
        body += ["## 原文未收录的文件", "",
                 "引用目录收录了名称、但没有原文和条号的文件：无法按条列出，条目引用的条号也无法核验。", ""]
        for i in unknown:
            n = len({e for (iid, _k), es in cites.items() if iid == i.id for e in es})
            body.append(f"- 《{i.name}》（{i.version}）" + (f"：{n} 个条目在 legal_basis 中引用" if n else ""))
        body.append("")
    return "\n".join(lines + [""] + body).rstrip("\n") + "\n"


PLAN_ID = re.compile(r"\b([a-z]{2,4}-\d{3})\b")


def plan_problems(root: Path) -> list[str]:
    """Entry ids that docs/editorial-plan.md names but qa_entries/ does not hold."""
    plan = root / "docs" / PLAN
    if not plan.exists():
        return []
    ids = {p.stem for p in (root / "qa_entries").glob("*/*.md")}
    return sorted(set(PLAN_ID.findall(plan.read_text(encoding="utf-8"))) - ids)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", type=Path, default=ROOT)
    ap.add_argument("--check", action="store_true", help="exit 1 when docs/coverage.md is out of date")
    args = ap.parse_args()
    root = args.root.resolve()
    text = render(root)
    path = root / OUT
    missing = plan_problems(root)
    if missing:
        print(f"提醒：docs/{PLAN} 提到的条目在 qa_entries/ 中不存在：{'、'.join(missing)}")
    if args.check:
        if not path.exists():
            print(f"{OUT.as_posix()} 不存在。请运行 python scripts/coverage.py 生成后一并提交。")
            return 1
        current = path.read_text(encoding="utf-8")
        if current != text:
            diff = list(difflib.unified_diff(current.splitlines(), text.splitlines(), "现有文件", "应为", n=0, lineterm=""))
            print(f"{OUT.as_posix()} 已过期：与条目的 legal_basis、引用目录或生成脚本不一致。"
                  "请运行 python scripts/coverage.py 重新生成后一并提交。差异（前 20 行）：")
            print("\n".join(diff[2:22]))
            return 1
        print(f"{OUT.as_posix()} 与条目一致。")
        return 0
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    print(f"已写入 {OUT.as_posix()}（{len(text.splitlines())} 行）。")
    return 0


if __name__ == "__main__":
    sys.exit(main())
