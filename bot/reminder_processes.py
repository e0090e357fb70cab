"""`benesapo reminders run --processes N`: N sender processes, one shard each, one report.

Each child is `python -m bot reminders run --shard K/N --json` (with the parent's --date or
--now) and LINE_RATE_LIMIT_PER_SECOND set to its part of the channel's rate (LINE counts
calls per channel, not per process); the parent waits for all of them and adds their JSON
reports up. A child that fails
makes the whole run fail (its shard's members are not told; running again sends only what is
still due: every slot is claimed once).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from typing import Any

from models.reminder_shards import all_shards, merge_reports


class ShardFailed(RuntimeError):
    """A shard's process exited with an error (its stderr is passed through)."""


def child_argv(shard: str, extra: Sequence[str]) -> list[str]:
    return [sys.executable, "-m", "bot", "reminders", "run", "--shard", shard, "--json", *extra]


def run_sharded(processes: int, extra: Sequence[str], rate_per_second: float) -> dict[str, Any]:
    """Run the shards side by side, each at its part of `rate_per_second`; their merged report
    (ShardFailed if one failed)."""
    env = {**os.environ, "LINE_RATE_LIMIT_PER_SECOND": repr(rate_per_second / processes)}
    children = [
        subprocess.Popen(child_argv(str(shard), extra), stdout=subprocess.PIPE, env=env)
        for shard in all_shards(processes)
    ]
    outputs = [child.communicate()[0] for child in children]
    failed = [
        str(shard)
        for shard, child in zip(all_shards(processes), children, strict=True)
        if child.returncode
    ]
    if failed:
        raise ShardFailed(f"shard(s) {', '.join(failed)} failed")
    return merge_reports([json.loads(out.decode().strip().splitlines()[-1]) for out in outputs])
