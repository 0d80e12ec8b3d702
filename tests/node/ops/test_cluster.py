"""A cluster node that does not come up says why, worded for the catalogues: the English is
an ``N_`` msgid and the data (its directory, exit status, log) travels as params."""

from __future__ import annotations

import subprocess
import sys

import pytest

from node.ops.cluster import ClusterError, NodeProcess, free_port


def test_a_node_that_exits_before_listening_is_reported_with_its_status(tmp_path):
    node = NodeProcess(tmp_path, free_port())
    (tmp_path / "serve.log").write_text("boom\n")
    node.process = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    node.process.wait()
    with pytest.raises(ClusterError, match=r"exited \(status 3\)") as refused:
        node.wait_listening(timeout=5)
    assert refused.value.wording is not None
    assert refused.value.wording.startswith("the node in {path} exited (status {code})")
    assert refused.value.params["code"] == 3
    assert refused.value.params["tail"] == "boom"
    assert str(refused.value).endswith(f"the end of {tmp_path / 'serve.log'}:\nboom")


def test_a_node_that_never_listens_times_out_in_whole_seconds(tmp_path):
    node = NodeProcess(tmp_path, free_port())
    with pytest.raises(ClusterError, match=r"(?s)within 0 s; the end of .*\(no log\)") as refused:
        node.wait_listening(timeout=0.0)
    assert refused.value.params["seconds"] == 0
    with pytest.raises(ClusterError, match=r"within 0\.1 s;"):
        node.wait_listening(timeout=0.1)
