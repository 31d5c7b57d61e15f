"""The search layer: finding entries.

Segmentation and query analysis, the documents handed to the engines, the index with its
generations and freshness check, the engines themselves (``search.engines.whoosh`` and
``search.engines.tantivy``, the only modules that import whoosh or tantivy), retrieval and
snippets, pinyin, evaluation and the gaps log. Modules here may import ``content`` and the
shared base, never ``authoring`` or the user-facing modules. ``storage`` holds the on-disk
helpers the index and its engines share, so neither imports the other for them.
"""
