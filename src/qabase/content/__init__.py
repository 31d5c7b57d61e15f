"""The content layer: what an entry is and what the law says.

Entry files and their front-matter format, the citation grammar and the catalogue of
instruments, statute texts, Chinese numerals, rendering Markdown to text and HTML, and
near-duplicate detection. Modules here may import each other and the shared base
(``qabase.errors``, ``qabase.kb``, ``qabase.yamlsafe``), never ``search``, ``authoring``
or the user-facing modules above them.
"""
