"""The runtime's library globals are documented (runtime/README.md, with the locked
versions) and typed for the editor (static/js/editor/runtime-globals.d.ts)."""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def library_globals() -> set[str]:
    """The globals the library bundles define (prelude/90-libraries.js, LIB_GLOBALS)."""
    source = (ROOT / "runtime/js/prelude/90-libraries.js").read_text()
    table = source[source.index("const LIB_GLOBALS") : source.index("};")]
    return set(re.findall(r":\s*'([A-Za-z_$][\w$]*)'", table))


def test_every_library_global_is_typed_for_the_editor_and_documented():
    names = library_globals()
    assert {"uuidv5", "zlib", "https", "winstonlib"} <= names
    types = (ROOT / "static/js/editor/runtime-globals.d.ts").read_text()
    declared = set(re.findall(r"^declare (?:const|function|class|namespace) ([\w$]+)", types, re.M))
    assert names - declared == set()
    readme = (ROOT / "runtime/README.md").read_text()
    libraries = readme[readme.index("### Libraries") :]
    assert {n for n in names if f"`{n}" not in libraries} == set()


def test_the_readme_versions_are_the_locked_ones():
    lock = json.loads((ROOT / "runtime/js/package-lock.json").read_text())["packages"]
    readme = (ROOT / "runtime/README.md").read_text()
    libraries = readme[readme.index("### Libraries") :]
    rows = re.findall(r"^\| `[^|]*\| ([@\w./-]+) \| (\d[\w.-]*) \|", libraries, re.M)
    assert len(rows) >= 9
    for package, version in rows:
        assert lock[f"node_modules/{package}"]["version"] == version, package
