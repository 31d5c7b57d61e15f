"""qabase: a Chinese legal Q&A knowledge base with jieba segmentation and Whoosh search."""
from .api import KnowledgeBase, SearchResult, load_entries, open_kb, search
from .errors import Problem, QabaseError

__version__ = "0.1.0"
__all__ = ["KnowledgeBase", "SearchResult", "Problem", "QabaseError", "open_kb", "search", "load_entries"]
