"""Every ```python block of the README runs as written, in a fresh interpreter (the JSON block reads a result that
`run.py solve detection --out r.json` writes first, as the README's text says)."""
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BLOCKS = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)


def test_the_readme_has_python_blocks():
    assert len(BLOCKS) >= 3


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_python_block_runs(tmp_path, index):
    code = BLOCKS[index]
    if "r.json" in code:
        made = subprocess.run([sys.executable, str(ROOT / "run.py"), "solve", "detection", "--out", "r.json"],
                              cwd=tmp_path, capture_output=True, text=True)
        assert made.returncode == 0, made.stderr
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, f"README python block {index} failed:\n{code}\n{out.stderr[-2000:]}"
