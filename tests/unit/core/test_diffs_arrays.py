"""The diff filter keeps every header; the anomaly check finds the items a sample must keep."""

from __future__ import annotations

import json
import re

from core.arrays import all_kept, anomalous_items
from core.diffs import filter_diff
from tests import corpus


def big_commit() -> str:
    head = ("commit " + "a" * 40 + "\nAuthor: A <a@x>\nDate:   Mon Nov 23 2026\n\n"
            "    Subject line\n\n")  # fmt: skip
    body = "diff --git a/new.py b/new.py\nnew file mode 100644\n--- /dev/null\n+++ b/new.py\n"
    body += "@@ -0,0 +1,300 @@\n" + "\n".join(f"+line {i}" for i in range(300))
    small = "\ndiff --git a/x.py b/x.py\n--- a/x.py\n+++ b/x.py\n@@ -1,5 +1,5 @@\n"
    small += " a\n b\n-c\n+C\n d\n e"
    return head + body + small


def test_diff_keeps_headers_and_announces_each_cut() -> None:
    text = big_commit()
    filtered = filter_diff(text, changed_per_file=40)
    assert filtered is not None
    out, dropped = filtered
    for line in text.splitlines():
        if re.match(r"^(commit |Author:|Date:|    Subject|diff --git|--- |\+\+\+ |@@|[-+][cC]$)",
                    line):  # fmt: skip
            assert line in out.splitlines()
    assert "+line 39" in out and "+line 40" not in out
    assert "[headroom: 260 added lines omitted]" in out
    assert " b\n-c\n+C\n d" in out  # one context line either side of a change
    assert dropped == {"added": 260, "context": 2} or dropped == {"added": 260}


def test_small_diff_is_left_alone() -> None:
    assert filter_diff("diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b") is None


def test_anomalous_pods_are_found_and_required() -> None:
    pods = json.loads(corpus.kubectl_pods_json(150, seed=35))
    broken = [p for p in pods["items"] if not p["status"]["containerStatuses"][0]["ready"]]
    assert broken and anomalous_items(pods) == broken
    healthy_only = json.dumps({"items": [pods["items"][0]]})
    assert not all_kept(pods, healthy_only)
    assert all_kept(pods, json.dumps({"items": broken + pods["items"][:3]}))
    assert not all_kept(pods, "not json [headroom: ...]")
    assert all_kept([{"a": 1}] * 3, "[]")  # too few items to call any of them anomalous
