"""One module per search engine, each with the same small face (create, add, commit, open,
read). They may import ``search.storage`` and ``search.documents``, never ``search.index``,
which picks between them."""
