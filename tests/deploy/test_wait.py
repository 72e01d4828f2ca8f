"""deploy's readiness probe is the endpoint client's (``Endpoint.ready``): what it says of a server
that is ready, of one that answers something else, of none and of one that hangs. Real HTTP on
localhost (tests/fixtures/fake_servers.py); the real vLLM server is test_deploy.py's."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from sddd.deploy.wait import probe
from tests.fixtures.fake_servers import hanging, not_vllm, openai_like
from tests.fixtures.vllm_server import free_port


def port(url: str) -> int:
    return urlsplit(url).port or 80


def test_a_server_answering_health_and_models_is_ready():
    with openai_like(cut=None) as url:
        assert probe(port(url), "sk-planted0123456789abcdefXYZ") is None


def test_a_web_server_that_is_not_vllm_says_which_path_failed(tmp_path: Path):
    (tmp_path / "index.html").write_text("<title>nginx</title>")
    with not_vllm(tmp_path) as url:
        assert probe(port(url), None) == "/health answered 404"


def test_nothing_listening_and_a_hung_server_are_still_waited_for():
    assert probe(free_port(), None) == "waiting for /health"
    with hanging() as url:
        assert probe(port(url), None) == "waiting for /health"
