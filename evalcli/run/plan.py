"""Expand an experiment into trials and work units.

    variants (models) × prompt sets × temperatures × top_p × top_k × max_tokens
        ──► Trial (model × prompt set × sampling; slug = identity)
    Trial × conditions × items × samples ──► Unit (custom_id = dataset|item_id|condition|temp|sample|type)

Units are not stored: the plan keeps one UnitGroup per (trial, condition, block) — a block's
item indices × samples — and `plan.units` (Units) makes each Unit when it is reached, so
memory does not grow with the number of units; a resume's pending units are a selection of
local numbers per group (Units.select).

Units are ordered by variant (model), then grouped by (trial, condition), so a worker
keeps one model loaded and consecutive requests on it share their system prompt (llama.cpp's
prefix KV cache is reused). The seed of a unit depends on
(base seed, item, sample index) only, so control and treatment draw the same random numbers.

Arm blocks (`[run] arm_block_items`, default 32): the items are cut into runs of that many
and the arms alternate run by run in a serpentine (ABBA) order, so that whatever else the
machine does falls on every arm alike, while consecutive requests still share a system
prompt (a switch of prompt only inside each arm block, never at its edges):

    items  [0..31]          [32..63]          [64..79]
    order  control treatment treatment control control treatment    (per model, per block)

With several (trial, condition) groups the same holds: forward in even arm blocks, backward
in odd ones. 0 (or at least the number of items) = the fully grouped order (each arm's items
in one run). Only the order changes: custom_ids, seeds and requests are the same.

Shared units: when two trials would send the very same request (the same system prompt and
instructions at the same temperature — typically one control shared by several prompt sets
in a sweep), the unit runs once — the same model and every sampling setting included; the later trial's row is an alias of the first trial's
result (`Plan.rows_of`), so its predictions still hold every planned unit.

Sequential runs (`stopping` given, docs/statistics.md "Sequential runs"): the items are
taken in a seeded random order, at most `max_items` of them, cut into blocks of
`block_size`; units are ordered by model, then block, then (trial, condition) as above, so
a block's arms run grouped by system prompt and blocks are handed out in order. Without
`stopping` every unit has block 0 and the plan is exactly the fixed-n plan.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import random
import re
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

import msgspec

from engines.base import Request, SamplingParams
from evalcli.inputs.items import Item, Items
from evalcli.inputs.prompts import PromptSet, build_messages
from evalcli.store.customid import CustomId, format_temp
from evalcli.store.manifest import MaxTokens, TrialParams


@dataclass(frozen=True, slots=True)
class Trial:
    slug: str
    temperature: float
    params: TrialParams  # sampling settings and prompt format shared by every unit
    prompt_set: str = ""
    prompt_index: int = 0  # which of the run's prompt sets
    variant: int = 0  # which engine variant (model) of the run: an index into Setup.engines
    label: str = ""  # what sets it apart in a sweep beyond temperature ("terse, top_p=0.9"); ""


@dataclass(frozen=True, slots=True)
class Unit:
    custom_id: str
    trial: str  # slug
    item_index: int  # index into the run's item list
    condition: str
    sample_index: int
    variant: int = 0  # the engine variant (model) that runs it
    block: int = 0  # sequential runs: the block of items it belongs to (0 otherwise)
    chunk: int = 0  # its arm block: the run of `arm_block_items` items its group covers
    # the seed is not stored (an int object per unit): Plan.request computes it, unit_seed


@dataclass(frozen=True, slots=True)
class UnitGroup:
    """Units that share a model, a block, a trial and a condition: its items × samples, in
    that order (unit k of the group is item items[k // samples], sample k % samples)."""

    trial: str
    condition: str
    temperature: float
    variant: int  # the engine variant (model)
    block: int
    items: Sequence[int]  # item indices: the arm block's, shared by every group of it
    samples: int
    chunk: int = 0  # the arm block (run of items) within the block, counted over the run

    def __len__(self) -> int:
        return len(self.items) * self.samples

    @property
    def key(self) -> tuple[int, int, int, str, str]:
        return (self.variant, self.block, self.chunk, self.trial, self.condition)


class Units(Sequence[Unit]):
    """Planned units, each made when it is reached (its custom_id included): per group all its
    units, or the chosen ones as local numbers (4 bytes each). No object per unit is kept, so
    a plan of 100,000 units costs what a plan of 1,000 does."""

    def __init__(self, plan: Plan, parts: list[tuple[UnitGroup, array | None]]) -> None:
        self._plan, self._parts = plan, parts
        self._len = sum(len(g) if sel is None else len(sel) for g, sel in parts)

    def __len__(self) -> int:
        return self._len

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        at = index + len(self) if index < 0 else index
        if not 0 <= at < len(self):
            raise IndexError(index)
        for group, sel in self._parts:
            size = len(group) if sel is None else len(sel)
            if at < size:
                return self._plan.unit(group, at if sel is None else sel[at])
            at -= size
        raise IndexError(index)

    def __iter__(self) -> Iterator[Unit]:
        for group, sel in self._parts:
            yield from self._of(group, sel)

    def _of(self, group: UnitGroup, sel: array | None) -> Iterator[Unit]:
        unit = self._plan.unit
        for k in range(len(group)) if sel is None else sel:
            yield unit(group, k)

    def parts(self) -> list[tuple[tuple, int, Iterator[Unit]]]:
        """Per group, in plan order: (its key, how many units, an iterator over them)."""
        return [(group.key, len(group) if sel is None else len(sel), self._of(group, sel))
                for group, sel in self._parts]

    def select(self, keep: Callable[[list[Unit]], Iterable[bool]],
               whole: Callable[[UnitGroup], bool] = lambda group: False) -> Units:
        """The units for which keep() says True — asked about a few thousand units at a time
        (it may answer with one vectorised lookup); a group for which whole(group) holds is
        kept entire without making its units."""
        parts = []
        for group, sel in self._parts:
            if whole(group):
                parts.append((group, sel))
                continue
            numbers = iter(range(len(group)) if sel is None else sel)
            units = self._of(group, sel)
            kept = array("i")
            while chunk := list(itertools.islice(units, _CHUNK)):
                kept.extend(k for k, yes in zip(itertools.islice(numbers, len(chunk)),
                                                 keep(chunk), strict=True) if yes)
            if len(kept) == len(group):
                parts.append((group, None))
            elif kept:
                parts.append((group, kept))
        return Units(self._plan, parts)


_CHUNK = 4096  # units per question in Units.select


@dataclass(frozen=True, slots=True)
class Row:
    """One planned row of a trial: its own custom_id, and where its result lives."""

    custom_id: str
    source_trial: str
    source_id: str


def _slug_safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-.")[:40] or "x"


def trial_slug(model_label: str, prompt_set: str, temperature: float, identity: dict,
               swept: str = "") -> str:
    """<model>-<prompt set>-t<temp>[-<swept settings>]-<hash>; swept settings (only those
    with several values in the run) e.g. `p09-k20-m32x16` for top_p 0.9, top_k 20, max_tokens."""
    digest = hashlib.sha256(msgspec.json.encode(identity, order="sorted")).hexdigest()[:8]
    temp = format_temp(temperature).replace(".", "")
    extra = f"-{_slug_safe(swept)}" if swept else ""
    return f"{_slug_safe(model_label)}-{_slug_safe(prompt_set)}-t{temp}{extra}-{digest}"


def _alternate(groups: list[UnitGroup], size: int,
               same_context: Callable[[int, int], bool]) -> list[UnitGroup]:
    """The groups (in plan order: by model, block, then trial and condition) cut into arm
    blocks of `size` items, each (model, block)'s groups forward in even arm blocks and
    backward in odd ones (ABBA…); the arm-block counter runs on over blocks and models so
    that no edge between two arm blocks changes the system prompt. A block is not cut
    between items that share a passage (same_context): it runs on to the passage's last
    item, so an arm switch re-reads the system prompt but never a passage twice."""
    out: list[UnitGroup] = []
    chunk = 0
    for _, run in itertools.groupby(groups, key=lambda g: (g.variant, g.block)):
        run = list(run)
        items = run[0].items  # every group of a (model, block) covers the same items
        start = 0
        while start < len(items):
            end = min(start + size, len(items))
            while end < len(items) and same_context(items[end - 1], items[end]):
                end += 1
            part = items[start:end]  # one slice, shared by the arm block's groups
            ordered = run if chunk % 2 == 0 else run[::-1]
            out += [dataclasses.replace(g, items=part, chunk=chunk) for g in ordered]
            chunk += 1
            start = end
    return out


def sequential_order(n_items: int, seed: int, max_items: int = 0) -> list[int]:
    """A seeded random order of item indices, cut to `max_items` (0 = all)."""
    order = list(range(n_items))
    random.Random(seed).shuffle(order)
    return order[:max_items] if max_items else order


def unit_seed(base_seed: int, item: Item, sample_index: int) -> int:
    raw = f"{base_seed}|{item.key}|{sample_index}".encode()
    return int.from_bytes(hashlib.sha256(raw).digest()[:4], "big") & 0x7FFFFFFF


def _custom_id(item: Item, condition: str, temperature: float, sample: int) -> str:
    return str(CustomId(item.dataset, item.item_id, condition, temperature, sample, item.type))


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Plan:
    """The trials and units of one run, plus what is needed to turn a unit into a Request.

    `prompt_sets` is a list of (name, sha256 of the file, PromptSet).
    """

    def __init__(self, *, items: list[Item], prompt_sets: list[tuple[str, str, PromptSet]],
                 sampling, seed: int, engine_identity: dict | None = None,
                 model_label: str = "", prompt_format: str = "chat",
                 engines: list[tuple[dict, str, str]] | None = None, stopping=None,
                 arm_block_items: int = 0) -> None:
        """`engines`: (identity, model label, prompt format) per engine variant; one variant
        may be given as engine_identity + model_label + prompt_format instead.
        `arm_block_items`: items per arm block (0 = arms fully grouped)."""
        self.items = Items.of(items)
        self.prompt_sets = [p for _, _, p in prompt_sets]
        self.sampling = sampling
        self.trials: list[Trial] = []
        self.groups: list[UnitGroup] = []  # what runs (shared units once), in plan order
        self.seed = seed
        self._trial_by_slug: dict[str, Trial] = {}
        # sharing is decided per (trial, condition): all its units send the same requests as
        # an earlier (trial, condition)'s, or none does (same items, order and samples), so
        # no map per unit is needed — rows_of derives every row from these
        self._first_run: dict[tuple, tuple[str, str]] = {}  # request -> (trial, condition)
        self._alias: dict[tuple[str, str], tuple[str, str]] = {}  # shares -> runs
        self.stopping = stopping
        # item indices in the order they are planned, and the block of each
        self.order: Sequence[int] = range(len(self.items))
        self.blocks: list[Sequence[int]] = [self.order]
        if stopping is not None:
            self.order = sequential_order(len(self.items), stopping.seed, stopping.max_items)
            size = stopping.block_size
            self.blocks = [self.order[i:i + size] for i in range(0, len(self.order), size)]
        engines = engines or [(engine_identity or {}, model_label, prompt_format)]
        many = {"model": len(engines) > 1, "prompt_set": len(prompt_sets) > 1,
                "top_p": len(sampling.top_p_values) > 1, "top_k": len(sampling.top_k_values) > 1,
                "max_tokens": len(sampling.max_tokens_values) > 1}
        for variant, (identity, label, fmt) in enumerate(engines):
            for prompt_index, (name, sha, prompts) in enumerate(prompt_sets):
                for temp, top_p, top_k, max_tokens in itertools.product(
                        sampling.temperatures, sampling.top_p_values, sampling.top_k_values,
                        sampling.max_tokens_values):
                    params = TrialParams(
                        temperature=temp, top_p=top_p, top_k=top_k,
                        max_tokens=MaxTokens(open=max_tokens.open, closed=max_tokens.closed),
                        stop=list(sampling.stop), repeat_penalty=sampling.repeat_penalty,
                        seed=seed, samples_per_item=sampling.samples_per_item,
                        prompt_set=name, model=label if many["model"] else "")
                    swept = "-".join(part for key, part in (
                        ("top_p", f"p{format_temp(top_p).replace('.', '')}"),
                        ("top_k", f"k{top_k}"),
                        ("max_tokens", f"m{max_tokens.open}x{max_tokens.closed}")) if many[key])
                    words = [w for key, w in (
                        ("model", label), ("prompt_set", name), ("top_p", f"top_p={top_p:g}"),
                        ("top_k", f"top_k={top_k}"),
                        ("max_tokens", f"max_tokens={max_tokens.open}/{max_tokens.closed}"))
                        if many[key]]
                    # the prompt format is recorded per trial; it is part of the identity
                    # through the engine's options already
                    trial = Trial(trial_slug(label, name, temp, {
                        "engine": identity, "prompt_set_sha256": sha, "params": params}, swept),
                        temp, msgspec.structs.replace(params, prompt_format=fmt), name,
                        prompt_index, variant,
                        ", ".join(words))
                    self._add_trial(trial, prompts)
        if stopping is not None:  # stable: (trial, condition) groups inside each block
            self.groups.sort(key=lambda g: (g.variant, g.block))
        if arm_block_items:
            self.groups = _alternate(self.groups, arm_block_items, self._same_context)
        self.units = Units(self, [(group, None) for group in self.groups])

    def _same_context(self, a: int, b: int) -> bool:
        """Items a and b share their passage (and book type): consecutive, only the
        question is new to the prefix cache, so an arm block is not cut between them."""
        x, y = self.items[a], self.items[b]
        return x.type == y.type and x.passage == y.passage and bool(x.passage)

    def _add_trial(self, trial: Trial, prompts: PromptSet) -> None:
        if trial.slug in self._trial_by_slug:
            return  # the same prompt set listed twice
        self.trials.append(trial)
        self._trial_by_slug[trial.slug] = trial
        p = trial.params
        request = (trial.variant, p.temperature, p.top_p, p.top_k,
                   p.max_tokens.open, p.max_tokens.closed)
        instructions = _sha("\0".join((prompts.instructions.open, prompts.instructions.closed,
                                       prompts.layout.open, prompts.layout.closed)))
        for condition in prompts.conditions:
            key = (request, _sha(prompts.system[condition].strip()), instructions)
            source = self._first_run.setdefault(key, (trial.slug, condition))
            if source != (trial.slug, condition):
                self._alias[(trial.slug, condition)] = source
                continue
            self.groups += [UnitGroup(trial.slug, condition, trial.temperature, trial.variant,
                                      b, block, self.sampling.samples_per_item)
                            for b, block in enumerate(self.blocks)]

    def unit(self, group: UnitGroup, k: int) -> Unit:
        """Unit k of a group."""
        position, sample = divmod(k, group.samples)
        index = group.items[position]
        return Unit(_custom_id(self.items[index], group.condition, group.temperature, sample),
                    group.trial, index, group.condition, sample, group.variant, group.block,
                    group.chunk)

    def rows_of(self, slug: str) -> Iterator[Row]:
        """Every planned row of a trial, in order (conditions × items × samples), aliases
        included: an alias row's result is the first trial's row for the same request."""
        trial = self.trial(slug)
        for condition in self.prompts_for(slug).conditions:
            source_trial, source_condition = self._alias.get((slug, condition),
                                                             (slug, condition))
            for index in self.order:
                item = self.items[index]
                for sample in range(self.sampling.samples_per_item):
                    cid = _custom_id(item, condition, trial.temperature, sample)
                    yield Row(cid, source_trial, cid if source_condition == condition else
                              _custom_id(item, source_condition, trial.temperature, sample))

    def row_count(self, slug: str) -> int:
        return (len(self.prompts_for(slug).conditions) * len(self.order)
                * self.sampling.samples_per_item)

    def trial(self, slug: str) -> Trial:
        return self._trial_by_slug[slug]

    def prompts_for(self, slug: str) -> PromptSet:
        return self.prompt_sets[self.trial(slug).prompt_index]

    def request(self, unit: Unit) -> Request:
        item = self.items[unit.item_index]
        s = self.sampling
        p = self.trial(unit.trial).params
        return Request(
            unit_id=unit.custom_id,
            item_key=item.key,
            messages=build_messages(self.prompts_for(unit.trial), unit.condition, item),
            params=SamplingParams(
                temperature=p.temperature, top_p=p.top_p, top_k=p.top_k,
                max_tokens=p.max_tokens.for_type(item.type),
                seed=unit_seed(self.seed, item, unit.sample_index), stop=list(s.stop),
                repeat_penalty=s.repeat_penalty,
            ),
        )

    def longest_request(self) -> Request | None:
        """The planned request with the longest prompt (for context-size pre-flight checks)."""
        best, longest = None, -1
        for group in self.groups:
            system = len(self.prompts_for(group.trial).system[group.condition])
            for position, index in enumerate(group.items):
                item = self.items[index]
                size = system + len(item.passage) + len(item.question)
                if size > longest:
                    best, longest = (group, position * group.samples), size
        return None if best is None else self.request(self.unit(*best))
