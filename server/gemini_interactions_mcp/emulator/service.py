"""Creating and cancelling interactions: the rules that depend on stored state.

Syntax is checked in `validation`; here live the semantic rules (store/background/previous id, which
agents exist, environments, function-result pairing) and the assembly of a record from a responder's
plan.
"""

from __future__ import annotations

from typing import Any

from . import ids, references
from .emulator import Emulator
from .errors import ApiError, bad_request, not_found
from .history import EMPTY, History
from .plan import JSON
from .responders import TurnContext, research, respond
from .responders import agents as managed
from .store import TERMINAL, EnvironmentRecord, InteractionRecord
from .text import function_results
from .validation import CreateRequest


def create(emu: Emulator, req: CreateRequest) -> InteractionRecord:
    """Validate against state, plan the run, and store the record (unless `store:false`)."""
    if not req.store and req.background:
        raise bad_request("'background' requires 'store' to be true.")
    if not req.store and req.previous_interaction_id:
        raise bad_request("'previous_interaction_id' requires 'store' to be true.")
    previous = _previous(emu, req.previous_interaction_id)
    agent = _agent(emu, req)
    system_instruction = req.system_instruction or (agent or {}).get("system_instruction")
    env: EnvironmentRecord | None = None
    if req.environment is not None or (req.kind == "agent" and req.name not in research.AGENTS):
        env = _environment(emu, req, agent)
    history = previous.conversation() if previous else EMPTY
    _check_function_results(req, history)
    references.check_references(emu, req.input_steps)
    turn = _turn(previous, req)
    if env is not None and req.kind == "agent" and (previous is None or turn != previous.turn):
        env.files.append(managed.note_path(turn))
    ctx = TurnContext(
        request=req,
        history=history,
        turn=turn,
        config=emu.config,
        previous_kind=previous.run.kind if previous else None,
        system_instruction=system_instruction,
        environment_id=env.id if env else None,
        environment_files=list(env.files) if env else [],
        documents=references.documents_for(emu, req.tools),
    )
    record = InteractionRecord(
        id=ids.interaction_id(),
        target=(req.kind, req.name),
        created_wall=emu.wall(),
        started=emu.now(),
        input_value=req.input_value,
        input_steps=req.input_steps,
        history=history,
        echo=req.echo,
        run=respond(ctx),
        background=req.background,
        stored=req.store,
        turn=turn,
        event_ids=_stamps_event_ids(emu, req),
        environment_id=env.id if env else None,
    )
    if req.store:
        emu.store.interactions[record.id] = record
    if env is not None:
        references.record_written(emu, env, record.run.notes.get("files"))
    return record


def _stamps_event_ids(emu: Emulator, req: CreateRequest) -> bool:
    """Real streams of non-background requests carry no `event_id`; the config may say otherwise."""
    mode = emu.config.event_ids
    return mode == "always" or (mode == "background" and req.background)


def lookup(emu: Emulator, interaction_id: str) -> InteractionRecord:
    record = emu.store.interactions.get(interaction_id)
    if record is None:
        raise not_found(f"Interaction '{interaction_id}' was not found.")
    return record


def cancel(emu: Emulator, interaction_id: str) -> InteractionRecord:
    """Stop a running background interaction.

    The service documents cancel only for running background interactions; anything else is refused
    with 400 (not 409, which clients retry, and cancelling twice can never succeed).
    """
    record = lookup(emu, interaction_id)
    elapsed = emu.now() - record.started
    status = record.status_at(elapsed)
    if not record.background:
        raise bad_request(
            f"Interaction '{interaction_id}' is not a background interaction and cannot be cancelled."
        )
    if status != "in_progress":
        raise bad_request(
            f"Interaction '{interaction_id}' cannot be cancelled: its status is already '{status}'."
        )
    record.cancelled_at = elapsed
    return record


def _previous(emu: Emulator, previous_id: str | None) -> InteractionRecord | None:
    if previous_id is None:
        return None
    previous = emu.store.interactions.get(previous_id)
    if previous is None:
        raise not_found(f"Previous interaction '{previous_id}' was not found.")
    status = previous.status_at(emu.now() - previous.started)
    if status not in TERMINAL and status != "requires_action":
        raise bad_request(f"Previous interaction '{previous_id}' is still {status}; wait for it to finish.")
    return previous


