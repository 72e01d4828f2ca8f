from __future__ import annotations

import codecs
import os
import shutil
import time
from pathlib import Path

import pytest

from sddd.core.config import load_config
from sddd.core.errors import InputError
from sddd.index.encoders.models import bundled_model_dir
from sddd.index.indexer import build_index
from sddd.index.search import search
from sddd.index.store import open_store
from tests.fixtures.corpora import INDEXER_CONFIG as CONFIG
from tests.fixtures.corpora import INDEXER_FILES as FILES
from tests.helpers import sddd_here


def touch_later(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


def test_first_index_embeds_everything_second_nothing(make_repo, encoder):
    config = make_repo(FILES, CONFIG)
    first = build_index(config, encoder=encoder)
    assert first.written and first.files == 4 and first.chunks == first.embedded > 0
    second = build_index(config, encoder=encoder)
    assert not second.written and second.embedded == 0 and second.reused == first.chunks


def test_changing_one_file_reembeds_exactly_its_changed_chunks(make_repo, encoder):
    config = make_repo(FILES, CONFIG)
    first = build_index(config, encoder=encoder)
    path = config.root / "docs/guides/tools.md"
    text = path.read_text().replace("check tool_calls.", "check that tool_calls is not empty.")
    touch_later(path, text)
    report = build_index(config, encoder=encoder)
    assert report.changed_files == ["docs/guides/tools.md"]
    assert report.embedded == 1  # only the section whose text changed
    assert report.reused == first.chunks - 1 and report.pruned == 1
    store = open_store(config.index_dir)
    texts = [c.text for c in store.chunks() if c.path == "docs/guides/tools.md"]
    assert any("is not empty" in t for t in texts)


def test_deleting_a_file_prunes_its_chunks(make_repo, encoder):
    config = make_repo(FILES, CONFIG)
    first = build_index(config, encoder=encoder)
    (config.root / "docs/guides/memory.md").unlink()
    report = build_index(config, encoder=encoder)
    assert report.deleted_files == ["docs/guides/memory.md"]
    assert report.embedded == 0 and report.pruned == 1 and report.chunks == first.chunks - 1
    store = open_store(config.index_dir)
    assert all(c.path != "docs/guides/memory.md" for c in store.chunks())
    # Updated in place: the deleted passage's vector row stays, dead, until a compaction.
    assert store.count == report.chunks and len(store.dead()) == 1
    assert store.vectors(0).ntotal == store.vectors(1).ntotal == store.slots == store.count + 1
    hits = search(config, "GPU memory utilization headroom", k=first.chunks, refresh=False).results
    # one result per file (each at its best passage): every file left is found, the deleted one not
    assert sorted(h.path for h in hits) == sorted({c.path for c in store.chunks()})


def test_model_fingerprint_change_forces_full_rebuild(make_repo, encoder, tmp_path):
    config = make_repo(FILES, CONFIG)
    first = build_index(config, encoder=encoder)
    # Same weights under another name: a different model as far as the index can tell.
    alias = tmp_path / "my-model"
    alias.symlink_to(bundled_model_dir())
    (config.root / "sddd.yaml").write_text(CONFIG + f"model: {alias}\n")
    config = load_config(config.root / "sddd.yaml")
    notices: list[str] = []
    report = build_index(config, notice=notices.append)
    assert report.rebuilt and report.embedded == first.chunks and report.reused == 0
    assert notices and "rebuilding" in notices[0]


def test_bad_files_are_reported_and_skipped_rest_indexes(make_repo, encoder):
    config = make_repo({**FILES, "profiles/broken.yml": "services:\n  x: [\n"}, CONFIG)
    (config.root / "docs/guides/latin1.md").write_bytes("# Caf\xe9\n\nd\xe9j\xe0\n".encode("latin-1"))
    (config.root / "docs/guides/blob.md").write_bytes(b"\x00\x01\x02binary")
    (config.root / ".env").write_text("HUGGING_FACE_HUB_TOKEN=hf_x\n")
    report = build_index(config, encoder=encoder)
    reasons = {s.path: s for s in report.skipped}
    broken = reasons["profiles/broken.yml"]
    assert broken.line == 3 and "malformed YAML" in broken.reason
    assert "not valid UTF-8" in reasons["docs/guides/latin1.md"].reason
    assert "binary" in reasons["docs/guides/blob.md"].reason
    assert report.chunks > 0
    # A second run reports them again without re-reading anything.
    again = build_index(config, encoder=encoder)
    assert {s.path for s in again.skipped} == set(reasons) and not again.written


def test_env_files_are_never_indexed(make_repo, encoder):
    config = make_repo({**FILES, "docs/.env": "HUGGING_FACE_HUB_TOKEN=hf_abcdefghijklmnopqrstu\n"},
                       "docs: ['docs/**/*', 'docs/**/.env']\n")
    build_index(config, encoder=encoder)
    store = open_store(config.index_dir)
    assert "docs/.env" not in store.files
    assert all("hf_abc" not in c.text for c in store.chunks())


def test_empty_corpus_is_a_clear_error(make_repo):
    config = make_repo({}, CONFIG)
    with pytest.raises(InputError, match="nothing to index"):
        build_index(config)


def test_search_brings_a_stale_index_up_to_date(make_repo, encoder):
    config = make_repo(FILES, CONFIG)
    build_index(config, encoder=encoder)
    time.sleep(0.01)
    touch_later(config.root / "docs/guides/new.md",
                "# Backups\n\n## Backing up the Hugging Face cache volume\n\nSnapshot the volume nightly.\n")
    result = search(config, "how do I back up the model cache volume", k=1)
    assert result.results[0].path == "docs/guides/new.md"


def test_archived_copy_moves_kind_to_archive(make_repo, encoder):
    files = {**FILES, "archives/docker_configs_20251016/docker-compose-medium.old.yml":
             FILES["profiles/medium.yml"]}
    config = make_repo(files, CONFIG)
    build_index(config, encoder=encoder)
    kinds = {c.path: c.kind for c in open_store(config.index_dir).chunks()}
    assert kinds["archives/docker_configs_20251016/docker-compose-medium.old.yml"] == "archive"
    assert kinds["profiles/medium.yml"] == "profile"
    shutil.rmtree(config.index_dir)


def test_a_link_out_of_the_repository_is_refused_with_a_skipped_line(make_repo, encoder, tmp_path):
    """`ln -s /etc/passwd docs/guides/passwd.md; sddd index` indexed /etc/passwd silently."""
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    outside.mkdir()
    (outside / "secret.md").write_text("# Outside\n\nroot:x:0:0:root:/root:/bin/bash\n")
    (outside / "kb").mkdir()
    (outside / "kb" / "more.md").write_text("# More outside\n\ndaemon:x:1:1:daemon\n")
    config = make_repo(FILES, CONFIG)
    (config.root / "docs/guides/passwd.md").symlink_to(outside / "secret.md")
    (config.root / "docs/guides/elsewhere").symlink_to(outside / "kb", target_is_directory=True)
    (config.root / "docs/guides/inside.md").symlink_to(config.root / "docs/guides/memory.md")
    report = build_index(config, encoder=encoder)
    refused = {s.path: s.reason for s in report.skipped}
    # (A linked folder is not entered by `**`; named by a glob, its files are refused too.)
    assert set(refused) == {"docs/guides/passwd.md"}, refused
    assert all("symbolic link to" in r and "outside the repository" in r for r in refused.values())
    assert str(outside / "secret.md") in refused["docs/guides/passwd.md"]
    store = open_store(config.index_dir)
    assert "docs/guides/inside.md" in store.files  # a link that stays inside is a file like any other
    assert all("root:x:0:0" not in c.text and "daemon:x" not in c.text for c in store.chunks())
    assert not build_index(config, encoder=encoder).written  # refused again, without a rewrite
    (config.root / "sddd.yaml").write_text("docs: ['docs/**/*.md', 'docs/guides/elsewhere/*.md']\n")
    named = build_index(load_config(config.root / "sddd.yaml"), encoder=encoder)
    assert {s.path for s in named.skipped} == {"docs/guides/passwd.md", "docs/guides/elsewhere/more.md"}
    proc = sddd_here("index", cwd=config.root)
    assert proc.returncode == 0
    assert "skipped docs/guides/passwd.md: symbolic link to" in proc.stderr
    found = sddd_here("search", "--json", "root:x:0:0 bash daemon", cwd=config.root)
    assert "/bin/bash" not in found.stdout and "passwd.md" not in found.stdout


def test_a_byte_order_mark_keeps_the_first_heading(make_repo, encoder):
    config = make_repo(FILES, CONFIG)
    text = "# Windows notes\n\n## PowerShell quoting\n\nUse single quotes around --api-key values.\n"
    (config.root / "docs/guides/windows.md").write_bytes(codecs.BOM_UTF8 + text.encode("utf-8"))
    build_index(config, encoder=encoder)
    store = open_store(config.index_dir)
    chunks = [c for c in store.chunks() if c.path == "docs/guides/windows.md"]
    assert [(c.title, c.heading, c.anchor) for c in chunks] == [
        ("Windows notes", "Windows notes › PowerShell quoting", "powershell-quoting")]
    assert store.files["docs/guides/windows.md"].title == "Windows notes"
