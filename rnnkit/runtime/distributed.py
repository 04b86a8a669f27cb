"""Data-parallel training over K processes with PyTorch's DistributedDataParallel (DDP).

    torchrun --nproc-per-node K -m rnnkit train --engine torch --batch B ...

torchrun starts K copies of the command and tells each its ``RANK``, ``LOCAL_RANK`` and
``WORLD_SIZE`` in environment variables; :func:`join` reads them and joins the process group (gloo
on the CPU, NCCL on CUDA GPUs, one GPU per process). Every process reads the same corpus and walks
the same B truncated-BPTT streams; rank r trains on its own b = B / K of them:

    chunk (B, T)      rows 0 .. b-1      -> rank 0      each rank carries the hidden state
                      rows b .. 2b-1     -> rank 1      of its own b streams from chunk to chunk
                      ...
                      rows B-b .. B-1    -> rank K-1

Each rank's loss is the mean over its b*T characters; DDP averages the gradients of the K ranks
during backward, and the mean of K means over equal shares is the mean over all B*T characters. So
every rank gets the gradient one process would compute on the whole chunk, applies the same update,
and the parameters stay equal on all ranks (up to float32 rounding of the sums' order).

Rank 0 alone writes checkpoints, metrics and the progress bar; every rank evaluates (the same
numbers), so they all take the same decisions. A checkpoint holds the carried state of all B
streams, gathered from the ranks; on resume every rank takes its rows back (so K may even change,
as long as it divides B).
"""

from __future__ import annotations

import atexit
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel

from rnnkit.errors import UsageError


@dataclass(frozen=True)
class Group:
    """This process's place among the K processes of a run (K = 1: the only one)."""

    device: torch.device
    rank: int = 0
    world: int = 1

    @property
    def is_main(self) -> bool:
        """Rank 0, which writes the run's files and logs."""
        return self.rank == 0

    def rows(self, batch: int) -> slice:
        """The rows of a (B, T) chunk this rank trains: ``[r*B/K, (r+1)*B/K)``."""
        if batch % self.world:
            raise UsageError(f"--batch {batch} cannot be split over {self.world} processes: each process trains "
                             f"batch / processes streams, so choose a batch divisible by {self.world}")
        share = batch // self.world
        return slice(self.rank * share, (self.rank + 1) * share)

    def wrap(self, model: nn.Module) -> nn.Module:
        """The module to train: ``model`` wrapped in DDP when there are several processes."""
        if self.world == 1:
            return model
        ids = [self.device.index] if self.device.type == "cuda" else None
        return DistributedDataParallel(model, device_ids=ids)

    def mean(self, t: Tensor) -> Tensor:
        """The mean of ``t`` over all ranks (every rank gets it)."""
        if self.world == 1:
            return t
        t = t.clone()
        dist.all_reduce(t)
        return t / self.world

    def gather_rows(self, t: Tensor) -> Tensor:
        """All ranks' ``t`` (b, ...) stacked in rank order: (K*b, ...). Every rank gets it."""
        if self.world == 1:
            return t
        local = t.detach().to(self.device).contiguous()
        parts = [torch.empty_like(local) for _ in range(self.world)]
        dist.all_gather(parts, local)
        return torch.cat(parts)

    def broadcast(self, value: float) -> float:
        """Rank 0's ``value`` on every rank."""
        if self.world == 1:
            return value
        t = torch.tensor([value], dtype=torch.float64, device=self.device)
        dist.broadcast(t, src=0)
        return float(t.item())


def join(device: torch.device) -> Group:
    """Join the process group that torchrun describes in the environment; without torchrun (no
    ``WORLD_SIZE`` or 1) this is the only process and nothing is joined.

    On CUDA each process takes the GPU of its ``LOCAL_RANK`` and the NCCL backend; on the CPU, gloo.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return Group(device)
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda":
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
        backend = "nccl"
    elif device.type == "cpu":
        backend = "gloo"
    else:
        raise UsageError(f"distributed training runs on cuda or cpu, not {device.type}: add --device cpu")
    if not dist.is_initialized():
        dist.init_process_group(backend, rank=rank, world_size=world)
        atexit.register(dist.destroy_process_group)
    return Group(device, rank, world)
