"""Thai words for line breaking: pythainlp's `newmm` segmenter with the dictionary pythainlp ships (the one place
pythainlp is imported).

pythainlp creates its data folder (`~/pythainlp-data`) when first imported unless it runs read-only, which fails
where the service's user may not write its home folder (the image: `HOME=/app`, owned by root). The service only
reads the dictionary inside the package and downloads nothing, so read-only mode is set before the import unless
the operator set it (or its former name)."""

from __future__ import annotations

import os

if "PYTHAINLP_READ_MODE" not in os.environ:
    os.environ.setdefault("PYTHAINLP_READ_ONLY", "1")

from pythainlp.tokenize import word_tokenize


def split_words(text: str) -> list[str]:
    """`text` as its words and the whitespace between them, in order (nothing dropped)."""
    return word_tokenize(text, engine="newmm", keep_whitespace=True)
