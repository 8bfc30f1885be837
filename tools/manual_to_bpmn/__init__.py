"""Generate the first version of BPMN files from a structured reading of the manual; check and index BPMN files.

The `.bpmn` files in `bpmn/` are the source of truth; the YAML readings in `docs/manual-extraction/` only record
how the manual was read. The generator refuses to overwrite a file that was changed after it wrote it
(`manifest.py`). The service package never imports this package. See `docs/manual-extraction/FORMAT.md`.
"""
