#!/usr/bin/env python3
"""The documentation stays inside the repository: every Markdown link in README.md, docs/ and
the folders' README files names a file or folder that exists in this repository (a user's
clone has nothing beside it), no link leaves it (no ../ above the root, no URL), and README.md
and docs/ speak of the project itself, not of tracker issue numbers.

usage: check_docs.py REPOSITORY_ROOT"""
import pathlib
import re
import sys

root = pathlib.Path(sys.argv[1]).resolve()
files = [root / "README.md", *sorted((root / "docs").glob("*.md"))]
files += sorted(p for p in root.glob("*/**/README.md")
                if not any(part.startswith("build") or part == ".git" for part in p.relative_to(root).parts))
link = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
issue = re.compile(r"\bissues? ?#?\d+|\bthe issue'?s?\b", re.IGNORECASE)
errors = []
for f in files:
    text = f.read_text(encoding="utf-8")
    rel = f.relative_to(root)
    for m in link.finditer(text):
        target = m.group(1)
        if re.match(r"[a-z][a-z0-9+.-]*:", target):
            errors.append(f"{rel}: links outside the repository: {target}")
            continue
        path = target.split("#", 1)[0]
        if not path:
            continue  # an anchor in the same page
        dest = (f.parent / path).resolve()
        if root not in dest.parents and dest != root:
            errors.append(f"{rel}: links outside the repository: {target}")
        elif not dest.exists():
            errors.append(f"{rel}: link to a missing file: {target}")
    if f.parent == root or f.parent == root / "docs":
        for n, line in enumerate(text.splitlines(), 1):
            if issue.search(line):
                errors.append(f"{rel}:{n}: speaks of a tracker issue: {line.strip()}")
for e in errors:
    print(e)
print(f"{len(files)} files checked, {len(errors)} problems")
sys.exit(1 if errors else 0)
