"""The live view of a run: a pure render(state) for terminals, plain log lines otherwise.

    supervisor loop ──on_tick(views)──► Progress (counts, rates) ──► LiveDashboard.render()
                                                                 └─► PlainLog (not a TTY)

rich `Live` with auto_refresh=False: no refresh thread, no locks; the supervisor loop calls
`update` (throttled here) from its single thread. A sequential run adds one line, updated
per complete block: each arm's primary metric, the paired difference and its anytime-valid
interval (`Progress.sequential`, from evalcli.run.stopping.progress_line).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from evalcli.run.supervisor import WorkerView
from evalcli.store.telemetry import GpuSample


@dataclass
class TrialProgress:
    planned: int
    done: int = 0
    failed: int = 0
    done_at_start: int = 0


@dataclass
class Progress:
    """Counts the dashboard shows; fed by the generate stage as results arrive."""

    run_id: str
    trials: dict[str, TrialProgress]
    started: float = field(default_factory=time.monotonic)
    tokens: int = 0
    finished_now: int = 0  # units finished in this invocation
    gpus: Callable[[], list[GpuSample]] = list  # the telemetry sampler's latest reading per GPU
    sequential: str = ""  # a sequential run: the running difference and its interval

    def record(self, trial: str, ok: bool, tokens: int) -> None:
        progress = self.trials[trial]
        if ok:
            progress.done += 1
        else:
            progress.failed += 1
        self.tokens += tokens
        self.finished_now += 1

    def rates(self) -> tuple[float, float]:
        elapsed = max(time.monotonic() - self.started, 1e-6)
        return self.finished_now / elapsed, self.tokens / elapsed

    def eta_s(self, trial: TrialProgress) -> float | None:
        units_per_s, _ = self.rates()
        left = trial.planned - trial.done - trial.failed
        if left <= 0:
            return 0.0
        return left / units_per_s if units_per_s > 0 else None


def _fmt_eta(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def render(progress: Progress, views: list[WorkerView], stopping: bool):
    """The dashboard for one moment: a pure function of its inputs."""
    units_per_s, tokens_per_s = progress.rates()
    title = f"evalcli run {progress.run_id} — {units_per_s:.2f} units/s, {tokens_per_s:.0f} tokens/s"
    if stopping:
        title += " — stopping: finishing in-flight units"
    workers = Table(title=Text(title), expand=True, title_justify="left")
    for column in ("worker", "pid", "state", "current unit", "done", "restarts"):
        workers.add_column(column)
    for view in views:
        workers.add_row(str(view.index), str(view.pid or ""), view.state,
                        Text(view.unit or "—"), str(view.done), str(view.restarts))
    trials = Table(expand=True)
    for column in ("trial", "done / planned", "failed", "progress", "ETA"):
        trials.add_column(column)
    for slug, trial in progress.trials.items():
        finished = trial.done + trial.failed
        share = finished / trial.planned if trial.planned else 1.0
        bar = "█" * int(share * 20) + "░" * (20 - int(share * 20))
        trials.add_row(Text(slug), f"{trial.done} / {trial.planned}", str(trial.failed),
                       f"{bar} {share:5.1%}", _fmt_eta(progress.eta_s(trial)))
    gpus = progress.gpus()
    extra = [Text(progress.sequential)] if progress.sequential else []
    if not gpus:
        return Group(workers, trials, *extra)
    table = Table(expand=True)
    for column in ("gpu", "util", "VRAM", "power", "temp", "throttle", "workers' VRAM"):
        table.add_column(column)
    for g in gpus:
        table.add_row(*gpu_cells(g))
    return Group(workers, table, trials, *extra)


def _num(value, fmt: str, unit: str) -> str:
    return "—" if value is None else f"{value:{fmt}}{unit}"


def gpu_cells(g: GpuSample) -> list[str]:
    """One GPU reading as dashboard cells (— where NVML gave nothing)."""
    used, total = g.mem_used_mb, g.mem_total_mb
    vram = "—" if used is None else f"{used / 1024:.1f}" + (
        "" if total is None else f" / {total / 1024:.1f}") + " GiB"
    held = ", ".join(f"w{w} {_num(p.mem_mb, '.0f', ' MiB')}" for w, p in g.procs.items())
    return [f"{g.gpu} {g.name}".strip(), _num(g.util_gpu, ".0f", "%"),
            vram, _num(g.power_w, ".0f", " W"), _num(g.temp_c, ".0f", " °C"),
            ", ".join(g.throttle or []) or "—", held or "none"]


class LiveDashboard:
    MIN_INTERVAL_S = 1.0  # a redraw costs the supervisor milliseconds: at most once a second

    def __init__(self, progress: Progress, console: Console) -> None:
        self.progress = progress
        self._live = Live(console=console, auto_refresh=False, transient=False)
        self._last = 0.0
        self._seen: tuple[list[WorkerView], bool] | None = None  # the last state asked for

    def __enter__(self):
        self._live.__enter__()
        return self

    def __exit__(self, *exc):
        # the frame left on screen is the final state ("40 / 40"), not the last one drawn
        # before the once-a-second limit held the end back ("39 / 40")
        if self._seen is not None:
            self._live.update(render(self.progress, *self._seen), refresh=True)
        return self._live.__exit__(*exc)

    def update(self, views: list[WorkerView], stopping: bool) -> None:
        self._seen = (views, stopping)
        now = time.monotonic()
        if now - self._last >= self.MIN_INTERVAL_S:
            self._last = now
            self._live.update(render(self.progress, views, stopping), refresh=True)


class PlainLog:
    """For logs and CI: one line every few seconds, and one when the state changes."""

    INTERVAL_S = 5.0

    def __init__(self, progress: Progress, console: Console) -> None:
        self.progress = progress
        self.console = console
        self._last = 0.0
        self._last_key: tuple = ()
        self._last_sequential = ""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def update(self, views: list[WorkerView], stopping: bool) -> None:
        now = time.monotonic()
        key = (stopping, sum(v.restarts for v in views), sum(v.state == "restarting" for v in views),
               self.progress.sequential)
        if now - self._last < self.INTERVAL_S and key == self._last_key:
            return
        self._last, self._last_key = now, key
        units_per_s, tokens_per_s = self.progress.rates()
        parts = [f"{slug}: {t.done + t.failed}/{t.planned}" + (f" ({t.failed} failed)" if t.failed else "")
                 for slug, t in self.progress.trials.items()]
        states = ",".join(v.state for v in views)
        line = Text(f"[progress] {'; '.join(parts)} | {units_per_s:.2f} units/s "
                    f"{tokens_per_s:.0f} tok/s | workers: {states}"
                    + "".join(" | gpu " + " ".join(gpu_cells(g)[:4]) for g in self.progress.gpus())
                    + (" | stopping" if stopping else ""))
        self.console.print(line, soft_wrap=True)
        if self.progress.sequential and self.progress.sequential != self._last_sequential:
            self._last_sequential = self.progress.sequential
            self.console.print(Text(f"[sequential] {self.progress.sequential}"), soft_wrap=True)
