"""Read the XML of an uploaded file (BPMN or DMN) without trusting it: a size limit, no network, no DTD and no
entities, so a file cannot read local files, reach the network or expand into gigabytes.

`read_root` raises `BpmnInvalid` with one located problem when the bytes are not such XML.
"""

from __future__ import annotations

from lxml import etree

from mso_flow.engine.model import BpmnInvalid, Problem

MAX_DOCUMENT_BYTES = 5 * 1024 * 1024


def xml_parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=False, huge_tree=False)


def read_root(xml: bytes, file: str) -> etree._Element:
    """The root element of well-formed XML without DOCTYPE or entities, or `BpmnInvalid`."""
    if len(xml) > MAX_DOCUMENT_BYTES:
        raise BpmnInvalid([Problem(file, None, None, f"file is larger than {MAX_DOCUMENT_BYTES} bytes")])
    try:
        root = etree.fromstring(xml, xml_parser())
    except etree.XMLSyntaxError as err:
        line = err.lineno if err.lineno else None
        raise BpmnInvalid([Problem(file, line, None, f"not well-formed XML: {err.msg}")]) from None
    docinfo = root.getroottree().docinfo
    if docinfo.internalDTD is not None or docinfo.doctype or any(isinstance(e, etree._Entity) for e in root.iter()):
        raise BpmnInvalid([Problem(file, 1, None, "DOCTYPE declarations and entity references are not allowed")])
    return root


def validate(schema: etree.XMLSchema, root: etree._Element, file: str, standard: str) -> None:
    """`BpmnInvalid` with the first 50 schema errors, located by line, when `root` breaks `schema`."""
    try:
        valid = schema.validate(root)
    except etree.XMLSchemaValidateError as err:
        raise BpmnInvalid([Problem(file, None, None, f"{standard} schema: {err}")]) from None
    if not valid:
        errors = list(schema.error_log)[:50]
        raise BpmnInvalid([Problem(file, error.line, None, f"{standard} schema: {error.message}") for error in errors])
