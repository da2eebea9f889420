"""The README stays a five-minute read and the docs stay true to the tree: links lead to files, the commands and
install lines the README quotes are the ones the Makefile, CI and the Pi stack test run, and the API reference names
only what ``edgeml`` exports. Standard library only: this runs on the device stacks too (no mkdocs, no yaml there);
``make docs`` (``mkdocs build --strict``) checks the rest, anchors included."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import edgeml
from tests.conftest import ROOT

README = ROOT / "README.md"
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.rglob("*.md"))
# [text](target) and ![alt](target); the target ends at whitespace or ")" (an optional "title" is ignored).
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)  # https:, mailto:, ...

PI_INSTALL = [
    "sudo apt install python3-venv python3-picamera2 python3-opencv",
    "python3 -m venv --system-site-packages ~/edgeml-venv",
    '~/edgeml-venv/bin/pip install "edgeml[store,mqtt,serve]"',
    "~/edgeml-venv/bin/edgeml doctor",
]


def _without_code(text: str) -> str:
    """Markdown with fenced blocks and inline code removed: a link inside code is an example, not a link."""
    text = re.sub(r"^(```|~~~).*?^\1[^\n]*$", "", text, flags=re.M | re.S)
    return re.sub(r"`[^`\n]*`", "", text)


def _relative_links(page: Path) -> list[str]:
    return [t for t in LINK.findall(_without_code(page.read_text())) if not EXTERNAL.match(t) and not t.startswith("#")]


def test_readme_is_a_five_minute_read():
    lines = README.read_text().splitlines()
    assert len(lines) <= 200, f"README.md has {len(lines)} lines; move detail into docs/ (at most 200)"


def test_there_are_docs_pages_to_check():
    assert {"index.md", "architecture.md", "figures.md", "errors.md"} <= {p.name for p in PAGES}
    assert _relative_links(README), "the README links into docs/"


@pytest.mark.parametrize("page", [README, *PAGES], ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_leads_to_a_file_in_the_repository(page: Path):
    broken = []
    for target in _relative_links(page):
        path = (page.parent / target.split("#", 1)[0]).resolve()
        if not path.is_relative_to(ROOT) or not path.exists():
            broken.append(target)
    assert broken == [], f"{page.relative_to(ROOT)}: links to nothing in the repository: {broken}"


def test_links_outside_code_are_found(tmp_path):
    """The link finder sees both kinds of link, and skips code and external addresses (else the test above is
    vacuous)."""
    sample = tmp_path / "sample.md"
    sample.write_text("[a](x.md#top) ![b](img/k.png) [c](https://example.org) [d](#here)\n`[e](code.md)`\n"
                      "```\n[f](fenced.md)\n```\n")
    assert _relative_links(sample) == ["x.md#top", "img/k.png"]


def test_every_page_is_in_the_site_navigation():
    nav = (ROOT / "mkdocs.yml").read_text().split("\nnav:", 1)[1]
    listed = set(re.findall(r":\s*(\S+\.md)\s*$", nav, re.M))
    assert listed == {str(p.relative_to(DOCS)) for p in PAGES}


def test_the_readme_test_command_is_make_test_which_ci_runs():
    readme = README.read_text()
    assert re.search(r"^make test\s+# ", readme, re.M), "the README's test command must stay `make test`"
    assert re.search(r"^make test$", (ROOT / ".ci" / "run").read_text(), re.M)
    assert re.search(r"^make demo\s+# ", readme, re.M)


def test_the_readme_install_line_is_the_makefiles():
    extras = re.search(r"^VENV_EXTRAS\s*:=\s*(\S+)$", (ROOT / "Makefile").read_text(), re.M)
    assert extras, "Makefile: VENV_EXTRAS"
    assert f'pip install -e ".[{extras.group(1)}]"' in README.read_text()
    assert "docs" in extras.group(1).split(",")  # make docs needs mkdocs in the venv


def test_the_readme_pi_install_is_what_the_stack_test_and_doctor_use():
    from edgeml.doctor.system_numpy import README_INSTALL

    readme = README.read_text()
    block = readme[readme.index(PI_INSTALL[0]):]
    lines = [line.split("#", 1)[0].rstrip() for line in block.splitlines()[:len(PI_INSTALL)]]
    assert lines == PI_INSTALL
    assert README_INSTALL in readme
    stack = (ROOT / "tests" / "platforms" / "stack.sh").read_text()
    assert '"edgeml[store,mqtt,serve] @ file://$WHEEL"' in stack


def test_the_api_reference_names_exactly_the_public_exports():
    """Only names re-exported from edgeml/__init__.py (they survive module moves), and every one of them."""
    page = (DOCS / "reference" / "api.md").read_text()
    named = re.findall(r"^::: (\S+)$", page, re.M)
    assert named, "docs/reference/api.md renders nothing"
    assert [n for n in named if not n.startswith("edgeml.") or n.count(".") != 1] == []
    names = [n.removeprefix("edgeml.") for n in named]
    assert sorted(set(names) - set(edgeml.__all__)) == [], "not exported from edgeml/__init__.py"
    assert sorted(set(edgeml.__all__) - set(names) - {"__version__"}) == [], "exported but not in the reference"
    assert len(names) == len(set(names))
