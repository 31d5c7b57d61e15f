"""The Whoosh side of analysis: the index receives text that qabase has already segmented
(terms separated by spaces), so the analyzer pickled into the schema is a plain Whoosh
tokenizer and opening the index never loads jieba."""
from __future__ import annotations

from whoosh.analysis import RegexTokenizer


def pretokenized():
    """Split on whitespace only; terms arrive normalised from qabase.search.segment."""
    return RegexTokenizer(r"\S+")


from ..documents import join_terms  # noqa: E402,F401  (re-exported for the Whoosh engine)
