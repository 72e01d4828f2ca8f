"""Model ids: well-formed ones exist, invented ones do not."""

from __future__ import annotations

import pytest

from sddd.consistency.models import model_problem, same_model


@pytest.mark.parametrize("model", [
    "meta-llama/Llama-3.1-8B-Instruct", "mistralai/Mistral-7B-Instruct-v0.3", "Qwen/Qwen3-32B-AWQ",
    "Qwen2.5-32B-Instruct-AWQ", "Qwen/Qwen2-7B-Instruct-AWQ", "Qwen1.5-0.5B-Chat",
    "Qwen/Qwen2-VL-2B-Instruct",
    "/models/qwen3", "google/gemma-2-9b-it",
])
def test_well_formed_ids_are_taken_to_exist(model: str):
    assert model_problem(model) is None


@pytest.mark.parametrize(("model", "why"), [
    ("Qwen/Qwen2-32B-Instruct-AWQ", "no 32B"),
    ("Qwen2-1.7B-Instruct-fp8", "no 1.7B"),
    ("Qwen/Qwen3-7B", "Qwen3 has no 7B model"),
    ("Qwen/Qwen2.5-8B-Instruct", "Qwen2.5 has no 8B model"),
    ("Qwen/ Qwen3", "not a model id"),
])
def test_invented_ids_and_sizes_a_generation_never_had(model: str, why: str):
    assert why in (model_problem(model) or "")


def test_known_models_win_and_mentions_may_leave_the_build_out():
    assert model_problem("Qwen/Qwen3-7B", ["Qwen/Qwen3-7B"]) is None
    assert same_model("Qwen3-32B", "Qwen/Qwen3-32B-AWQ", exact=False)
    assert not same_model("Qwen3-32B", "Qwen/Qwen3-32B-AWQ", exact=True)
    assert same_model("qwen/qwen3-32b-awq", "Qwen/Qwen3-32B-AWQ", exact=True)
