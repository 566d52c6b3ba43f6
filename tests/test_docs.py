"""The documentation that ships: the layer reference matches the registry, and every relative
link in the README and docs/ leads to a file and, with ``#anchor``, to a heading in it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rfcalc.render.layers_doc import markdown
from tests.helpers import ROOT

DOCS = ROOT / "docs"
PAGES = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]


def test_layer_reference_matches_the_registry(update_golden: bool) -> None:
    """docs/layers.md is generated; `pytest --update-golden` rewrites it after a registry change."""
    path = DOCS / "layers.md"
    if update_golden:
        path.write_text(markdown(), encoding="utf-8")
    assert path.read_text(encoding="utf-8") == markdown(), (
        "docs/layers.md differs from the layer registry: run "
        "`python -m pytest tests/test_docs.py --update-golden` and commit the result"
    )


# ---------------------------------------------------------------- the link checker

FENCE = re.compile(r"^(```|~~~)")
INLINE_CODE = re.compile(r"`+[^`]*`+")
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
HTML_ANCHOR = re.compile(r"<a\s+(?:id|name)=\"([^\"]+)\"")


def prose_lines(text: str) -> list[str]:
    """The lines outside fenced code blocks."""
    out, fenced = [], False
    for line in text.splitlines():
        if FENCE.match(line.lstrip()):
            fenced = not fenced
            continue
        if not fenced:
            out.append(line)
    return out


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: the rendered text lower-cased, every character that is
    not a letter, digit, space, '-' or '_' removed, and each space turned into '-'."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link shows its text
    text = text.replace("`", "").replace("*", "")
    text = re.sub(r"<[^>]+>", "", text)  # inline HTML
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


def anchors(text: str) -> set[str]:
    """Every heading's anchor, repeats numbered as GitHub numbers them (x, x-1, x-2, …)."""
    seen: dict[str, int] = {}
    out: set[str] = set()
    for line in prose_lines(text):
        out |= set(HTML_ANCHOR.findall(line))
        match = HEADING.match(line)
        if not match:
            continue
        base = slug(match.group(2))
        n = seen.get(base, 0)
        seen[base] = n + 1
        out.add(base if n == 0 else f"{base}-{n}")
    return out


def links(text: str) -> list[str]:
    """The targets of the inline links and images outside code."""
    return [
        target for line in prose_lines(text) for target in LINK.findall(INLINE_CODE.sub("", line))
    ]


def broken_links(page: Path) -> list[str]:
    problems = []
    for target in links(page.read_text(encoding="utf-8")):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):  # https:, mailto:, …
            continue
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        if not linked.exists():
            problems.append(f"{target}: no file {linked}")
        elif (
            anchor
            and linked.suffix == ".md"
            and anchor not in anchors(linked.read_text(encoding="utf-8"))
        ):
            problems.append(f"{target}: no heading with the anchor #{anchor} in {linked.name}")
    return problems


@pytest.mark.parametrize("page", PAGES, ids=[p.relative_to(ROOT).as_posix() for p in PAGES])
def test_relative_links_resolve(page: Path) -> None:
    assert broken_links(page) == []


def test_every_doc_is_in_the_index() -> None:
    listed = {target.partition("#")[0] for target in links((DOCS / "README.md").read_text())}
    assert {p.name for p in DOCS.glob("*.md")} - {"README.md"} <= listed


def test_readme_points_to_the_docs() -> None:
    assert "docs/README.md" in links((ROOT / "README.md").read_text(encoding="utf-8"))


# the checker itself, on GitHub's documented slug rules
@pytest.mark.parametrize(
    ("heading", "anchor"),
    [
        ("What the numbers mean", "what-the-numbers-mean"),
        ("The `--depth` option", "the---depth-option"),  # backticks go, the hyphens stay
        ("Global context (squeeze-and-excitation)", "global-context-squeeze-and-excitation"),
        ("rf.size, rf.stride", "rfsize-rfstride"),
        ("`global_context`", "global_context"),
        ("[The model file](format.md)", "the-model-file"),
    ],
)
def test_slug(heading: str, anchor: str) -> None:
    assert slug(heading) == anchor


def test_checker_finds_a_missing_file_and_a_missing_anchor(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("# Title\n\n## Part\n\n## Part\n", encoding="utf-8")
    page = tmp_path / "b.md"
    page.write_text(
        "[ok](a.md) [ok](a.md#part-1) [ok](#own) [gone](c.md) [bad](a.md#nope) [web](https://x.y)\n"
        "`[code](c.md)`\n```\n[fenced](c.md)\n```\n## Own\n",
        encoding="utf-8",
    )
    assert broken_links(page) == [
        f"c.md: no file {tmp_path / 'c.md'}",
        "a.md#nope: no heading with the anchor #nope in a.md",
    ]


# ---------------------------------------------------------------- transcripts

TRANSCRIPT = re.compile(r"^```text\n\$ rfcalc (?P<args>[^\n]*)\n(?P<out>.*?)^```$", re.M | re.S)


def transcripts() -> list[tuple[str, str, str]]:
    """Every ```text block in the README and docs/ that starts with ``$ rfcalc ARGS``: the
    page, the arguments and the output shown under them."""
    found = []
    for page in PAGES:
        for m in TRANSCRIPT.finditer(page.read_text(encoding="utf-8")):
            found.append((page.name, m["args"], m["out"]))
    return found


@pytest.mark.parametrize(("page", "args", "shown"), transcripts(), ids=lambda v: str(v)[:40])
def test_transcripts_show_what_rfcalc_prints(
    page: str, args: str, shown: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A command shown with its output in the docs prints exactly that output today (piped,
    as a reader who runs it in a pipe would see it)."""
    import shlex

    from typer.testing import CliRunner

    from rfcalc.cli import app

    monkeypatch.chdir(ROOT)
    if re.search(r"\byolo[\w-]*\.yaml\b", args):  # the user's Ultralytics config, by its name
        monkeypatch.chdir(_ultralytics_configs(tmp_path))
    result = CliRunner().invoke(app, shlex.split(args), prog_name="rfcalc")
    assert shows(shown, result.stdout), f"{page}: rfcalc {args}\n{result.stdout}"


def _ultralytics_configs(folder: Path) -> Path:
    """A folder holding the installed ultralytics package's model configs, as a user has
    them beside their work (the package is AGPL-3.0: read where installed, never copied into
    this repository); the test skips without the package."""
    import importlib.util
    import shutil

    spec = importlib.util.find_spec("ultralytics")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("needs the ultralytics package's configs")
    models = Path(next(iter(spec.submodule_search_locations))) / "cfg" / "models"
    for config in models.rglob("*.yaml"):
        shutil.copy(config, folder / config.name)
    return folder


def shows(shown: str, printed: str) -> bool:
    """``printed`` is ``shown``, where a line of shown that is just ``…`` (indented or not)
    stands for any run of lines left out."""
    pattern = "".join(
        r"(?:.*\n)*?" if line.strip() == "…" else re.escape(line) + r"\n"
        for line in shown.splitlines()
    )
    return re.fullmatch(pattern, printed) is not None


def test_an_elision_stands_for_lines_left_out() -> None:
    assert shows("a\n  …\nd\n", "a\nb\nc\nd\n")
    assert shows("a\n…\nd\n", "a\nd\n")
    assert not shows("a\n…\nd\n", "a\nb\n")
    assert not shows("a\nd\n", "a\nb\nd\n")


def test_the_readme_shows_a_transcript() -> None:
    assert any(page == "README.md" for page, _, _ in transcripts())
