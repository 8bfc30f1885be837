"""Authoring tools: generate BPMN 2.0 files (with swimlane diagrams) from a structured reading of the manual.

The generated `.bpmn` files are the source of truth once committed; these tools only produce their first
version. See `docs/manual-extraction/FORMAT.md`.
"""
