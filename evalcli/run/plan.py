"""Expand an experiment into trials and work units.

    prompt sets × temperatures ──► Trial (model × prompt set × sampling; slug = identity)
    Trial × conditions × items × samples ──► Unit (custom_id = dataset|item_id|condition|temp|sample|type)

Units are ordered grouped by (trial, condition) so consecutive requests on a worker share
their system prompt and llama.cpp's prefix KV cache is reused. The seed of a unit depends on
(base seed, item, sample index) only, so control and treatment draw the same random numbers.

Shared units: when two trials would send the very same request (the same system prompt and
instructions at the same temperature — typically one control shared by several prompt sets
in a sweep), the unit runs once; the later trial's row is an alias of the first trial's
result (`Plan.rows`), so its predictions still hold every planned unit.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import msgspec

from engines.base import Request, SamplingParams
from evalcli.inputs.items import Item
from evalcli.inputs.prompts import PromptSet, build_messages
from evalcli.store.customid import CustomId, format_temp


@dataclass(frozen=True)
class Trial:
    slug: str
    temperature: float
    params: dict  # sampling settings and prompt format shared by every unit (for the manifest)
    prompt_set: str = ""
    prompt_index: int = 0  # which of the run's prompt sets


@dataclass(frozen=True)
class Unit:
    custom_id: str
    trial: str  # slug
    item_index: int  # index into the run's item list
    condition: str
    sample_index: int
    seed: int


@dataclass(frozen=True)
class Row:
    """One planned row of a trial: its own custom_id, and where its result lives."""

    custom_id: str
    source_trial: str
    source_id: str


def _slug_safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-.")[:40] or "x"


def trial_slug(model_label: str, prompt_set: str, temperature: float, identity: dict) -> str:
    digest = hashlib.sha256(msgspec.json.encode(identity, order="sorted")).hexdigest()[:8]
    temp = format_temp(temperature).replace(".", "")
    return f"{_slug_safe(model_label)}-{_slug_safe(prompt_set)}-t{temp}-{digest}"


def unit_seed(base_seed: int, item: Item, sample_index: int) -> int:
    raw = f"{base_seed}|{item.key}|{sample_index}".encode()
    return int.from_bytes(hashlib.sha256(raw).digest()[:4], "big") & 0x7FFFFFFF


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Plan:
    """The trials and units of one run, plus what is needed to turn a unit into a Request.

    `prompt_sets` is a list of (name, sha256 of the file, PromptSet).
    """

    def __init__(self, *, items: list[Item], prompt_sets: list[tuple[str, str, PromptSet]],
                 engine_identity: dict, model_label: str, sampling, seed: int,
                 prompt_format: str = "chat") -> None:
        self.items = items
        self.prompt_sets = [p for _, _, p in prompt_sets]
        self.sampling = sampling
        self.trials: list[Trial] = []
        self.units: list[Unit] = []  # units to run (shared ones once)
        self.rows: dict[str, list[Row]] = {}  # trial slug -> every planned row, aliases included
        self._trial_by_slug: dict[str, Trial] = {}
        first_run: dict[tuple, tuple[str, str]] = {}  # request identity -> (trial, custom_id)
        for prompt_index, (name, sha, prompts) in enumerate(prompt_sets):
            instructions = _sha("\0".join((prompts.instructions.open, prompts.instructions.closed,
                                           prompts.layout.open, prompts.layout.closed)))
            for temp in sampling.temperatures:
                params = {
                    "temperature": temp, "top_p": sampling.top_p, "top_k": sampling.top_k,
                    "max_tokens": {"open": sampling.max_tokens.open,
                                   "closed": sampling.max_tokens.closed},
                    "stop": list(sampling.stop), "repeat_penalty": sampling.repeat_penalty,
                    "seed": seed, "samples_per_item": sampling.samples_per_item,
                    "prompt_set": name,
                }
                identity = {"engine": engine_identity, "prompt_set_sha256": sha, "params": params}
                # recorded per trial; part of the identity through the engine's options already
                recorded = {**params, "prompt_format": prompt_format}
                trial = Trial(trial_slug(model_label, name, temp, identity), temp, recorded, name,
                              prompt_index)
                if trial.slug in self._trial_by_slug:
                    continue  # the same prompt set listed twice
                self.trials.append(trial)
                self._trial_by_slug[trial.slug] = trial
                rows = self.rows[trial.slug] = []
                for condition in prompts.conditions:
                    system = _sha(prompts.system[condition].strip())
                    for index, item in enumerate(items):
                        for sample in range(sampling.samples_per_item):
                            cid = str(CustomId(item.dataset, item.item_id, condition, temp,
                                               sample, item.type))
                            key = (system, instructions, temp, index, sample)
                            if key in first_run:
                                rows.append(Row(cid, *first_run[key]))
                                continue
                            first_run[key] = (trial.slug, cid)
                            rows.append(Row(cid, trial.slug, cid))
                            self.units.append(Unit(cid, trial.slug, index, condition, sample,
                                                   unit_seed(seed, item, sample)))

    def trial(self, slug: str) -> Trial:
        return self._trial_by_slug[slug]

    def prompts_for(self, slug: str) -> PromptSet:
        return self.prompt_sets[self.trial(slug).prompt_index]

    def request(self, unit: Unit) -> Request:
        item = self.items[unit.item_index]
        s = self.sampling
        max_tokens = s.max_tokens.open if item.type == "open" else s.max_tokens.closed
        return Request(
            unit_id=unit.custom_id,
            item_key=item.key,
            messages=build_messages(self.prompts_for(unit.trial), unit.condition, item),
            params=SamplingParams(
                temperature=self.trial(unit.trial).temperature, top_p=s.top_p, top_k=s.top_k,
                max_tokens=max_tokens, seed=unit.seed, stop=list(s.stop),
                repeat_penalty=s.repeat_penalty,
            ),
        )

    def longest_request(self) -> Request | None:
        """The planned request with the longest prompt (for context-size pre-flight checks)."""
        if not self.units:
            return None
        longest = max(
            (u for u in self.units if u.sample_index == 0),
            key=lambda u: len(self.prompts_for(u.trial).system[u.condition])
            + len(self.items[u.item_index].passage) + len(self.items[u.item_index].question),
        )
        return self.request(longest)
