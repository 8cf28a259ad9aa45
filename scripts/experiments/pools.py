"""Worker pools: machines, accelerators, replicas and disks of the (up to four) positional pools."""

from __future__ import annotations

from typing import Any

from scripts.experiments import rules
from scripts.experiments.checker import Checker, kind_of
from scripts.experiments.machines import ACCELERATOR_TYPES, accelerator_problem, machine_type_problem
from scripts.experiments.model import WorkerPool
from scripts.experiments.source import KeyPath

WORKER_POOL_KEYS = ("machine_type", "accelerator", "replica_count", "boot_disk", "args", "env")
MAX_WORKER_POOLS = rules.MAX_WORKER_POOLS
BOOT_DISK_TYPES = ("pd-ssd", "pd-standard", "hyperdisk-balanced")


def check_worker_pools(value: Any, path: KeyPath, checker: Checker) -> tuple[WorkerPool, ...] | None:
    if not isinstance(value, list) or not value:
        checker.report(
            path,
            f"expected a list of 1 to {MAX_WORKER_POOLS} worker pools, got "
            f"{'an empty list' if value == [] else kind_of(value)}",
        )
        return None
    problem = rules.worker_pool_count_problem(len(value))
    if problem:
        checker.report((*path, MAX_WORKER_POOLS), problem)
        return None
    pools = []
    good = True
    for index, item in enumerate(value):
        pool_path = (*path, index)
        if item is None and index > 0:
            pools.append(WorkerPool())  # a skipped position, e.g. no parameter servers
            continue
        pool = _check_worker_pool(checker, item, pool_path, chief=index == 0)
        good = good and pool is not None
        pools.append(pool)
    if pools and pools[-1] is not None and pools[-1].machine_type is None:
        checker.report((*path, len(value) - 1), "the last worker pool must not be empty")
        return None
    return tuple(pools) if good else None


def _check_worker_pool(checker: Checker, value: Any, path: KeyPath, chief: bool) -> WorkerPool | None:
    before = len(checker.problems)
    data = checker.mapping(value, path, WORKER_POOL_KEYS)
    if data is None:
        return None
    get = checker.get
    machine = get(data, "machine_type", path, checker.text, required=True)
    problem = machine_type_problem(machine) if machine is not None else None
    if problem:
        checker.report((*path, "machine_type"), problem)
        machine = None
    where = (*path, "accelerator")
    accelerator = checker.mapping(data.get("accelerator"), where, ("type", "count")) or {}
    kind = get(accelerator, "type", where, checker.choice, ACCELERATOR_TYPES, required="accelerator" in data)
    count = get(accelerator, "count", where, checker.limited, 1, "accelerator_count", default=int(bool(kind)))
    retired = rules.retired_accelerator_problem(kind)
    if retired:
        checker.report((*where, "type"), retired)
    elif machine is not None and (kind is not None or "type" not in accelerator):
        problem = accelerator_problem(machine, kind, count or 0)
        if problem:
            checker.report(where if "accelerator" in data else (*path, "machine_type"), problem)
    replicas = get(data, "replica_count", path, checker.limited, 1, default=1)
    problem = rules.chief_replica_problem(replicas) if chief and replicas is not None else None
    if problem:
        checker.report((*path, "replica_count"), problem)
    disk_path = (*path, "boot_disk")
    disk = checker.mapping(data.get("boot_disk"), disk_path, ("type", "size_gb")) or {}
    pool = WorkerPool(
        machine_type=machine,
        accelerator_type=kind,
        accelerator_count=count or 0,
        replica_count=replicas,
        boot_disk_type=get(disk, "type", disk_path, checker.choice, BOOT_DISK_TYPES),
        boot_disk_size_gb=get(disk, "size_gb", disk_path, checker.limited, 100, "boot_disk_size_gb"),
        args=tuple(get(data, "args", path, checker.text_list) or ()),
        env=tuple(get(data, "env", path, checker.env) or ()),
    )
    return None if len(checker.problems) > before else pool
