"""The authoring layer: the trainers' workflow.

Scaffolding new entries, publishing batches, importing 法答网 batches, exporting, and the
knowledge-base-wide ``check``. Modules here may import ``search``, ``content`` and the shared
base, never the user-facing ``api``, ``cli`` or ``web``.
"""
