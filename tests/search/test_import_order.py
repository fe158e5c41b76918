"""Guard against the usearch/onnxruntime import-order crash (DESIGN.md, "Known pitfalls").

``import usearch`` before ``import onnxruntime`` killed the process (SIGSEGV) with usearch
2.26.2-2.26.6. These tests run in subprocesses so that a dependency bump that brings the
crash back fails here instead of killing the test session.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from app.paths import resources_dir

ROOT = Path(__file__).resolve().parents[2]


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120
    )


def test_crashing_order_does_not_crash() -> None:
    model = resources_dir() / "model" / "encoder.onnx"
    if not model.is_file():
        pytest.skip(f"no bundled encoder at {model}")
    code = (
        "import usearch\n"
        "import onnxruntime\n"
        "import numpy as np\n"
        "from usearch.index import Index\n"
        f"session = onnxruntime.InferenceSession({str(model)!r},"
        " providers=['CPUExecutionProvider'])\n"
        "ids = np.array([[0, 33, 2]], dtype=np.int64)\n"
        "feed = {'input_ids': ids, 'attention_mask': np.ones_like(ids)}\n"
        "if any(i.name == 'query' for i in session.get_inputs()):  # a two-tower encoder\n"
        "    feed['query'] = np.array(True)\n"
        "(out,) = session.run(['embedding'], feed)\n"
        "index = Index(ndim=out.shape[1], metric='cos', dtype='i8')\n"
        "index.add(np.arange(2), np.vstack([out, -out]).astype(np.float32))\n"
        "assert index.search(out[0], 1).keys[0] == 0\n"
        "print('ok')\n"
    )
    result = _run(code)
    assert result.returncode == 0, f"exit {result.returncode}: {result.stderr[-2000:]}"
    assert result.stdout.strip() == "ok"


@pytest.mark.parametrize(
    "module", ["app.search.vector_index", "app.search.dense", "app.search.bundle"]
)
def test_runtime_imports_onnxruntime_before_usearch(module: str) -> None:
    code = (
        f"import sys, {module}\n"
        "names = list(sys.modules)\n"
        "print(names.index('onnxruntime') < names.index('usearch'))\n"
    )
    result = _run(code)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "True"
