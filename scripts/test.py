"""The whole test suite: lint, train the model once (cached by Rasa), then pytest.

``make test`` runs this. pytest's "no tests ran" (exit 5) is a failure here.
"""

from __future__ import annotations

import os
import subprocess
import sys

from scripts.stack import ROOT, VENV_BIN, train


def main() -> int:
    print("==> ruff", flush=True)
    lint = subprocess.run([str(VENV_BIN / "ruff"), "check", "bot", "actions", "scripts", "bench",
                           "tests"], cwd=ROOT, check=False)
    if lint.returncode:
        return lint.returncode
    print("==> mypy (pure core)", flush=True)
    types = subprocess.run([str(VENV_BIN / "mypy")], cwd=ROOT, check=False)
    if types.returncode:
        return types.returncode
    print("==> Training the model (skipped by Rasa when nothing changed)", flush=True)
    model = train()
    env = dict(os.environ, SHOP_TEST_MODEL=str(model), TF_CPP_MIN_LOG_LEVEL="3",
               PYTHONPATH=str(ROOT))
    print("==> pytest", flush=True)
    result = subprocess.run([sys.executable, "-m", "pytest", *sys.argv[1:]], cwd=ROOT, env=env, check=False)
    if result.returncode == 5:
        print("pytest collected no tests: that is a failure", file=sys.stderr)
        return 1
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
