"""The user documentation holds together: every relative link in README.md and docs/*.md
points at a file or folder of the repository, and the README stays short (at most 8 kB)."""

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README_MAX_BYTES = 8 * 1024

#: [text](target) outside fenced code blocks; images too (![alt](target))
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
FENCE = re.compile(r"^```.*?^```", re.S | re.M)


def doc_files(repo: Path = REPO) -> list[Path]:
    """README.md and every Markdown file in docs/."""
    return [repo / "README.md", *sorted((repo / "docs").glob("*.md"))]


def broken_links(path: Path, repo: Path = REPO) -> list[str]:
    """Relative links of one Markdown file that do not resolve to a path inside ``repo``."""
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    broken = []
    for target in LINK.findall(text):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I) or target.startswith("#"):
            continue  # http(s), mailto, ... and anchors within the page
        rel = target.split("#", 1)[0]
        resolved = (path.parent / rel).resolve()
        if not resolved.is_relative_to(repo.resolve()) or not resolved.exists():
            broken.append(f"{path.relative_to(repo)}: {target}")
    return broken


@pytest.mark.parametrize("path", doc_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_relative_links_resolve(path):
    assert broken_links(path) == []


def test_readme_is_short():
    size = (REPO / "README.md").stat().st_size
    assert size <= README_MAX_BYTES, f"README.md is {size} bytes (at most {README_MAX_BYTES})"


def test_broken_link_is_found(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("ok")
    page = tmp_path / "README.md"
    page.write_text(
        "[fine](docs/a.md#x) [web](https://example.org) [gone](docs/missing.md)\n"
        "[outside](../elsewhere/notes.md)\n```\n[in code](nowhere.md)\n```\n"
    )
    assert broken_links(page, tmp_path) == [
        "README.md: docs/missing.md",
        "README.md: ../elsewhere/notes.md",
    ]
