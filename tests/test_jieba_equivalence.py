"""qabase runs jieba's segmentation algorithm with its own loop (DagCutter), over jieba's
dictionary when indexing and over the index's vocabulary when searching. Both must cut
exactly as jieba's ``Tokenizer.tokenize(mode="search", HMM=False)`` does."""
import csv
import random
from pathlib import Path

import pytest

from qabase import open_kb
from qabase.content.render import to_text
from qabase.search.segment import VocabSegmenter, normalise

REPO = Path(__file__).resolve().parent.parent

ODD = [
    "", " ", "\n\n", "ＡＢＣ１２３", "民诉法第237条第二款", "C++ 和 C# 以及 3.14% 的 a_b-c",
    "执行  法院\t\r\n终本", "……——“”《》", "2024年1月1日起施行", "abc中文def", "一二三四五六七八九十百千万",
    "交叉执行中本院发现原执行法院怠于执行", "失信限高拒执执转破终本恢复执行",
]


@pytest.fixture(scope="module")
def shipped():
    kbase = open_kb(REPO)
    texts = []
    for e in kbase.load_entries().entries:
        texts += [e.question, *e.aliases, *e.tags, to_text(e.answer)]
    with open(REPO / "kb" / "golden.tsv", encoding="utf-8") as f:
        texts += [r[0] for r in list(csv.reader(f, delimiter="\t"))[1:] if r]
    return kbase, texts


def jieba_spans(tk, text):
    out = []
    for word, start, end in tk.tokenize(normalise(text), mode="search", HMM=False):
        word = word.strip()
        if word and any(ch.isalnum() or ch == "_" for ch in word):
            out.append((word, start, end))
    return out


def scrambled(texts, n, seed=5):
    """Pieces of real answers shuffled together: new neighbours for every word boundary."""
    rng = random.Random(seed)
    pieces = [p for t in texts for p in t.replace("。", "，").split("，") if p]
    return ["，".join(rng.sample(pieces, 6)) + "".join(rng.sample(pieces, 3)) for _ in range(n)]


def test_index_cutter_matches_jieba(shipped):
    kbase, texts = shipped
    seg = kbase.segmenter
    tk = seg.tokenizer
    checked = 0
    for text in texts + ODD + scrambled(texts, 300):
        assert list(seg.spans(text)) == jieba_spans(tk, text), text
        checked += 1
    assert checked > 1000


def test_vocabulary_cutter_matches_jieba_over_its_words(shipped):
    """Over a vocabulary holding every word jieba would produce for these texts (what the
    index's vocabulary holds for indexed text), the search side cuts the same."""
    kbase, texts = shipped
    seg = kbase.segmenter
    tk = seg.tokenizer
    sample = texts + ODD + scrambled(texts, 100, seed=9)
    words = {w for t in sample for w, _, _ in jieba_spans(tk, t)}
    # Every word in the DAG of these texts, not just the chosen ones: the route depends on them.
    for t in sample:
        t = normalise(t)
        for i in range(len(t)):
            for j in range(i + 1, min(len(t), i + 12) + 1):
                if tk.FREQ.get(t[i:j]):
                    words.add(t[i:j])
    freq, total = seg.vocabulary(words)
    vocab = VocabSegmenter.parse(VocabSegmenter.dump(freq, total))
    for text in sample:
        assert list(vocab.spans(text)) == jieba_spans(tk, text), text
