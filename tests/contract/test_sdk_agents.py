"""Deep Research and managed agents through the SDK: background runs, agents CRUD, custom agent runs."""

from __future__ import annotations

import pytest
from google import genai
from google.genai._gaos.types.interactions import (
    AntigravityAgentConfig,
    CodeExecutionCallStep,
    DeepResearchAgentConfig,
    ModelOutputStep,
    ThoughtStep,
    UserInputStep,
)
from google.genai._interactions import NotFoundError

from .conftest import Served
from .sdk_checks import assert_known, emulator_text, poll

RESEARCH = "deep-research-preview-04-2026"
BASE_AGENT = "antigravity-preview-05-2026"


def test_deep_research_background_run(sdk: genai.Client, served: Served) -> None:
    """Deep Research: in_progress at once, thoughts accumulate, a cited report completes the run."""
    created = sdk.interactions.create(
        agent=RESEARCH,
        input="History of the bicycle",
        background=True,
        agent_config={"type": "deep-research", "thinking_summaries": "auto"},
    )
    assert_known(created, "research create")
    assert created.status == "in_progress" and created.agent == RESEARCH
    assert isinstance(created.agent_config, DeepResearchAgentConfig)
    done = poll(sdk, created.id)
    report = assert_known(done, "research result")
    assert done.status == "completed"
    kinds = [type(s) for s in done.steps or []]
    assert kinds[0] is UserInputStep and kinds[-1] is ModelOutputStep and ThoughtStep in kinds
    assert "URLCitation" in report.types
    assert done.output_text == emulator_text(served.raw_get(created.id))
    assert (done.output_text or "").startswith("# Research report: History of the bicycle")


def test_agents_create_list_page_get_delete(sdk: genai.Client, served: Served) -> None:
    """agents.create/list (paged by page_token)/get/delete round-trip; a deleted agent is NotFound."""
    made = []
    for name in ("alpha", "beta", "gamma"):
        agent = sdk.agents.create(
            id=f"agent-{name}",
            base_agent=BASE_AGENT,
            description=f"The {name} agent",
            system_instruction=f"You are {name}.",
            tools=[{"type": "code_execution"}, {"type": "google_search"}],
            base_environment={
                "type": "remote",
                "sources": [
                    {"type": "repository", "source": "https://github.com/x/y", "target": "/workspace/y"}
                ],
            },
            agent_config={"type": "antigravity", "max_total_tokens": 1000},
        )
        assert_known(agent, "agent")
        made.append(agent)
    assert isinstance(made[0].agent_config, AntigravityAgentConfig)
    assert made[0].agent_config.max_total_tokens == 1000
    first = sdk.agents.list(page_size=2)
    assert_known(first, "agents page 1")
    assert [a.id for a in first.agents or []] == ["agent-alpha", "agent-beta"]
    assert first.next_page_token
    second = sdk.agents.list(page_size=2, page_token=first.next_page_token)
    assert [a.id for a in second.agents or []] == ["agent-gamma"]
    assert not second.next_page_token
    got = sdk.agents.get("agent-beta")
    assert_known(got, "agent get")
    assert got.system_instruction == "You are beta." and got.base_agent == BASE_AGENT
    sdk.agents.delete("agent-beta")
    with pytest.raises(NotFoundError):
        sdk.agents.get("agent-beta")
    listed = [r["query"] for r in served.requests() if r["path"] == "/v1beta/agents" and r["method"] == "GET"]
    assert listed[0] == {"page_size": "2"}
    assert listed[1]["page_token"] == first.next_page_token


def test_custom_agent_run_in_remote_environment(sdk: genai.Client, served: Served) -> None:
    """A custom agent run with environment "remote" returns an environment_id reusable by the next turn."""
    sdk.agents.create(id="reviewer", base_agent=BASE_AGENT, system_instruction="Review the code.")
    created = sdk.interactions.create(
        agent="reviewer", input="Check style", environment="remote", background=True
    )
    assert_known(created, "agent create")
    assert created.status == "in_progress"
    assert created.environment_id and created.environment_id.startswith("env_")
    done = poll(sdk, created.id)
    assert_known(done, "agent run")
    assert done.status == "completed" and done.environment_id == created.environment_id
    assert any(isinstance(s, CodeExecutionCallStep) for s in done.steps or [])
    assert done.output_text == emulator_text(served.raw_get(created.id))
    assert "Following your instruction: Review the code." in (done.output_text or "")

    again = sdk.interactions.create(
        agent="reviewer",
        input="Now fix it",
        environment=created.environment_id,
        previous_interaction_id=created.id,
        background=True,
    )
    finished = poll(sdk, again.id)
    assert_known(finished, "second agent turn")
    assert finished.environment_id == created.environment_id
    assert "This is turn 2" in (finished.output_text or "")


def test_builtin_managed_agent_with_agent_config(sdk: genai.Client) -> None:
    """The built-in Antigravity agent with an antigravity agent_config runs in a fresh environment."""
    created = sdk.interactions.create(
        agent=BASE_AGENT,
        input="List files",
        environment="remote",
        agent_config={"type": "antigravity", "max_total_tokens": 5000},
        background=True,
    )
    assert_known(created, "antigravity create")
    assert isinstance(created.agent_config, AntigravityAgentConfig)
    done = poll(sdk, created.id)
    assert_known(done, "antigravity run")
    assert done.status == "completed" and done.environment_id


def test_forked_custom_agent(sdk: genai.Client) -> None:
    """`agents.create` with a custom agent as `base_agent` and an existing environment as
    `base_environment` (a fork, as the real service accepts); a run uses a copy of that environment."""
    seed = sdk.interactions.create(agent=BASE_AGENT, input="seed", environment="remote")
    assert seed.environment_id
    sdk.agents.create(id="base-reviewer", base_agent=BASE_AGENT, system_instruction="Review code")
    fork = sdk.agents.create(
        id="fork-reviewer", base_agent="base-reviewer", base_environment=seed.environment_id
    )
    assert_known(fork, "forked agent")
    assert fork.base_agent == "base-reviewer"
    run = sdk.interactions.create(agent="fork-reviewer", input="Check it")
    assert_known(run, "forked agent run")
    assert run.status == "completed" and run.environment_id not in (None, seed.environment_id)
    assert "Following your instruction: Review code" in (run.output_text or "")
