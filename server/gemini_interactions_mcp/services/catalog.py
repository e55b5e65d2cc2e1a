"""The model and agent catalog: which ids are current, which are deprecated and what replaces them.

The catalog is data (`catalog.json`, shipped in the package) so that a new model or a deprecation is a
one-line change reviewed as data. It decides model and agent ids for the whole server; every
substitution comes with a note the caller sees, and ids it does not know are passed through unchanged
(the API is the judge of what exists), so a model released after this file still works.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import cache
from importlib.resources import files
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, model_validator

from gemini_interactions_mcp.services.pricing import ModelPrice, Pricing, RunPrice

AgentKind = Literal["deep-research", "managed", "custom"]
BuiltinAgentKind = Literal["deep-research", "managed"]


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


ModelOutput = Literal["text", "image", "speech"]


class ModelEntry(_Data):
    id: str
    output: ModelOutput = "text"
    """What the model produces besides text: images (generate_image) or speech (speak)."""
    description: str
    price: ModelPrice | None = None


class AgentEntry(_Data):
    id: str
    kind: BuiltinAgentKind
    aliases: tuple[str, ...] = ()
    description: str
    price: RunPrice | None = None


class KindRule(_Data):
    """Agents not listed but matching `pattern` (a glob) are of this kind, e.g. a newer antigravity id."""

    pattern: str
    kind: BuiltinAgentKind


class Deprecation(_Data):
    pattern: str
    replacement: str


class CatalogData(_Data):
    """The schema of catalog.json, checked for internal consistency when loaded."""

    default_model: str
    default_managed_agent: str
    default_models: dict[ModelOutput, str] = {}
    """The model generate_image and speak use when none is given, per kind of output."""
    models: tuple[ModelEntry, ...]
    agents: tuple[AgentEntry, ...]
    agent_kinds: tuple[KindRule, ...] = ()
    deprecations: tuple[Deprecation, ...] = ()
    pricing: Pricing | None = None
    """Search grounding and service-tier prices; None: costs are not estimated at all."""

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        models = {m.id for m in self.models}
        agents = {a.id for a in self.agents}
        if self.default_model not in models:
            raise ValueError(f"default_model {self.default_model!r} is not among the models")
        if not any(a.id == self.default_managed_agent and a.kind == "managed" for a in self.agents):
            raise ValueError(f"default_managed_agent {self.default_managed_agent!r} is not a managed agent")
        outputs = {m.id: m.output for m in self.models}
        for output, model in self.default_models.items():
            if outputs.get(model) != output:
                raise ValueError(f"default {output} model {model!r} is not a model with that output")
        for deprecation in self.deprecations:
            if deprecation.replacement not in models | agents:
                raise ValueError(f"replacement {deprecation.replacement!r} is neither a model nor an agent")
        aliases = [alias for a in self.agents for alias in a.aliases]
        if len(set(aliases)) != len(aliases) or set(aliases) & (models | agents):
            raise ValueError("agent aliases must be unique and differ from every id")
        return self


@dataclass(frozen=True)
class Resolution:
    """The id to send upstream, and a note for the caller when it is not the id they asked for."""

    id: str
    note: str | None = None


class Catalog:
    """Lookups over one CatalogData; `Catalog.load()` is the shipped one."""

    def __init__(self, data: CatalogData) -> None:
        self.data = data
        self._models = {m.id: m for m in data.models}
        self._agents = {a.id: a for a in data.agents}
        self._aliases = {alias: a.id for a in data.agents for alias in a.aliases}

    @classmethod
    def load(cls) -> Catalog:
        """The catalog shipped with the package, read and validated once per process."""
        return _shipped()

    @classmethod
    def from_json(cls, text: str) -> Catalog:
        return cls(CatalogData.model_validate_json(text))

    @property
    def default_model(self) -> str:
        return self.data.default_model

    @property
    def default_managed_agent(self) -> str:
        """What `run_agent` runs, and custom agents build on, when no agent is named."""
        return self.data.default_managed_agent

    def output_of(self, model_id: str) -> ModelOutput | None:
        """What a model produces, or None for a model the catalog does not know."""
        entry = self._models.get(model_id)
        return entry.output if entry is not None else None

    def price_of(self, model_or_agent: str) -> ModelPrice | RunPrice | None:
        """The price of a model or built-in agent id (after deprecation), or None when none is known."""
        resolved = self.resolve_model(model_or_agent).id
        if resolved in self._models:
            return self._models[resolved].price
        agent = self._agents.get(self.resolve_agent(model_or_agent).id)
        return agent.price if agent is not None else None

    def models_for(self, output: ModelOutput) -> list[str]:
        """The models that produce `output`, the default for it first."""
        default = self.data.default_models.get(output)
        others = [m.id for m in self.data.models if m.output == output and m.id != default]
        return [default, *others] if default else others

    def _replacement(self, requested: str, current: dict[str, Any]) -> str | None:
        for deprecation in self.data.deprecations:
            if deprecation.replacement in current and fnmatchcase(requested, deprecation.pattern):
                return deprecation.replacement
        return None

    def resolve_model(self, model_id: str | None) -> Resolution:
        """None -> the default; current -> itself; deprecated -> its replacement; unknown -> as given."""
        requested = (model_id or "").strip()
        if not requested:
            return Resolution(self.default_model)
        if requested in self._models:
            return Resolution(requested)
        replacement = self._replacement(requested, self._models)
        if replacement is not None:
            return Resolution(replacement, f"{requested} is deprecated; used {replacement} instead.")
        return Resolution(
            requested,
            f"The model catalog does not know {requested}; it was sent as given and the Gemini API decides "
            "whether it exists (read gemini://models for current ids).",
        )

    def resolve_agent(self, agent_id: str) -> Resolution:
        """Alias or current -> the agent id; deprecated -> its replacement with a note.

        Any other id is passed through. It gets a note only when it looks like a built-in agent
        (e.g. an unknown `deep-research-*`): a custom agent's id is expected to be unknown here.
        """
        requested = agent_id.strip()
        if requested in self._agents:
            return Resolution(requested)
        if requested in self._aliases:
            return Resolution(self._aliases[requested])
        replacement = self._replacement(requested, self._agents)
        if replacement is not None:
            return Resolution(replacement, f"{requested} is deprecated; used {replacement} instead.")
        if self._kind_rule(requested) is None:
            return Resolution(requested)
        return Resolution(
            requested,
            f"The catalog does not know agent {requested}; it was sent as given and the Gemini API decides "
            "whether it exists (read gemini://models for current ids).",
        )

    def _kind_rule(self, agent_id: str) -> BuiltinAgentKind | None:
        return next((r.kind for r in self.data.agent_kinds if fnmatchcase(agent_id, r.pattern)), None)

    def kind_of_agent(self, agent_id: str) -> AgentKind:
        """What kind of run an agent id starts (after alias and deprecation resolution)."""
        resolved = self.resolve_agent(agent_id).id
        entry = self._agents.get(resolved)
        if entry is not None:
            return entry.kind
        return self._kind_rule(resolved) or "custom"

    def as_dict(self) -> dict[str, Any]:
        return self.data.model_dump(mode="json")

    def render_markdown(self) -> str:
        """The catalog as a short page for the `gemini://models` resource (context cost matters)."""
        lines = ["# Gemini models and agents", "", "## Models (`model`)"]
        for m in self.data.models:
            default = " (default)" if m.id == self.default_model else ""
            price = f" [{m.price.summary()}]" if m.price is not None else ""
            lines.append(f"- `{m.id}`{default}: {m.description}{price}")
        lines += ["", "## Agents (`agent`)"]
        for a in self.data.agents:
            aliases = "".join(f", alias `{alias}`" for alias in a.aliases)
            price = f" [{a.price.summary()}]" if a.price is not None else ""
            lines.append(f"- `{a.id}` ({a.kind}{aliases}): {a.description}{price}")
        lines += ["", "## Deprecated ids (replaced automatically, with a note)"]
        lines += [f"- `{d.pattern}` -> `{d.replacement}`" for d in self.data.deprecations]
        lines += ["", "Other ids are sent as given; custom agents you created are used by their id."]
        if self.data.pricing is not None:
            lines += ["Prices: USD, Gemini API paid tier, as published; gemini://usage has your use."]
        return "\n".join(lines) + "\n"


@cache
def _shipped() -> Catalog:
    return Catalog.from_json(
        files(__package__ or __name__).joinpath("catalog.json").read_text(encoding="utf-8")
    )
