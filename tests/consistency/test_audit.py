"""`sddd audit` on a repository like the seeds' and on this one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sddd.compose.variants import detect_variants
from sddd.consistency.audit import run_audit
from sddd.core.config import load_config
from tests.fixtures.seed_repo import FAKE_HF_TOKEN, MEDIUM, SCRIPTS, VARIANTS, build_seed_repo
from tests.helpers import REPO, sddd_here, write


@pytest.fixture(scope="module")
def seed(tmp_path_factory):
    return build_seed_repo(tmp_path_factory.mktemp("seed"))


@pytest.fixture(scope="module")
def report(seed):
    return run_audit(load_config(seed.config_path))


def rules(report, rule):
    return [f for f in report.findings if f.rule == rule]


def test_budgets_of_the_restoration_plan(report):
    budgets = {b.name: b for b in report.budgets}
    compose = budgets["compose files outside profiles"]
    assert (compose.count, compose.limit, compose.over) == (5, 3, True)
    assert sorted(compose.files) == sorted(VARIANTS)
    scripts = budgets["scripts"]
    assert (scripts.count, scripts.limit, scripts.over) == (len(SCRIPTS), 8, True)
    docs = budgets["documents in all"]
    assert (docs.count, docs.limit, docs.over) == (12, 10, True)
    assert budgets["guide documents"].limit is None and not budgets["guide documents"].over
    assert len(rules(report, "budget")) == 3 and all(f.severity == "error" for f in rules(report, "budget"))


def test_variants_come_from_the_archive_detector_and_one_budget_finding_lists_them(seed, report):
    detected = {c.path for c in detect_variants(load_config(seed.config_path))}
    assert detected == set(VARIANTS)
    over = [f for f in rules(report, "budget") if "compose files outside profiles" in f.message]
    assert len(over) == 1 and set(over[0].files) == detected
    at = ("sddd.yaml", seed.line("sddd.yaml", "max_compose_outside_profiles"))
    assert (over[0].path, over[0].line) == at
    for name in VARIANTS:  # each file named whole, with what makes it look superseded
        assert name in over[0].message
    assert "docker-compose-micro-qwen3-new.yml (-new)" in over[0].message
    # The budget already says it: no warning per variant file repeating it.
    assert not rules(report, "variant")


def test_variants_are_warned_one_by_one_when_no_budget_covers_them(tmp_path: Path):
    seed = build_seed_repo(tmp_path / "repo", git=False)
    write(seed.root, "sddd.yaml", seed.config_path.read_text().replace("max_compose_outside_profiles: 3",
                                                                       "max_compose_outside_profiles: 9"))
    report = run_audit(load_config(seed.config_path))
    assert {f.path for f in rules(report, "variant")} == set(VARIANTS)
    assert all("sddd archive" in f.message for f in rules(report, "variant"))


def test_secret_hygiene(seed, report):
    tracked = rules(report, "env_tracked")
    assert [(f.path, f.severity) for f in tracked] == [(".env", "error")]
    secrets = {(f.path, f.line): f for f in rules(report, "secret")}
    token = secrets[(".env", 1)]
    assert "hf_***" in token.message and FAKE_HF_TOKEN not in token.message
    missing = rules(report, "env_missing")
    assert [(f.path, f.line) for f in missing] == [("profiles/mini.yml", seed.line("profiles/mini.yml",
                                                                                    "${VLLM_API_KEY_MINI}"))]
    unused = rules(report, "env_unused")
    assert [(f.path, f.line, f.severity) for f in unused] == [
        (".env.example", seed.line(".env.example", "GPU_MEMORY_UTILIZATION"), "info")]


def test_compose_lint_over_every_profile(seed, report):
    lint = {f.rule: f for f in report.findings if f.rule.startswith("lint:")}
    runtime = lint["lint:gpu-reservation"]
    assert (runtime.path, runtime.line, runtime.severity) == (
        "profiles/micro.yml", seed.line("profiles/micro.yml", "runtime: nvidia"), "error")
    assert lint["lint:healthcheck"].path == "profiles/mini.yml"
    assert not [f for f in report.findings if f.rule.startswith("lint:") and f.path == "profiles/medium.yml"]


def test_cli_json_github_and_exit_code(seed):
    result = sddd_here("audit", "--json", cwd=seed.root)
    assert result.returncode == 1, result.stderr
    data = json.loads(result.stdout)
    assert data["passed"] is False and data["git"] is True
    assert sum(b["over"] for b in data["budgets"]) == 3
    assert FAKE_HF_TOKEN not in result.stdout
    github = sddd_here("audit", "--format", "github", cwd=seed.root)
    assert "::error file=.env,line=1,title=sddd audit%3A secret::" in github.stdout
    table = sddd_here("audit", "--format", "table", cwd=seed.root)
    assert "Entropy budget" in table.stdout and "over" in table.stdout
    assert FAKE_HF_TOKEN not in table.stdout + table.stderr


def test_within_budget_and_clean_passes(tmp_path: Path):
    seed = build_seed_repo(tmp_path / "repo", git=False)
    for name in VARIANTS[3:]:
        (seed.root / name).unlink()
    write(seed.root, "sddd.yaml", seed.config_path.read_text().replace("max_scripts: 8", "max_scripts: 10")
          .replace("{total: 10}", "{total: 12}") + "  fail_on: error\n  severity: {variant: info}\n")
    (seed.root / "profiles/micro.yml").write_text(
        (seed.root / "profiles/micro.yml").read_text().replace("    runtime: nvidia\n", "").replace(
            "    healthcheck:", "    deploy:\n      resources:\n        reservations:\n          devices:\n"
            "            - {driver: nvidia, device_ids: ['2'], capabilities: [gpu]}\n    healthcheck:"))
    (seed.root / "profiles/mini.yml").write_text((seed.root / "profiles/mini.yml").read_text() + (
        "    healthcheck:\n      test: [CMD, curl, -fsS, http://localhost:8000/health]\n"))
    report = run_audit(load_config(seed.config_path))
    assert report.notes and "not a git work tree" in report.notes[0]
    assert not rules(report, "env_tracked") and not rules(report, "secret")
    assert report.passed, [f.to_json() for f in report.failed]


def test_bad_audit_config_is_a_usage_error(tmp_path: Path):
    seed = build_seed_repo(tmp_path / "repo", git=False)
    write(seed.root, "sddd.yaml", seed.config_path.read_text().replace("max_scripts: 8", "max_scripts: many"))
    result = sddd_here("audit", cwd=seed.root)
    assert result.returncode == 2 and "max_scripts" in result.stderr and "Traceback" not in result.stderr


def test_the_project_passes_its_own_audit():
    """The project's CI gate: within its budgets, no secret, no lint error, profiles/{size}.yml."""
    report = run_audit(load_config(REPO / "sddd.yaml"))
    assert report.passed, [f.to_json() for f in report.failed]
    assert not [f for f in report.findings if f.severity == "error"]
    result = sddd_here("audit", cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("git", [True, False])
def test_links_out_of_the_repository_are_errors_and_never_read(tmp_path: Path, git: bool):
    """`ln -s /etc/passwd docs/guides/passwd.md`: audit passed and drift read the target."""
    seed = build_seed_repo(tmp_path / "repo", git=git)
    outside = tmp_path / "outside"
    (outside / "kb").mkdir(parents=True)
    (outside / "passwd.md").write_text("# Users\n\nThe server listens on port 8999.\n")
    (seed.root / "docs/passwd.md").symlink_to(outside / "passwd.md")
    (seed.root / "docs/shared").symlink_to(outside / "kb", target_is_directory=True)
    (seed.root / "docs/same.md").symlink_to(seed.root / "docs/qwen3/README.md")  # inside: fine
    audit = json.loads(sddd_here("audit", "--json", cwd=seed.root).stdout)
    links = {f["path"]: f for f in audit["findings"] if f["rule"] == "link_outside"}
    assert set(links) == {"docs/passwd.md", "docs/shared"}, links
    assert links["docs/passwd.md"]["severity"] == "error" and not audit["passed"]
    assert str(outside / "passwd.md") in links["docs/passwd.md"]["message"]
    drift = sddd_here("drift", "--json", cwd=seed.root)
    assert "docs/passwd.md: symbolic link to" in drift.stderr and "(document skipped)" in drift.stderr
    assert "8999" not in drift.stdout  # the target's claims were never read



def test_a_symbolic_link_loop_is_no_internal_error(tmp_path: Path):
    """`ln -s loop docs/loop` (or two links naming each other): audit ended in `internal error:
    RuntimeError: Symlink loop` (exit 70); a loop leads nowhere, so there is nothing to flag."""
    seed = build_seed_repo(tmp_path / "repo")
    (seed.root / "docs/loop").symlink_to("loop")
    (seed.root / "docs/a.md").symlink_to("b.md")
    (seed.root / "docs/b.md").symlink_to("a.md")
    for command in ("audit", "drift", "index"):
        result = sddd_here(command, cwd=seed.root)
        assert result.returncode in (0, 1), (command, result.returncode, result.stderr)
        assert "internal error" not in result.stderr and "Traceback" not in result.stderr

# --- the seeds' GPU mistakes ----------------------------------------------------------------------

def lint_findings(report, rule):
    return [f for f in report.findings if f.rule == f"lint:{rule}"]


def test_runtime_nvidia_beside_a_reservation_and_a_variable_device_id(tmp_path: Path):
    """Seed 002's "fix" (runtime: nvidia) kept beside the reservation, and its real cause: a
    device_ids entry holding ${CUDA_VISIBLE_DEVICES_MEDIUM}, unset here (so never "0,1" to see)."""
    medium = (MEDIUM.replace("    ipc: host\n", "    ipc: host\n    runtime: nvidia\n")
              .replace("device_ids: ['0', '1']", "device_ids: ['${CUDA_VISIBLE_DEVICES_MEDIUM}']"))
    seed = build_seed_repo(tmp_path / "repo", extra={"profiles/medium.yml": medium})
    report = run_audit(load_config(seed.config_path))
    runtime = {(f.path, f.line): f for f in lint_findings(report, "gpu-reservation")}
    beside = runtime[("profiles/medium.yml", seed.line("profiles/medium.yml", "runtime: nvidia"))]
    assert "beside the GPU reservation" in beside.message and "remove runtime: nvidia" in beside.message
    alone = runtime[("profiles/micro.yml", seed.line("profiles/micro.yml", "runtime: nvidia"))]
    assert "deploy.resources.reservations.devices" in alone.message  # what to use instead
    [ids] = lint_findings(report, "gpu-one-id-per-entry")
    assert (ids.path, ids.line) == ("profiles/medium.yml", seed.line("profiles/medium.yml", "device_ids"))
    assert "'${CUDA_VISIBLE_DEVICES_MEDIUM}' is a variable" in ids.message and "ONE id" in ids.message


def test_a_base_service_that_a_size_profile_leaves_without_image(tmp_path: Path):
    """A base declaring every size's service: each size file gives only its own an image."""
    base = "services:\n  vllm-large:\n    ipc: host\n    shm_size: 16gb\nvolumes:\n  hf-cache: {}\n"
    seed = build_seed_repo(tmp_path / "repo", extra={"profiles/base.yml": base})
    report = run_audit(load_config(seed.config_path))
    [missing] = [f for f in lint_findings(report, "image-pinned")]
    at = ("profiles/base.yml", seed.line("profiles/base.yml", "vllm-large:"))
    assert (missing.path, missing.line) == at
    message = missing.message
    assert "service vllm-large is declared in profiles/base.yml" in message
    for size in ("medium", "micro", "mini"):
        assert f"profiles/{size}.yml" in message
    assert "has no image; set image" not in message  # the old message, naming nothing
    # One mistake, one finding: no healthcheck or GPU finding for that service.
    assert not [f for f in report.findings if f.path == "profiles/base.yml" and f is not missing]


def test_nothing_to_audit_exits_4_unless_allowed(tmp_path: Path):
    write(tmp_path, "sddd.yaml", "profiles: ['compose/*.yml']\n")
    write(tmp_path, "docs/a.md", "# A\n")
    result = sddd_here("audit", cwd=tmp_path)
    assert result.returncode == 4 and result.stdout == ""
    [line] = result.stderr.strip().splitlines()
    assert "no compose profile" in line and "compose/*.yml" in line and str(tmp_path) in line
    assert "--allow-empty" in line
    allowed = sddd_here("audit", "--allow-empty", cwd=tmp_path)
    assert allowed.returncode == 0
    assert allowed.stdout.rstrip().splitlines()[-1].startswith("sddd audit passed")
