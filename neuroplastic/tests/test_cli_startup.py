"""`neuroplastic --help` stays fast: importing the command line loads no heavy library."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("torch", "numpy", "sqlalchemy", "matplotlib", "neuroplastic.runs")


def test_importing_the_cli_imports_no_heavy_library():
    code = (
        f"import sys, neuroplastic.cli; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == ""


def test_help_and_an_argument_error_import_no_heavy_library():
    for args, expected_code in ((["--help"], 0), (["run", "backprop", "--seed", "-1"], 2)):
        code = (
            "import sys\n"
            "from neuroplastic import cli\n"
            f"sys.argv = ['neuroplastic', *{args!r}]\n"
            "try:\n    cli.main()\nexcept SystemExit as exc:\n    status = exc.code or 0\n"
            f"loaded = [m for m in {HEAVY!r} if m in sys.modules]\n"
            "print('LOADED=' + ','.join(loaded), status)\n"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
        )
        assert f"LOADED= {expected_code}" in out.stdout, (args, out.stdout, out.stderr)
