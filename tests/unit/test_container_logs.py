"""The CRI log format and the log-derived termination message, on files (no container runs)."""
from __future__ import annotations

from shim.kubelet.logs import fallback_message
from shim.kubelet.runtime.crilog import LineWriter, parse_line
from shim.kubelet.runtime.process import ProcessProvider, container_dir
from shim.kubelet.timeutil import rfc3339_nano


def test_cri_writer_splits_and_marks_partials(tmp_path) -> None:
    path = tmp_path / "log"
    with open(path, "wb") as fh:
        w = LineWriter(fh, "stdout")
        w.feed(b"a\nb")
        w.feed(b"c\n" + b"x" * 20000 + b"\nend")
        w.close()
    records = [parse_line(line) for line in path.read_bytes().splitlines(keepends=True)]
    assert [(r.content[:3], r.full) for r in records] == [(b"a", True), (b"bc", True), (b"xxx", False),
                                                          (b"xxx", True), (b"end", False)]
    assert len(records[2].content) == 16 * 1024


async def test_output_without_a_final_newline_comes_back_without_one(tmp_path) -> None:
    provider = ProcessProvider(tmp_path)
    cdir = container_dir(tmp_path, "uid", "cid")
    cdir.mkdir(parents=True)
    with open(cdir / "container.log", "wb") as fh:
        w = LineWriter(fh, "stdout")
        w.feed(b"DONE")
        w.close()
    assert await fallback_message(provider, "uid", "cid") == "DONE"


async def test_fallback_message_limits(tmp_path) -> None:
    provider = ProcessProvider(tmp_path)
    cdir = container_dir(tmp_path, "uid", "cid")
    cdir.mkdir(parents=True)
    with open(cdir / "container.log", "wb") as fh:
        w = LineWriter(fh, "stdout")
        w.feed(b"".join(b"%d %s\n" % (i, b"y" * 50) for i in range(200)))
    text = await fallback_message(provider, "uid", "cid")
    assert len(text.encode()) == 2048 and text.endswith("199 " + "y" * 50 + "\n")


def test_rfc3339_nano_trims_zeros() -> None:
    assert rfc3339_nano(1_700_000_000_120_000_000) == "2023-11-14T22:13:20.12Z"
    assert rfc3339_nano(1_700_000_000_000_000_000) == "2023-11-14T22:13:20Z"
