"""What keeps the index fast at scale: the store opened once per process, efSearch by size, no
torch when nothing needs embedding."""

from __future__ import annotations

import os
import subprocess
import sys

from sddd.index import vectors
from sddd.index.indexer import build_index
from sddd.index.search import search
from sddd.index.store import shared_store

GUIDE = "# Ports\n\n## Medium\n\nThe medium profile listens on port 8001.\n"


def test_searches_in_one_process_share_one_open_store_until_a_new_generation(make_repo, encoder):
    config = make_repo({"docs/ports.md": GUIDE})
    build_index(config, encoder=encoder)
    first = shared_store(config.index_dir)
    search(config, "which port", k=1, refresh=False)
    assert shared_store(config.index_dir) is first  # not opened (nor its vectors read) again
    path = config.root / "docs/ports.md"
    path.write_text(GUIDE.replace("8001", "9002"), encoding="utf-8")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    build_index(config, encoder=encoder)
    result = search(config, "which port", k=1, refresh=False)
    assert "9002" in result.results[0].snippet
    assert shared_store(config.index_dir) is not first


def test_an_index_deleted_and_built_again_is_not_answered_from_the_old_one(make_repo, encoder):
    import shutil

    config = make_repo({"docs/ports.md": GUIDE})
    build_index(config, encoder=encoder)
    search(config, "which port", k=1, refresh=False)
    shutil.rmtree(config.index_dir)  # the next build is gen-000001 again, with other content
    (config.root / "docs/ports.md").write_text(GUIDE.replace("8001", "7003"), encoding="utf-8")
    build_index(config, encoder=encoder)
    assert "7003" in search(config, "which port", k=1, refresh=False).results[0].snippet


def test_efsearch_grows_with_the_graph_to_what_reached_0_98_at_1m():
    # Measured on real-size vectors (issue 29): 512 gave recall@10 0.925 at 1M, 2,048 gave 0.988.
    assert vectors.ef_search_for(60_000) == vectors.HNSW_EF_SEARCH
    assert vectors.ef_search_for(1_000_000) >= 2048
    sizes = [50_000, 100_000, 400_000, 2_000_000]
    assert [vectors.ef_search_for(n) for n in sizes] == sorted(vectors.ef_search_for(n) for n in sizes)


def test_an_unchanged_index_with_device_auto_imports_no_torch(make_repo, encoder):
    config = make_repo({"docs/ports.md": GUIDE})
    build_index(config, encoder=encoder)
    code = ("import sys\nfrom sddd.core.config import load_config\nfrom sddd.commands.index import index\n"
            f"index(load_config({str(config.path)!r}), as_json=True, device='auto')\n"
            "sys.stderr.write('TORCH %d' % ('torch' in sys.modules))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          cwd=config.root)
    assert proc.returncode == 0, proc.stderr
    assert '"written": false' in proc.stdout and proc.stderr.endswith("TORCH 0")
