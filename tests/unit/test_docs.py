"""The repository documents its own domain: no file points outside it for the rules, and every
"domain.md §N" / "domain.md [S#]" citation names a section or source that docs/domain.md has."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = ROOT / "docs" / "domain.md"

OUTSIDE_REFERENCE = re.compile(r"\.\./shared|shared/docs")
SECTION_CITATION = re.compile(
    r"domain\.md\s*§\s*(\d+(?:\.\d+)?)(?:\s*[–-]\s*§?\s*(\d+(?:\.\d+)?))?")
SOURCE_CITATION = re.compile(r"domain\.md(?:\s*§\s*\d+(?:\.\d+)?)?\s+(?:source\s+)?\[S(\d+)")
SECTION_HEADING = re.compile(r"^## §(\d+) ", re.MULTILINE)
SUBSECTION_LABEL = re.compile(r"\*\*§(\d+\.\d+) ")
SOURCE_ENTRY = re.compile(r"^- \[S(\d+)\] ", re.MULTILINE)
SKIPPED_DIRS = {".git", ".venv", ".tools", "var", "target", "dbt_packages", "logs", "__pycache__"}


def tracked_files() -> list[Path]:
    """The files git tracks (every text file of the tree when this is not a git checkout)."""
    try:
        listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                                check=True).stdout.decode().split("\0")
        return [ROOT / name for name in listed if name and (ROOT / name).is_file()]
    except (OSError, subprocess.CalledProcessError):
        return [p for p in ROOT.rglob("*")
                if p.is_file() and not SKIPPED_DIRS & set(p.relative_to(ROOT).parts)]


def text_lines(path: Path) -> list[str]:
    """The file's lines, or none for a binary file."""
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        return []


def outside_references(lines: list[str]) -> list[int]:
    """Line numbers (1-based) that point to the shared reference folder outside the repository."""
    return [n for n, line in enumerate(lines, start=1) if OUTSIDE_REFERENCE.search(line)]


def cited_sections(line: str) -> list[str]:
    """Sections a line cites as "domain.md §N", "§N.M" or a range "§N–§M" (every one in it)."""
    cited = []
    for first, last in SECTION_CITATION.findall(line):
        cited.append(first)
        if last and "." not in first + last:
            cited.extend(str(n) for n in range(int(first) + 1, int(last) + 1))
        elif last:
            cited.append(last)
    return cited


def documented_labels() -> tuple[set[str], set[str]]:
    """Section labels ("1", "5.6") and source numbers ("8") that docs/domain.md defines."""
    text = DOMAIN.read_text(encoding="utf-8")
    sources = text[text.index("\n## Sources"):]
    return (set(SECTION_HEADING.findall(text)) | set(SUBSECTION_LABEL.findall(text)),
            set(SOURCE_ENTRY.findall(sources)))


def relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def test_the_checks_recognise_what_they_look_for() -> None:
    assert outside_references(
        ["see `../shared/docs/domain.md`", "ok", "shared/docs/style.md"]) == [1, 3]
    assert outside_references(["shared with test_vee.py", "/work/shared/data/real/"]) == []
    assert cited_sections("domain.md §1–§5), recomputed") == ["1", "2", "3", "4", "5"]
    assert cited_sections("(domain.md §5.6; generation") == ["5.6"]
    assert cited_sections("domain.md §8, seed S4: domain.md §4 default") == ["8", "4"]
    assert SOURCE_CITATION.findall("domain.md source [S8]; domain.md §5 [S20]; domain.md [S6]") == [
        "8", "20", "6"]


def test_the_domain_document_has_every_section_and_its_sources() -> None:
    sections, sources = documented_labels()
    assert {str(n) for n in range(1, 11)} <= sections
    assert {str(n) for n in range(1, 26)} == sources


def test_no_file_outside_tests_points_to_the_shared_reference_folder() -> None:
    found = [
        f"{relative(path)}:{n}"
        for path in tracked_files() if relative(path).split("/")[0] != "tests"
        for n in outside_references(text_lines(path))
    ]
    assert found == [], "cite docs/domain.md instead of the shared folder: " + ", ".join(found)


def test_every_domain_citation_names_a_section_or_source_of_docs_domain_md() -> None:
    sections, sources = documented_labels()
    cited, missing = 0, []
    for path in tracked_files():
        for n, line in enumerate(text_lines(path), start=1):
            for label in cited_sections(line):
                cited += 1
                if label not in sections:
                    missing.append(f"{relative(path)}:{n} §{label}")
            for number in SOURCE_CITATION.findall(line):
                cited += 1
                if number not in sources:
                    missing.append(f"{relative(path)}:{n} [S{number}]")
    assert cited > 50  # the code cites the document throughout; 0 would mean the pattern broke
    assert missing == [], "no such section or source in docs/domain.md: " + ", ".join(missing)
