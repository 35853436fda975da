"""Expand an experiment into trials and work units; the one custom_id format and parser.

    temperatures ──► Trial (one per temperature: model × prompt set × sampling, slug = identity)
    Trial × conditions × items × samples ──► Unit (custom_id = dataset|item_id|condition|temp|sample|type)

Units are ordered grouped by (trial, condition) so consecutive requests on a worker share
their system prompt and llama.cpp's prefix KV cache is reused. The seed of a unit depends on
(base seed, item, sample index) only, so control and treatment draw the same random numbers.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import msgspec

from engines.base import Request, SamplingParams
from evalcli.customid import CustomId, format_temp
from evalcli.items import Item
from evalcli.prompts import PromptSet, build_messages


@dataclass(frozen=True)
class Trial:
    slug: str
    temperature: float
    params: dict  # the sampling settings shared by every unit of the trial (for the manifest)


@dataclass(frozen=True)
class Unit:
    custom_id: str
    trial: str  # slug
    item_index: int  # index into the run's item list
    condition: str
    sample_index: int
    seed: int


def _slug_safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-.")[:40] or "x"


def trial_slug(model_label: str, prompt_set: str, temperature: float, identity: dict) -> str:
    digest = hashlib.sha256(msgspec.json.encode(identity, order="sorted")).hexdigest()[:8]
    temp = format_temp(temperature).replace(".", "")
    return f"{_slug_safe(model_label)}-{_slug_safe(prompt_set)}-t{temp}-{digest}"


def unit_seed(base_seed: int, item: Item, sample_index: int) -> int:
    raw = f"{base_seed}|{item.key}|{sample_index}".encode()
    return int.from_bytes(hashlib.sha256(raw).digest()[:4], "big") & 0x7FFFFFFF


class Plan:
    """The trials and units of one run, plus what is needed to turn a unit into a Request."""

    def __init__(self, *, items: list[Item], prompts: PromptSet, prompt_set_name: str,
                 prompt_set_sha: str, engine_identity: dict, model_label: str,
                 sampling, seed: int) -> None:
        self.items = items
        self.prompts = prompts
        self.sampling = sampling
        self.trials: list[Trial] = []
        self.units: list[Unit] = []
        self._trial_by_slug: dict[str, Trial] = {}
        for temp in sampling.temperatures:
            params = {
                "temperature": temp, "top_p": sampling.top_p, "top_k": sampling.top_k,
                "max_tokens": {"open": sampling.max_tokens.open,
                               "closed": sampling.max_tokens.closed},
                "stop": list(sampling.stop), "repeat_penalty": sampling.repeat_penalty,
                "seed": seed, "samples_per_item": sampling.samples_per_item,
            }
            identity = {"engine": engine_identity, "prompt_set_sha256": prompt_set_sha,
                        "params": params}
            trial = Trial(trial_slug(model_label, prompt_set_name, temp, identity), temp, params)
            self.trials.append(trial)
            self._trial_by_slug[trial.slug] = trial
            for condition in prompts.conditions:
                for index, item in enumerate(items):
                    for sample in range(sampling.samples_per_item):
                        cid = CustomId(item.dataset, item.item_id, condition, temp, sample,
                                       item.type)
                        self.units.append(Unit(str(cid), trial.slug, index, condition, sample,
                                               unit_seed(seed, item, sample)))

    def trial(self, slug: str) -> Trial:
        return self._trial_by_slug[slug]

    def request(self, unit: Unit) -> Request:
        item = self.items[unit.item_index]
        s = self.sampling
        max_tokens = s.max_tokens.open if item.type == "open" else s.max_tokens.closed
        return Request(
            unit_id=unit.custom_id,
            item_key=item.key,
            messages=build_messages(self.prompts, unit.condition, item),
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
            key=lambda u: len(self.prompts.system[u.condition])
            + len(self.items[u.item_index].passage) + len(self.items[u.item_index].question),
        )
        return self.request(longest)
