"""bench_runtime's limit: the same handler called in-process by Node's vm."""

from __future__ import annotations

import subprocess

import pytest

from runtime.management.commands.bench_runtime import CODE, make_event, vm_rate


def test_the_vm_call_runs_the_handler_it_is_given() -> None:
    assert vm_rate(code=CODE, event=make_event(), count=1000) > 0
    throwing = "async function onTrack(event) { throw new Error('ran') }"
    with pytest.raises(subprocess.CalledProcessError) as failed:
        vm_rate(code=throwing, event=make_event(), count=10)
    assert "ran" in failed.value.stderr