def _agent(emu: Emulator, req: CreateRequest) -> JSON | None:
    """The custom agent definition (None for models and built-in agents); enforces agent rules."""
    if req.kind == "model":
        return None
    config_type = (req.agent_config or {}).get("type")
    if req.name in research.AGENTS:
        if not req.background:
            raise bad_request(f"Agent '{req.name}' requires 'background' to be true.")
        if config_type not in (None, "deep-research"):
            raise bad_request(f"'agent_config.type' must be 'deep-research' for agent '{req.name}'.")
        return None
    custom = _custom_agent(emu, req.name)
    if req.name not in managed.AGENTS and custom is None:
        raise not_found(f"Agent '{req.name}' was not found.")
    if config_type not in (None, "antigravity"):
        raise bad_request(f"'agent_config.type' must be 'antigravity' for agent '{req.name}'.")
    return custom


def _custom_agent(emu: Emulator, name: str) -> JSON | None:
    """A custom agent's effective definition: a fork inherits what it does not set from its base
    agent, and so on down to the managed agent at the root."""
    chain: list[JSON] = []
    while (agent := emu.store.agents.get(name)) is not None and agent not in chain:
        chain.append(agent)
        name = agent["base_agent"]
    merged: JSON = {}
    for agent in reversed(chain):
        merged.update(agent)
    return merged or None


def _environment(emu: Emulator, req: CreateRequest, agent: JSON | None) -> EnvironmentRecord:
    """Resolve `environment`: "remote" (new sandbox), an existing id, or an object; custom agents
    without one fork their `base_environment`."""
    spec: Any = req.environment
    if spec is None:
        spec = agent.get("base_environment") if agent else None
        if spec is None:
            raise bad_request(f"Agent '{req.name}' needs an 'environment' (\"remote\" or an environment id).")
        base = spec.get("environment_id") if isinstance(spec, dict) else None if spec == "remote" else spec
        if isinstance(base, str):
            return _fork_environment(emu, _existing_environment(emu, base))
        if isinstance(spec, dict):
            spec = {k: v for k, v in spec.items() if k != "environment_id"}
    if isinstance(spec, str):
        return _new_environment(emu, {}) if spec == "remote" else _existing_environment(emu, spec)
    existing = spec.get("environment_id")
    if isinstance(existing, str):
        return _existing_environment(emu, existing)
    if spec.get("type", "remote") != "remote":
        raise bad_request(f"The value '{spec.get('type')}' is not supported for 'environment.type'.")
    return _new_environment(emu, spec)


def _new_environment(emu: Emulator, spec: JSON) -> EnvironmentRecord:
    now = emu.wall()
    sources = spec.get("sources", [])
    if not isinstance(sources, list):
        raise bad_request("'environment.sources' must be a list.")
    env = EnvironmentRecord(ids.environment_id(), now, now, sources=sources, network=spec.get("network"))
    emu.store.environments[env.id] = env
    return env


def _fork_environment(emu: Emulator, base: EnvironmentRecord) -> EnvironmentRecord:
    """Each run of an agent whose base environment is an existing one works in a copy of it."""
    now = emu.wall()
    env = EnvironmentRecord(
        ids.environment_id(),
        now,
        now,
        sources=list(base.sources),
        network=base.network,
        files=list(base.files),
    )
    emu.store.environments[env.id] = env
    return env


def _existing_environment(emu: Emulator, env_id: str) -> EnvironmentRecord:
    env = emu.store.environments.get(env_id.removeprefix("environments/"))
    if env is None:
        raise ApiError(404, f"Environment '{env_id}' was not found.")
    env.last_accessed_wall = emu.wall()
    return env


def _turn(previous: InteractionRecord | None, req: CreateRequest) -> int:
    """The conversation's turn, as its user counts them: a request that only hands back the results of
    the model's function calls continues the turn that made the calls (the model's answer to it is
    still the answer to that turn's question)."""
    if previous is None:
        return 1
    answers_calls_only = bool(req.input_steps) and all(
        step.get("type") == "function_result"
        or (
            step.get("type") == "user_input"
            and isinstance(step.get("content"), list)
            and len(function_results([step])) == len(step["content"])
        )
        for step in req.input_steps
    )
    return previous.turn if answers_calls_only else previous.turn + 1


def _check_function_results(req: CreateRequest, history: History) -> None:
    """Every `function_result` (step or user_input block) must answer a `function_call` the model
    made (by `call_id`)."""
    calls = {s.get("id") for s in req.input_steps if s.get("type") == "function_call"}
    for result in function_results(req.input_steps):
        if result["call_id"] not in calls and not history.has_call(result["call_id"]):
            raise bad_request(
                f"'function_result' call_id '{result['call_id']}' does not match any function_call."
            )
