"""The policy file: loaded once, reloaded on a content change, a bad version refused."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from adapters.policy_file import PolicyFile
from core.org_policy import PolicyError

GOOD = b"teams:\n  payments:\n    mode: ccr\n"
KILL = b"teams:\n  payments:\n    mode: ccr\n    kill_switch: true\n"


def configmap(directory: Path, content: bytes, version: int) -> Path:
    """Lay the file out as the kubelet does: `policy.yaml -> ..data/policy.yaml`, where
    `..data` is a symlink swapped atomically to a new timestamped directory."""
    target = directory / f"..v{version}"
    target.mkdir()
    (target / "policy.yaml").write_bytes(content)
    link = directory / "..data_tmp"
    link.symlink_to(target.name)
    os.replace(link, directory / "..data")
    visible = directory / "policy.yaml"
    if not visible.is_symlink():
        visible.symlink_to("..data/policy.yaml")
    return visible


def value(registry: CollectorRegistry, name: str, **labels: str) -> float:
    return registry.get_sample_value(name, labels) or 0.0


def test_a_configmap_update_is_applied_and_a_bad_one_refused(tmp_path: Path) -> None:
    path = configmap(tmp_path, GOOD, 1)
    registry = CollectorRegistry()
    policy = PolicyFile(path, registry)
    policy.load_initial()
    first = policy.describe()["hash"]
    assert policy.policy.for_team("payments").kill_switch is None

    configmap(tmp_path, KILL, 2)  # same path, same mtime resolution: only the content says
    assert policy.reload()
    assert policy.policy.for_team("payments").kill_switch is True
    assert policy.describe()["hash"] != first
    assert value(registry, "headroom_policy_reloads_total") == 2

    good_hash = policy.describe()["hash"]
    configmap(tmp_path, b"teams:\n  payments:\n    mode: lossy\n", 3)
    assert not policy.reload()
    assert not policy.reload()  # still bad: counted once, not once per poll
    described = policy.describe()
    assert described["hash"] == good_hash
    assert policy.policy.for_team("payments").kill_switch is True  # the last good policy
    assert "teams.payments.mode" in described["last_error"]
    assert value(registry, "headroom_policy_reload_errors_total") == 1
    assert value(registry, "headroom_policy_last_reload_ok") == 0
    assert value(registry, "headroom_policy_info", hash=good_hash[:16]) == 1

    configmap(tmp_path, b"teams: [unclosed\n", 4)
    assert not policy.reload()
    assert "not valid YAML at line" in policy.describe()["last_error"]

    configmap(tmp_path, KILL, 5)  # back to the version in force: healthy again
    assert policy.reload() and policy.describe()["last_error"] is None
    assert value(registry, "headroom_policy_last_reload_ok") == 1


def test_a_missing_file_keeps_the_policy_and_a_bad_first_file_stops_startup(
    tmp_path: Path,
) -> None:
    path = tmp_path / "policy.yaml"
    path.write_bytes(GOOD)
    policy = PolicyFile(path, CollectorRegistry())
    policy.load_initial()
    path.unlink()
    assert not policy.reload()
    assert "cannot read" in policy.describe()["last_error"]
    assert policy.policy.for_team("payments").mode == "ccr"

    path.write_bytes(b"kill_switch: maybe\n")
    with pytest.raises(PolicyError, match=r"policy.yaml: top level.kill_switch"):
        PolicyFile(path, CollectorRegistry()).load_initial()


def test_no_file_means_an_empty_policy() -> None:
    policy = PolicyFile(None, CollectorRegistry())
    policy.load_initial()
    assert policy.describe()["source"] is None
    assert policy.describe()["policy"]["teams"] == {}
