"""JUnit XML, the report format CI systems read: one suite, one test case per result."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass
class Case:
    name: str
    classname: str
    seconds: float = 0.0
    failure: str | None = None  # the message of a failure
    failure_text: str = ""  # its body
    failure_type: str | None = None
    skipped: str | None = None  # the reason of a skip
    output: str | None = None  # system-out
    file: str | None = None
    line: int | None = None


def _case(suite: ET.Element, case: Case) -> None:
    attrs: dict[str, str] = {"classname": case.classname, "name": case.name}
    if case.file is not None:
        attrs["file"] = case.file
        attrs["line"] = str(case.line or 1)
    attrs["time"] = f"{case.seconds:.3f}" if case.seconds else "0"
    element = ET.SubElement(suite, "testcase", attrs)
    if case.failure is not None:
        extra = {"type": case.failure_type} if case.failure_type else {}
        ET.SubElement(element, "failure", {"message": case.failure, **extra}).text = case.failure_text
    elif case.skipped is not None:
        ET.SubElement(element, "skipped", message=case.skipped)
    if case.output is not None:
        ET.SubElement(element, "system-out").text = case.output


def suite_xml(name: str, cases: Sequence[Case], properties: Mapping[str, object], *,
              seconds: float, wrap: bool = True) -> str:
    """The XML document: ``<testsuites>`` around one ``<testsuite>`` unless ``wrap`` is False."""
    failures = sum(c.failure is not None for c in cases)
    skipped = sum(c.skipped is not None and c.failure is None for c in cases)
    counts = {"tests": str(len(cases)), "failures": str(failures)}
    time = f"{seconds:.3f}"
    suite = ET.Element("testsuite", {"name": name, **counts, "errors": "0", "skipped": str(skipped),
                                     "time": time})
    root = suite
    if wrap:
        root = ET.Element("testsuites", {"name": name, **counts, "errors": "0", "time": time})
        root.append(suite)
    props = ET.SubElement(suite, "properties")
    for key, value in properties.items():
        ET.SubElement(props, "property", name=key, value="" if value is None else str(value))
    for case in cases:
        _case(suite, case)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
