"""Which engine a model name needs: a model that needs torch, named where the torch extra is not
installed, is one line saying which extra to install, and the bundled models never need it."""

from __future__ import annotations

import subprocess
import sys

from tests.helpers import write

HUB_MODEL = "sentence-transformers/paraphrase-MiniLM-L3-v2"  # a hub name: only sentence-transformers loads it
# Runs the real CLI in an interpreter where torch and sentence-transformers cannot be imported
# (a None in sys.modules makes `import` raise ImportError, as for a package that is not there).
WITHOUT_TORCH = ("import sys\n"
                 "for name in ('torch', 'sentence_transformers', 'transformers'):\n"
                 "    sys.modules[name] = None\n"
                 "sys.argv = ['sddd', *sys.argv[1:]]\nfrom sddd.cli import main\nmain()\n")


def sddd_without_torch(cwd, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", WITHOUT_TORCH, *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def test_a_model_that_needs_torch_without_the_extra_is_one_line(tmp_path):
    write(tmp_path, "docs/a.md", "# A\n\n## Ports\n\nMedium listens on port 5002.\n")
    write(tmp_path, "sddd.yaml", f"docs: ['docs/*.md']\nmodel: {HUB_MODEL}\n")
    proc = sddd_without_torch(tmp_path, "index")
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert HUB_MODEL in lines[0]
    assert "pip install 'sddd[torch]'" in lines[0]
    assert not (tmp_path / ".sddd" / "CURRENT").exists()  # nothing half-written


def test_the_bundled_models_index_and_search_without_torch(tmp_path):
    write(tmp_path, "docs/a.md", "# A\n\n## Ports\n\nMedium listens on port 5002.\n")
    write(tmp_path, "docs/b.md", "# B\n\n## Mémoire\n\nLe serveur garde 15 % de la mémoire GPU libre.\n")
    write(tmp_path, "sddd.yaml", "docs: ['docs/*.md']\n")  # no model: both bundled ones
    assert sddd_without_torch(tmp_path, "index", "--json").returncode == 0
    proc = sddd_without_torch(tmp_path, "search", "combien de mémoire reste libre", "-f", "plain", "-k", "1")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("docs/b.md:"), proc.stdout
