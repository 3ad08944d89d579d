from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from experts import catalog_build
from experts.adapters import Expert, adapter_class
from experts.catalog import CATALOG_FILE, PROFILES, load_catalog, read_catalog_file
from experts.errors import ExpertUnavailable
from experts.tasks import TASK_TYPES, normalize_task_name

SHARED = Path(__file__).resolve().parents[2].parent / "shared"


def test_offline_profile_covers_every_task_with_a_runnable_default():
    catalog = load_catalog("offline")
    assert catalog.task_names() == sorted(TASK_TYPES)
    for task in TASK_TYPES:
        models = catalog.models_for(task)
        assert models and all(m.available_offline and m.runnable and m.source for m in models)
        assert any(m.deploy_by_default for m in models)


@pytest.mark.parametrize("profile", PROFILES)
def test_profiles_load_with_facts_runtime_and_resources(profile):
    catalog = load_catalog(profile)
    assert catalog.profile == profile and len(catalog) > 20
    for spec in catalog:
        assert spec.profile == profile and spec.task in TASK_TYPES
        assert spec.resources.memory_gb > 0 and 0 <= spec.resources.num_gpus <= 1
        assert spec.runnable or spec.unavailable_reason
    assert all(m.runnable for m in catalog.default_models())


def test_full_profile_holds_every_p0_card_and_gpu_defaults():
    catalog = load_catalog("full")
    assert catalog.get("ProsusAI/finbert").downloads > 0
    assert len(catalog) >= 673
    assert any(m.resources.num_gpus > 0 for m in catalog.default_models())


def test_no_profile_falls_back_to_offline_with_a_warning(monkeypatch, caplog):
    monkeypatch.delenv("HUGGINGGPT_PROFILE", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with caplog.at_level(logging.WARNING, logger="experts.catalog"):
        catalog = load_catalog()
    assert catalog.profile == "offline"
    assert "not reachable" in caplog.text


def test_profile_env_and_argument_win(monkeypatch):
    monkeypatch.setenv("HUGGINGGPT_PROFILE", "full")
    assert load_catalog().profile == "full"
    assert load_catalog("lite").profile == "lite"
    with pytest.raises(ValueError):
        load_catalog("huge")


@pytest.mark.skipif(not (SHARED / "jarvis" / "p0_models.jsonl").exists(), reason="../shared not present")
def test_committed_catalog_is_what_the_builder_makes(tmp_path):
    out = tmp_path / "catalog.json"
    catalog_build.write(catalog_build.build(SHARED / "jarvis" / "p0_models.jsonl"), out)
    assert json.loads(out.read_text()) == json.loads(CATALOG_FILE.read_text())
    assert len(read_catalog_file()) == len(read_catalog_file(out))


@pytest.mark.skipif(not (SHARED / "taskbench").exists(), reason="../shared not present")
def test_every_taskbench_huggingface_tool_maps_onto_a_task():
    tools = json.loads((SHARED / "taskbench" / "huggingface" / "tool_desc.json").read_text())["nodes"]
    assert all(normalize_task_name(t["id"]) in TASK_TYPES for t in tools)
    assert normalize_task_name("Voice Changer") == "audio-to-audio"


def test_auto_profile_is_offline_when_the_hub_is_unreachable(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HUGGINGGPT_PROFILE", "full")  # `auto` asks the hub, not this variable
    assert load_catalog("auto").profile == "offline"


def test_auto_profile_is_lite_when_the_hub_answers(monkeypatch):
    from experts import catalog

    monkeypatch.setattr(catalog, "hub_reachable", lambda: True)
    assert load_catalog("auto").profile == "lite"


@pytest.mark.parametrize("profile", PROFILES)
def test_every_runnable_model_has_an_adapter_and_no_other_does(profile):
    catalog = load_catalog(profile)
    for spec in catalog:
        if spec.runnable:
            assert issubclass(adapter_class(spec), Expert), spec.id
    unsupported = next((m for m in load_catalog("full") if m.runtime == "unsupported"), None)
    assert unsupported is not None
    with pytest.raises(ExpertUnavailable, match="adapter for"):
        adapter_class(unsupported)
