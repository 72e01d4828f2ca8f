"""`sddd site build`: real `mkdocs build` runs of the repository's knowledge base (or a copy).

The repository's own site must build with --strict (the project's CI gate). Generated pages come
from the profiles, the archive manifests, the check report and the index; the tests read the
expected values with the same public loaders, never from hard-coded copies.
"""

from __future__ import annotations

import hashlib
import json
import re
import socket
import subprocess
import sys
import urllib.request
from html import unescape
from pathlib import Path

import numpy as np
import pytest
import yaml

from sddd.archive.archiving import manifests
from sddd.compose.profiles import load_profile, profile_names
from sddd.core.config import load_config
from sddd.core.secrets import mask_value
from sddd.index.store import open_store
from tests.fixtures.site_repo import build, clone, copy_repo, flag_rows, table_rows, tree_digest
from tests.helpers import REPO, sddd_here, wait_until, write


@pytest.fixture(scope="module")
def kb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the knowledge base with a fresh index, built once into kb/site."""
    root = copy_repo(tmp_path_factory.mktemp("site") / "kb")
    code, report = build(root, "--strict")
    assert code == 0, report["warnings"]
    return root


def page(site: Path, src_uri: str) -> str:
    """The HTML MkDocs wrote for ``src_uri`` (directory URLs: guides/x.md -> guides/x/index.html)."""
    stem = src_uri.removesuffix(".md")
    path = site / ("index.html" if stem == "index" else f"{stem}/index.html")
    return path.read_text(encoding="utf-8")


def ids_of(html: str) -> set[str]:
    return set(re.findall(r'\bid="([^"]+)"', html))


def test_repository_site_builds_strict(tmp_path: Path):
    """CI gate: `sddd site build --strict` on this repository; generated pages never land in docs/."""
    before = tree_digest(REPO / "docs")
    code, report = build(REPO, "--strict", "--output", str(tmp_path / "site"))
    assert code == 0 and report["passed"], report["warnings"]
    assert report["warnings"] == []
    names = profile_names(load_config(REPO / "sddd.yaml"))
    assert names, "the repository has compose profiles"
    for name in names:
        assert f"reference/profiles/{name}.md" in report["generated"]
        assert (tmp_path / "site" / "reference" / "profiles" / name / "index.html").is_file()
    assert {"reference/archives.md", "reference/discoverability.md"} <= set(report["generated"])
    for guide in (REPO / "docs" / "guides").glob("*.md"):
        assert (tmp_path / "site" / "guides" / guide.stem / "index.html").is_file()
    assert tree_digest(REPO / "docs") == before, "a build must not write into docs/"


def test_profile_page_shows_every_value_from_the_loader(kb: Path):
    profile = load_profile(load_config(kb / "sddd.yaml"), "medium", strict=False)
    svc = profile.service
    html = page(kb / "site", "reference/profiles/medium.md")
    rows = flag_rows(html)
    assert list(rows) == [a.flag for a in svc.args], "one row per flag, in command order"
    for arg in svc.args:
        cells, hrefs = rows[arg.flag]
        assert cells[1] == (arg.value if arg.value is not None else "on"), arg.flag
        assert hrefs, f"{arg.flag} links to no guide section"
        assert cells[3] == str(svc.flag_source(arg.flag))
    facts = {cells[0]: cells[1] for cells, _ in table_rows(html) if len(cells) == 2}
    assert facts["Model"] == svc.model and facts["Image"] == svc.image
    assert facts["Service"] == svc.name
    assert facts["Tensor parallel"] == str(svc.tensor_parallel)
    assert facts["GPUs"].startswith(str(svc.gpu.gpus))
    assert all(did in facts["GPUs"] for did in svc.gpu.device_ids)
    assert f"host {svc.ports[0].host} → container {svc.ports[0].container}" in facts["Ports"]
    assert "Resolved YAML" in html
    assert f"--gpu-memory-utilization={svc.vllm['--gpu-memory-utilization']}" in html


def test_flag_links_open_the_section_that_explains_the_flag(kb: Path):
    site = kb / "site"
    for name in ("medium", "micro"):
        rows = flag_rows(page(site, f"reference/profiles/{name}.md"))
        value = rows["--gpu-memory-utilization"][0][1]
        for _cells, hrefs in rows.values():
            for href in hrefs:
                target, _, anchor = href.partition("#")
                resolved = (site / "reference" / "profiles" / name / target).resolve()
                html = (resolved / "index.html" if resolved.is_dir() else resolved).read_text("utf-8")
                assert anchor in ids_of(html), f"{name}: {href} has no such heading"
        cells, hrefs = rows["--gpu-memory-utilization"]
        # The table row of this profile first; a "Why ... is 0.85" heading never for another value.
        assert hrefs[0].endswith(f"#the-{name}-profile-every-flag-and-why")
        why = [h for h in hrefs if "#why-gpu-memory-utilization-is-" in h]
        assert all(h.endswith("-" + value.replace(".", "")) for h in why), (name, value, cells)
        heading = "why-gpu-memory-utilization-is-" + value.replace(".", "")
        assert bool(why) == (heading in ids_of(page(site, "guides/configuration.md"))), (name, hrefs)


def test_secrets_are_masked_on_profile_pages(kb: Path, tmp_path: Path):
    root = clone(kb, tmp_path / "kb")
    secret = "sk-live-4f1c2b9e8d7a6c5b4a3f2e1d"
    proc = sddd_here("site", "build", "--no-related", cwd=root, env={"VLLM_API_KEY_MEDIUM": secret})
    assert proc.returncode == 0, proc.stderr
    html = page(root / "site", "reference/profiles/medium.md")
    assert secret not in html
    assert f">{mask_value(secret)}<" in html, "the masked value stands in the resolved YAML"


def test_a_changed_profile_value_shows_on_the_next_build(kb: Path, tmp_path: Path):
    """No page is edited: the profile page is generated from profiles/medium.yml on each build."""
    root = clone(kb, tmp_path / "kb")
    config = load_config(root / "sddd.yaml")
    old = load_profile(config, "medium", strict=False).service.vllm["--gpu-memory-utilization"]
    new = "0.8" if old != "0.8" else "0.75"
    medium = root / "profiles" / "medium.yml"
    text = medium.read_text(encoding="utf-8")
    assert f"--gpu-memory-utilization={old}" in text
    medium.write_text(text.replace(f"--gpu-memory-utilization={old}", f"--gpu-memory-utilization={new}"),
                      encoding="utf-8")
    docs = tree_digest(root / "docs")
    code, report = build(root, "--strict")
    assert code == 0, report["warnings"]
    html = page(root / "site", "reference/profiles/medium.md")
    assert flag_rows(html)["--gpu-memory-utilization"][0][1] == new
    assert f"--gpu-memory-utilization={new}" in html and f"--gpu-memory-utilization={old}\n" not in html
    for heading in ("docker-swarm", "kubernetes"):  # every target's rendering follows the profile
        text = rendering(html, heading)
        assert f"--gpu-memory-utilization={new}" in text and f"--gpu-memory-utilization={old}" not in text
    helm = yaml.safe_load(rendering(html, "helm-values-vllm-production-stack"))
    assert helm["servingEngineSpec"]["modelSpec"][0]["vllmConfig"]["gpuMemoryUtilization"] == float(new)
    assert tree_digest(root / "docs") == docs


def rendering(html: str, heading: str) -> str:
    """The code block under the ``heading`` section of a profile page, as plain text."""
    start = html.index(f'<h2 id="{heading}">')
    block = re.search(r"<pre[^>]*>.*?<code[^>]*>(.*?)</code>", html[start:], re.DOTALL)
    assert block, f"no code block under {heading}"
    return unescape(re.sub(r"<[^>]+>", "", block.group(1)))


def test_profile_page_shows_each_targets_rendering(kb: Path):
    """Swarm stack, Kubernetes manifests and Helm values on the page, read back from the HTML and
    checked against the loader: one resolved profile feeds every target."""
    svc = load_profile(load_config(kb / "sddd.yaml"), "medium", strict=False).service
    html = page(kb / "site", "reference/profiles/medium.md")
    stack = yaml.safe_load(rendering(html, "docker-swarm"))["services"][svc.name]
    generic = stack["deploy"]["resources"]["reservations"]["generic_resources"]
    assert generic == [{"discrete_resource_spec": {"kind": "NVIDIA-GPU", "value": svc.gpu.gpus}}]
    assert stack["command"] == svc.spec["command"]
    assert stack["environment"]["VLLM_API_KEY"] == "${VLLM_API_KEY_MEDIUM}"
    assert "ipc: host has no Swarm meaning" in html  # the lint of what Swarm ignores is shown
    docs = {d["kind"]: d for d in yaml.safe_load_all(rendering(html, "kubernetes"))}
    container = docs["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == svc.image
    assert container["resources"]["limits"]["nvidia.com/gpu"] == svc.gpu.gpus
    env = {e["name"]: e for e in container["env"]}
    assert "value" not in env["VLLM_API_KEY"] and "secretKeyRef" in env["VLLM_API_KEY"]["valueFrom"]
    helm = yaml.safe_load(rendering(html, "helm-values-vllm-production-stack"))
    model = helm["servingEngineSpec"]["modelSpec"][0]
    assert (model["modelURL"], model["requestGPU"]) == (svc.model, svc.gpu.gpus)


def test_strict_fails_on_a_broken_link_and_keeps_the_previous_site(kb: Path, tmp_path: Path):
    root = clone(kb, tmp_path / "kb")
    site = tree_digest(root / "site")
    guide = root / "docs" / "guides" / "deployment.md"
    guide.write_text(guide.read_text(encoding="utf-8") + "\nSee [the old page](no-such-page.md).\n",
                     encoding="utf-8")
    code, report = build(root, "--strict", "--no-related")
    assert code == 1 and not report["passed"]
    assert any("no-such-page.md" in w and "deployment.md" in w for w in report["warnings"]), report
    assert tree_digest(root / "site") == site, "a failed strict build must leave the old site"
    assert [p.name for p in root.iterdir() if p.name.startswith(".site")] == [], "staging left behind"
    proc = sddd_here("site", "build", "--strict", "--no-related", cwd=root)
    assert proc.returncode == 1
    assert "no-such-page.md" in proc.stderr and "strict" in proc.stderr and "Traceback" not in proc.stderr
    code, report = build(root, "--no-related")  # without --strict: built, warning reported
    assert code == 0 and report["passed"] and any("no-such-page.md" in w for w in report["warnings"])
    assert tree_digest(root / "site") != site


def test_a_page_loading_from_the_network_fails_strict(kb: Path, tmp_path: Path):
    root = clone(kb, tmp_path / "kb")
    guide = root / "docs" / "guides" / "maintenance.md"
    guide.write_text(guide.read_text(encoding="utf-8")
                     + '\n<script src="https://cdn.example.com/widget.js"></script>\n', encoding="utf-8")
    code, report = build(root, "--strict", "--no-related")
    assert code == 1
    assert any("https://cdn.example.com/widget.js" in w and "maintenance" in w for w in report["warnings"])


def test_archive_page_lists_every_manifest_entry(kb: Path, tmp_path: Path):
    root = clone(kb, tmp_path / "kb")
    legacy = write(root, "docker-compose-medium-fixed.yml", (root / "profiles" / "medium.yml").read_text())
    digest = hashlib.sha256(legacy.read_bytes()).hexdigest()
    write(root, "scripts/deploy-medium-old.sh", "#!/bin/sh\ndocker compose up -d\n")
    proc = sddd_here("archive", "docker-compose-medium-fixed.yml", "scripts/deploy-medium-old.sh",
                    "--reason", "superseded by profiles/medium.yml", "--date", "2025-10-16", cwd=root)
    assert proc.returncode == 0, proc.stderr
    found = [(m, e) for _, m in manifests(load_config(root / "sddd.yaml")) for e in m.entries]
    assert len(found) == 2
    code, report = build(root, "--strict", "--no-related")
    assert code == 0, report["warnings"]
    html = page(root / "site", "reference/archives.md")
    rows = {cells[1]: cells for cells, _ in table_rows(html)}
    for m, e in found:
        cells = rows[e.original]
        assert f"{m.folder}/{cells[0]}" == e.archived and m.folder in html
        assert cells[2] == e.reason and cells[3] == e.archived_on and cells[4] == e.review_date
        assert cells[5] == e.sha256
    assert rows["docker-compose-medium-fixed.yml"][5] == digest


def test_discoverability_page_charts_each_score_against_its_threshold(kb: Path, tmp_path: Path):
    root = clone(kb, tmp_path / "kb")
    write(root, "targets.yaml", """
        - id: share-gpu
          query: "micro and mini share the same GPU memory"
          expect: docs/guides/configuration.md#why-micro-and-mini-share-gpu-2
        - id: share-gpu-wrong-page
          query: "micro and mini share the same GPU memory"
          expect: docs/guides/deployment.md
          top_k: 1
          min_score: 0.9
    """)
    proc = sddd_here("check", "--targets", "targets.yaml", "--format", "json",
                    "--output", ".sddd/reports/check.json", cwd=root)
    assert proc.returncode == 1, proc.stderr  # one target fails on purpose
    report = json.loads((root / ".sddd" / "reports" / "check.json").read_text())
    code, built = build(root, "--strict", "--no-related")
    assert code == 0, built["warnings"]
    html = page(root / "site", "reference/discoverability.md")
    bars = re.findall(r'<rect x="[\d.]+" y="[\d.]+" width="([\d.]+)" height="[\d.]+" fill="(#[0-9a-f]+)">'
                      r"<title>([^:<]+):", html)
    assert [b[2] for b in bars] == [t["id"] for t in report["targets"]]
    widths = {name: float(w) for w, _, name in bars}
    scores = {t["id"]: t["score"] for t in report["targets"]}
    assert widths["share-gpu"] / widths["share-gpu-wrong-page"] == pytest.approx(
        scores["share-gpu"] / scores["share-gpu-wrong-page"], rel=0.01)
    colours = {name: fill for _, fill, name in bars}
    assert colours["share-gpu"] != colours["share-gpu-wrong-page"]
    marks = {cells[1]: cells[0] for cells, _ in table_rows(html) if len(cells) == 8 and cells[0] != "Pass"}
    assert marks == {t["id"]: "✓" if t["passed"] else "✗" for t in report["targets"]}
    assert "<script" not in html.split('class="sddd-chart-box"')[1].split("</div>")[0]


def test_related_pages_are_the_nearest_documents_of_the_index(kb: Path):
    """The three links at the end of a guide are its nearest documents by mean chunk vector."""
    config = load_config(kb / "sddd.yaml")
    store = open_store(config.index_dir)
    try:
        chunks, vectors = store.chunks(), store.all_vectors()
        kinds = {path: rec.kind for path, rec in store.files.items()}
    finally:
        store.close()
    docs = {}
    for path in {c.path for c in chunks}:
        mean = vectors[[i for i, c in enumerate(chunks) if c.path == path]].mean(axis=0)
        docs[path] = mean / np.linalg.norm(mean)
    profiles = {f"profiles/{n}.yml" for n in profile_names(config)}
    pages = [p for p in docs if (p.startswith("docs/") and p != "docs/index.md") or p in profiles]
    me = "docs/guides/optimization.md"
    assert kinds[me] == "guide"
    expected = sorted((p for p in pages if p != me), key=lambda p: (-float(docs[p] @ docs[me]), p))[:3]
    html = page(kb / "site", "guides/optimization.md")
    related = html.split('id="related-pages"')[1]
    hrefs = re.findall(r'<a href="([^"]+)"', related.split("</ul>")[0])
    shown = [h.replace("../", "").rstrip("/") for h in hrefs]
    want = [("reference/profiles/" + Path(p).stem) if p in profiles
            else p.removeprefix("docs/").removesuffix(".md") for p in expected]
    assert [s.removeprefix("guides/") for s in shown] == [w.removeprefix("guides/") for w in want]


def test_a_flag_no_guide_names_links_the_nearest_section_by_search(make_repo, tmp_path: Path):
    make_repo({
        "docs/index.md": "# Home\n\nThe team's services.\n",
        "docs/guides/naming.md": """
            # Naming guide

            ## Give the model a short alias that clients send

            Clients send a short alias instead of the full Hugging Face model id, so a model can be
            swapped without changing every client. Served model name: alpha or beta.
        """,
        "docs/guides/memory.md": """
            # Memory guide

            ## Share of GPU memory for the KV cache

            The fraction of each card that the server may claim for weights and KV cache.
        """,
        "profiles/base.yml": "networks:\n  net: {}\n",
        "profiles/tiny.yml": """
            services:
              vllm-tiny:
                image: vllm/vllm-openai:v0.11.0
                command: ["--model=Qwen/Qwen3-1.7B-FP8", "--served-model-name=alpha|beta"]
        """,
        "mkdocs.yml": "site_name: t\ntheme:\n  name: material\n  font: false\nplugins:\n  - search\n"
                      "  - sddd\nmarkdown_extensions:\n  - admonition\n  - tables\n",
    })
    code, report = build(tmp_path, "--strict")
    assert code == 0, report["warnings"]
    rows = flag_rows(page(tmp_path / "site", "reference/profiles/tiny.md"))
    cells, hrefs = rows["--served-model-name"]
    assert cells[1] == "alpha|beta", "a pipe in a value must not split the table cell"
    assert "(nearest by search)" in cells[2]
    assert hrefs == ["../../../guides/naming/#give-the-model-a-short-alias-that-clients-send"]


def test_bad_input_is_one_line_with_its_exit_code(kb: Path, tmp_path: Path):
    root = clone(kb, tmp_path / "kb")
    site = tree_digest(root / "site")
    medium = root / "profiles" / "medium.yml"
    medium.write_text(medium.read_text(encoding="utf-8") + "  oops: [unclosed\n", encoding="utf-8")
    proc = sddd_here("site", "build", "--no-related", cwd=root)
    assert proc.returncode == 4, proc.stderr
    assert proc.stderr.count("\n") == 1 and "profiles/medium.yml:" in proc.stderr, proc.stderr
    assert tree_digest(root / "site") == site

    (root / "keep").mkdir()
    write(root, "keep/notes.txt", "mine\n")
    proc = sddd_here("site", "build", "--output", "keep", cwd=root)
    assert proc.returncode == 6 and "keep" in proc.stderr and (root / "keep" / "notes.txt").is_file()

    mkdocs = (root / "mkdocs.yml").read_text(encoding="utf-8")
    (root / "mkdocs.yml").write_text(mkdocs.replace("  - sddd:", "  - sddd-typo:"), encoding="utf-8")
    proc = sddd_here("site", "build", cwd=root)
    assert proc.returncode == 2 and '"sddd-typo" plugin is not installed' in proc.stderr, proc.stderr
    assert proc.stderr.count("\n") == 1
    (root / "mkdocs.yml").write_text(mkdocs + "theme: [\n", encoding="utf-8")
    proc = sddd_here("site", "build", cwd=root)
    lines = mkdocs.count("\n") + 2
    assert proc.returncode == 2 and f"mkdocs.yml:{lines}:" in proc.stderr and proc.stderr.count("\n") == 1

    (root / "mkdocs.yml").write_text("site_name: x\ntheme:\n  name: material\nplugins:\n  - search\n")
    proc = sddd_here("site", "build", cwd=root)
    assert proc.returncode == 2 and "plugin" in proc.stderr and proc.stderr.count("\n") == 1

    (root / "mkdocs.yml").unlink()
    proc = sddd_here("site", "build", cwd=root)
    assert proc.returncode == 2 and "mkdocs.yml" in proc.stderr and proc.stderr.count("\n") == 1


def _get(url: str) -> str | None:
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # localhost, never a proxy
    try:
        with direct.open(url, timeout=5) as response:
            return response.read().decode("utf-8")
    except OSError:
        return None


def test_serve_rebuilds_when_a_profile_changes(kb: Path, tmp_path: Path):
    root = clone(kb, tmp_path / "kb")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/reference/profiles/medium/"
    server = subprocess.Popen([sys.executable, "-m", "sddd.cli", "site", "serve", "--no-related",
                               "--addr", f"127.0.0.1:{port}"], cwd=root, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    try:
        first = wait_until(lambda: _get(url), timeout=90, every=0.5, what="the server to answer")
        old = flag_rows(first)["--max-num-seqs"][0][1]
        new = str(int(old) + 8)
        medium = root / "profiles" / "medium.yml"
        medium.write_text(medium.read_text(encoding="utf-8").replace(
            f"--max-num-seqs={old}", f"--max-num-seqs={new}"), encoding="utf-8")
        wait_until(lambda: (page := _get(url)) and flag_rows(page)["--max-num-seqs"][0][1] == new,
                   timeout=90, every=0.5, what="the served page to pick up the profile change")
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0]
    assert "Serving on" in output and "Traceback" not in output, output
