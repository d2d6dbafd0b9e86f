"""An assignment laid out as notebook cells, shared by the student notebook and the nbgrader export.

The single source is the reference module (or the stub made from it) plus the
handout. The module is cut at its top-level statements: imports and constants
form one cell, every function or class its own cell. The handout is cut at its
``## `` headings, and each part's cell follows the section that defines it, so
students read the explanation right above the code they write.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from typing import Any

from autograder.manifest import Manifest

MARKER = re.compile(r"^# (BEGIN|END) SOLUTION\s*$")


@dataclass
class Chunk:
    """A run of source lines: the preamble (imports, constants), one def/class, or a solution-only region."""

    kind: str  # "preamble" | "def" | "region"
    text: str
    name: str | None = None


@dataclass
class Block:
    """What goes together in the notebook: helper chunks, then one part (or none), and where it belongs."""

    chunks: list[Chunk]
    part: str | None
    section: int
    order: int = 0


@dataclass
class Layout:
    """The notebook in order: handout sections interleaved with code blocks."""

    intro: str
    preamble: str
    items: list[tuple[str, Any]] = field(default_factory=list)  # ("section", text) | ("block", Block)


def split_source(source: str) -> list[Chunk]:
    """Cut a module into chunks at its top-level statements; comments stay with their code."""
    lines = source.splitlines()
    tree = ast.parse(source)
    body = list(tree.body)
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
            and isinstance(body[0].value.value, str):
        body = body[1:]  # the module docstring: the handout replaces it
    regions = _marker_regions(lines)
    spans: list[tuple[int, int, ast.stmt]] = []
    for node in body:
        start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        spans.append((start, node.end_lineno or node.lineno, node))
    owner: dict[int, int] = {}  # line number (1-based) -> index of the span that owns it
    for i, (start, end, _) in enumerate(spans):
        for n in range(start, end + 1):
            owner[n] = i
        n = end + 1  # indented lines and blank lines after a block still belong to it
        while n <= len(lines) and (not lines[n - 1].strip() or lines[n - 1][:1].isspace()):
            owner[n] = i
            n += 1
    first_code = spans[0][0] if spans else len(lines) + 1
    for n in range(1, len(lines) + 1):  # column-0 comments between statements go with the next one
        if n in owner or n < first_code or any(b <= n <= e for b, e in regions):
            continue
        owner[n] = next((i for i, (start, _, _) in enumerate(spans) if start > n), len(spans) - 1)
    chunks: list[Chunk] = []
    preamble: list[str] = []
    seen_region: set[int] = set()
    for i, (start, _end, node) in enumerate(spans):
        region = next((r for r, (b, e) in enumerate(regions) if b < start <= e), None)
        if region is not None:
            if region not in seen_region:
                seen_region.add(region)
                b, e = regions[region]
                chunks.append(Chunk("region", "\n".join(lines[b - 1:e]).strip("\n")))
            continue
        text = "\n".join(lines[n - 1] for n in sorted(k for k, v in owner.items() if v == i))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            chunks.append(Chunk("def", text.strip("\n"), node.name))
        else:
            preamble.append(text.lstrip("\n"))  # keeps the blank lines between imports
    if preamble:
        chunks.insert(0, Chunk("preamble", re.sub(r"\n{3,}", "\n\n", "\n".join(preamble)).strip("\n")))
    return chunks


def _marker_regions(lines: list[str]) -> list[tuple[int, int]]:
    """Column-0 ``# BEGIN SOLUTION`` ... ``# END SOLUTION`` line ranges (inclusive, 1-based)."""
    regions, begin = [], None
    for n, line in enumerate(lines, start=1):
        m = MARKER.match(line)
        if m and m.group(1) == "BEGIN":
            begin = n
        elif m and begin is not None:
            regions.append((begin, n))
            begin = None
    return regions


def handout_sections(text: str) -> list[str]:
    """The handout cut before every ``## `` heading (outside code fences); [0] is the introduction."""
    sections: list[list[str]] = [[]]
    fenced = False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        if not fenced and line.startswith("## "):
            sections.append([])
        sections[-1].append(line)
    return ["\n".join(s).strip("\n") for s in sections]


def _section_of(name: str, sections: list[str]) -> int | None:
    """The section that defines ``name`` (never the intro): bold, a call, code, a word, its heading."""
    patterns = [rf"\*\*`{name}[(`]", rf"`{name}\(", rf"`{name}`", rf"\b{name}\b"]
    for pattern in patterns:
        for index, text in enumerate(sections[1:], start=1):
            if re.search(pattern, text):
                return index
    stem = name.split("_")[0]
    for index, text in enumerate(sections[1:], start=1):
        if re.search(rf"\b{re.escape(stem)}\b", text.splitlines()[0] if text else "", re.IGNORECASE):
            return index
    return None


def layout(manifest: Manifest, source: str, handout: str) -> Layout:
    """Sections and code blocks in reading order; code keeps source order within a section."""
    sections = handout_sections(handout)
    parts = {p.name for p in manifest.parts}
    chunks = split_source(source)
    preamble = "\n".join(c.text for c in chunks if c.kind == "preamble")
    blocks: list[Block] = []
    pending: list[Chunk] = []
    for chunk in chunks:
        if chunk.kind == "preamble":
            continue
        pending.append(chunk)
        if chunk.kind == "def" and chunk.name in parts:
            blocks.append(Block(pending, chunk.name, -1, len(blocks)))
            pending = []
    if pending:
        blocks.append(Block(pending, None, -1, len(blocks)))
    found = [_section_of(b.part, sections) if b.part else None for b in blocks]
    for i, block in enumerate(blocks):  # not found: with the next part that is, else the previous
        later = [f for f in found[i:] if f is not None]
        earlier = [b.section for b in blocks[:i]]
        block.section = found[i] if found[i] is not None else later[0] if later else max(earlier, default=0)
    blocks.sort(key=lambda b: (b.section, b.order))
    out = Layout(intro=sections[0], preamble=preamble)
    emitted = 0
    for block in blocks:
        while emitted < block.section:
            emitted += 1
            out.items.append(("section", sections[emitted]))
        out.items.append(("block", block))
    for text in sections[emitted + 1:]:
        out.items.append(("section", text))
    return out


def markdown_cell(cell_id: str, text: str, metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"cell_type": "markdown", "id": cell_id, "metadata": metadata or {}, "source": _lines(text)}


def code_cell(cell_id: str, text: str, metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"cell_type": "code", "execution_count": None, "id": cell_id, "metadata": metadata or {},
            "outputs": [], "source": _lines(text)}


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def notebook_json(cells: list[dict[str, Any]], metadata: dict[str, Any]) -> str:
    """nbformat 4.5 text, byte-for-byte the same for the same cells (``--check`` compares text)."""
    nb = {
        "cells": cells,
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
            **metadata,
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
