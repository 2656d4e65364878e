"""``run.py reproduce``: every figure study of the chosen papers, one gallery page with each paper's claim, our
figure and a verdict computed from the study's summary (:mod:`.claims`), and the same verdicts as a Markdown table
(``verdicts.md``) for the README. Studies resume: a second call only draws the page again."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..data.loader import STUDY_DIR, available, read_toml
from ..errors import ScenarioError


def figure_studies(papers: list[str] | None = None) -> list[str]:
    """The shipped studies of the given problems (all when None or empty), in name order."""
    from .. import registry
    wanted = {registry.problem(p).name for p in papers} if papers else None
    names = []
    for name in available(STUDY_DIR):
        problem = read_toml(STUDY_DIR / f"{name}.toml", "study").get("problem")
        if wanted is None or (problem is not None and registry.problem(problem).name in wanted):
            names.append(name)
    if not names:
        raise ScenarioError(f"no shipped study for {', '.join(papers or [])}; see `run.py list`")
    return names


def build_gallery(papers: list[str] | None = None, *, quick: bool = False, workers: int = 1,
                  scheduler: str | None = None, out: str | Path | None = None,
                  studies: list[str | Path] | None = None) -> Path:
    """Run (or resume) each study into ``out/<study>`` and write ``out/gallery.md`` and ``out/verdicts.md``;
    ``studies``: study names or files instead of every shipped study of ``papers``."""
    from .claims import verdict
    from .runner import run_study
    from .spec import load_study

    out = Path(out or ("results/gallery" + ("-quick" if quick else "")))
    entries = []
    for name in studies or figure_studies(papers):
        study = load_study(name, quick=quick)
        folder = out / study.name
        print(f"study {study.name}: {len(study.jobs())} jobs -> {folder}", flush=True)
        run_study(study, folder, workers=workers, scheduler=scheduler, resume=(folder / "study.json").exists())
        summary = pd.read_csv(folder / "summary.csv")
        text, checks = verdict(study, study.claim, summary) if study.claim else ("no claim stated", [])
        entries.append((study, folder, text, checks))
    out.mkdir(parents=True, exist_ok=True)
    page = out / "gallery.md"
    lines = [f"# Reproduced figures{' (quick grids)' if quick else ''}", ""]
    for study, folder, text, checks in entries:
        lines += [f"## {study.name} ({study.problem})", "",
                  f"**Paper:** {study.claim.get('paper', study.description.split(chr(10))[0])}", "",
                  f"**Verdict:** {text}", ""]
        word = {True: "holds", False: "FAILS", None: "not run"}
        lines += [f"- {word[c.passed]}: {c.text}" + (f" ({c.detail})" if c.detail else "") for c in checks]
        if (folder / "figure.png").exists():
            lines += ["", f"![{study.name}]({folder.relative_to(out).as_posix()}/figure.png)"]
        lines.append("")
    page.write_text("\n".join(lines))
    table = ["| study | paper shows | verdict |", "|---|---|---|"]
    table += [f"| `{s.name}` | {s.claim.get('paper', '-')} | {text} |" for s, _, text, _ in entries]
    (out / "verdicts.md").write_text("\n".join(table) + "\n")
    return page
