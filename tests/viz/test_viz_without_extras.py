"""Without the viz extra (matplotlib, Starlette, uvicorn) the NumPy core and the CLI still import,
gradflow --json still measures, and the commands that draw or serve say in one line what to install."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BLOCK = "import sys\nfor m in ('matplotlib', 'starlette', 'uvicorn', 'playwright'):\n    sys.modules[m] = None\n"


def run_blocked(code: str):
    return subprocess.run([sys.executable, "-c", BLOCK + code], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_the_core_and_the_cli_work_without_the_viz_extra(tmp_path):
    data = tmp_path / "text.txt"
    data.write_text("def f(x):\n    return (x, 'y')\n" * 60, encoding="utf-8")
    code = f"""
from rnnkit.cli import build_parser, main
import rnnkit.numpy_engine, rnnkit.inference.probes, rnnkit.viz.gradflow, rnnkit.viz.cellviz
build_parser()
args = ["--data", {str(data)!r}, "--hidden", "4", "--steps-back", "6", "--windows", "2", "--train-steps", "1",
        "--clip-steps", "1", "--sigmas", "2", "--cells", "rnn"]
assert main(["gradflow", *args, "--json"]) == 0
assert main(["gradflow", *args]) == 2
assert main(["plot", {str(tmp_path)!r}]) == 2
assert main(["serve", {str(tmp_path)!r}]) == 2
"""
    result = run_blocked(code)
    assert result.returncode == 0, result.stderr
    assert '"sigma_sweep"' in result.stdout
    errors = result.stderr.splitlines()
    assert "rnnkit gradflow: error: this command needs matplotlib: pip install 'rnnkit[viz]'" in errors
    assert "rnnkit plot: error: this command needs matplotlib: pip install 'rnnkit[viz]'" in errors
    assert "rnnkit serve: error: this command needs starlette: pip install 'rnnkit[viz]'" in errors
    assert "Traceback" not in result.stderr
