"""Documents of cases: the letters, scans and reports a process's steps work on, attached to an instance (optionally
to one of its tasks and a `file` form field), versioned, withdrawn with a reason, never deleted.

- `rules`: the allowed media types, sniffed from the bytes; file names;
- `staging`: an upload received chunk by chunk into an unnamed temporary file (sealed already when the document
  is), counted, hashed and sniffed before any transaction;
- `commands`: attach, add a version, withdraw — instance commands through the unit of work, each with its audit
  event carrying the version's SHA-256;
- `queries`: frozen views, contents streamed a chunk row at a time, a PDF's first page rendered;
- `forms`: the document ids a completed task's file fields hold;
- `sealed`: how a sealed document's chunks and texts are bound to it.

Storage is the database (`store/documents.py`); permissions are `services/policy.py`'s document predicates.
"""
