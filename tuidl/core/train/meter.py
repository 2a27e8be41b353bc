"""Running metric sums: what a ``step`` event, an epoch and an evaluation report."""

from __future__ import annotations

from typing import Any, Optional

import torch


class Meter:
    """Running sums of a metric window: ``[loss × n, correct (or |error|), top-5 correct]``.

    On an accelerator the sums stay on the device and are read with :meth:`read` (one
    sync, a few times a second at most). On the CPU there is no device to wait for, so
    each step's figures are plain floats: that costs a fraction of what a few extra
    tensor ops per step would.
    """

    def __init__(self, task: str, loss_kind: str, top5: bool, device: torch.device):
        self.task, self.loss_kind, self.top5, self.device = task, loss_kind, top5, device
        self.host = device.type == "cpu"
        self.n = 0
        self._sums: Any = None  # a list of floats (CPU) or a device tensor

    @property
    def sums(self) -> Optional[torch.Tensor]:
        if self._sums is None or not self.host:
            return self._sums
        return torch.tensor(self._sums, dtype=torch.float64)

    @sums.setter
    def sums(self, value: Optional[torch.Tensor]) -> None:
        self._sums = value.double().cpu().tolist() if (value is not None and self.host) else value

    def stats(self, out: torch.Tensor, y: torch.Tensor, loss: torch.Tensor) -> Any:
        """One step's row of sums (not yet added)."""
        bs = y.shape[0]
        if self.host and self.task == "classification" and not self.top5 and self.loss_kind != "bce":
            # the common CPU case, kept as short as a hand-written loop's bookkeeping
            return [loss.item() * bs, float((out.detach().argmax(dim=1) == y).sum()), 0.0]
        with torch.no_grad():
            out = out.detach()
            if self.task == "classification":
                pred = (out[:, 0] > 0).long() if self.loss_kind == "bce" else out.argmax(dim=1)
                second = (pred == y).sum()
                third = (out.topk(5, dim=1).indices == y.unsqueeze(1)).any(dim=1).sum() if self.top5 else None
            else:
                err = (out.float() - y).abs()
                second = err.mean(dim=tuple(range(1, err.dim()))).sum() if err.dim() > 1 else err.sum()
                third = None
            if self.host:
                return [loss.item() * bs, float(second), 0.0 if third is None else float(third)]
            zero = torch.zeros((), device=out.device)
            return torch.stack([loss.detach().float() * bs, second.float(), zero if third is None else third.float()])

    def add_row(self, row: Any, n: int) -> None:
        if self._sums is None:
            self._sums = list(row) if self.host else row
        elif self.host:
            s = self._sums
            s[0] += row[0]
            s[1] += row[1]
            s[2] += row[2]
        else:
            self._sums = self._sums + row
        self.n += n

    def add(self, out: torch.Tensor, y: torch.Tensor, loss: torch.Tensor) -> Any:
        row = self.stats(out, y, loss)
        self.add_row(row, y.shape[0])
        return row

    def read(self) -> dict[str, float]:
        if self.n == 0 or self._sums is None:
            return {}
        loss_sum, second, third = self._sums if self.host else (float(v) for v in self._sums.tolist())
        out = {"loss": loss_sum / self.n}
        if self.task == "classification":
            out["acc"] = second / self.n
            if self.top5:
                out["top5"] = third / self.n
        else:
            out["mae"] = second / self.n
        return out

    def reset(self) -> None:
        self.n, self._sums = 0, None

    def state(self) -> dict:
        sums = self.sums
        return {"n": self.n, "sums": None if sums is None else sums.cpu()}

    def load(self, state: dict) -> None:
        self.n = state["n"]
        self.sums = None if state["sums"] is None else state["sums"].to(self.device)
