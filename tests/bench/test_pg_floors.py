"""``bench.pg_floors`` reads the fdatasync figure of pg_test_fsync's first section."""

from __future__ import annotations

from bench.pg_floors import _FDATASYNC

OUTPUT = """\
Compare file sync methods using one 8kB write:
(in wal_sync_method preference order, except fdatasync is Linux's default)
        open_datasync                      6801.224 ops/sec     147 usecs/op
        fdatasync                          6398.412 ops/sec     156 usecs/op
        fsync                              5123.000 ops/sec     195 usecs/op

Compare file sync methods using two 8kB writes:
        open_datasync                      3401.000 ops/sec     294 usecs/op
        fdatasync                          4100.000 ops/sec     244 usecs/op
"""


def test_the_one_write_fdatasync_line_is_the_floor() -> None:
    found = _FDATASYNC.search(OUTPUT)
    assert found is not None
    assert float(found.group(1)) == 6398.412
