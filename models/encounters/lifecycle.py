"""The encounter lifecycle as one pure table.

The workflow's validators, the API's 409 messages and the tests all read this table, so the
rules cannot drift apart. It holds the whole lifecycle (DESIGN §2), including steps whose
handlers land later.
"""

from collections.abc import Mapping
from typing import Final, Literal, get_args

State = Literal[
    "received",
    "ready",
    "in_coding",
    "on_hold",
    "coded",
    "scrubbing",
    "submitted",
    "paid",
    "denied",
    "in_appeal",
    "closed",
]

Action = Literal[
    "docs_complete",
    "docs_missing",
    "claim",
    "release",
    "lease_expire",
    "reassign",
    "submit_coding",
    "place_hold",
    "release_hold",
    "raise_query",
    "answer_query",
    "withdraw_query",
    "start_scrub",
    "scrub_hard_edits",
    "scrub_clean",
    "reject_277ca",
    "accept_277ca",
    "remit_paid",
    "remit_denied",
    "close",
    "appeal",
    "appeal_decision",
    "write_off",
]

STATES: Final[tuple[State, ...]] = get_args(State)

# state -> action -> the states the action may lead to (several where the outcome depends on
# facts the table cannot see, such as whether other holds are still open).
TRANSITIONS: Final[Mapping[State, Mapping[Action, tuple[State, ...]]]] = {
    "received": {
        "docs_complete": ("ready",),
        "docs_missing": ("on_hold",),
        "place_hold": ("on_hold",),
    },
    "ready": {
        "claim": ("in_coding",),
        "reassign": ("in_coding",),
        "place_hold": ("on_hold",),
    },
    "in_coding": {
        "release": ("ready",),
        "lease_expire": ("ready",),
        "reassign": ("in_coding", "ready"),
        "submit_coding": ("coded",),
        "place_hold": ("on_hold",),
        "raise_query": ("on_hold",),
    },
    "on_hold": {
        "docs_complete": ("on_hold", "ready", "in_coding", "coded"),
        "place_hold": ("on_hold",),
        "raise_query": ("on_hold",),
        "release_hold": ("on_hold", "ready", "in_coding", "coded"),
        "answer_query": ("on_hold", "ready", "in_coding", "coded"),
        "withdraw_query": ("on_hold", "ready", "in_coding", "coded"),
        "reassign": ("on_hold",),
    },
    "coded": {
        "start_scrub": ("scrubbing",),
        "place_hold": ("on_hold",),
    },
    "scrubbing": {
        "scrub_hard_edits": ("in_coding",),
        "scrub_clean": ("submitted",),
    },
    "submitted": {
        "accept_277ca": ("submitted",),
        "reject_277ca": ("in_coding",),
        "remit_paid": ("paid",),
        "remit_denied": ("denied",),
    },
    "paid": {
        "close": ("closed",),
    },
    "denied": {
        "appeal": ("in_appeal",),
        "write_off": ("closed",),
    },
    "in_appeal": {
        "appeal_decision": ("closed",),
    },
    "closed": {},
}

# Actions a person asks for through the API; the rest are system events.
HUMAN_ACTIONS: Final[frozenset[Action]] = frozenset(
    {
        "claim",
        "release",
        "reassign",
        "submit_coding",
        "place_hold",
        "release_hold",
        "raise_query",
        "answer_query",
        "withdraw_query",
        "appeal",
        "appeal_decision",
        "write_off",
    }
)

WORKABLE_STATES: Final[frozenset[State]] = frozenset({"ready", "in_coding"})


class TransitionError(Exception):
    """An action the current state does not allow; its text is what the caller is told."""

    def __init__(self, state: State, action: str) -> None:
        self.state = state
        self.action = action
        self.allowed = allowed_actions(state)
        allowed = ", ".join(self.allowed) if self.allowed else "none"
        super().__init__(
            f"cannot {action.replace('_', ' ')} an encounter in state '{state}'; "
            f"allowed actions in '{state}': {allowed}"
        )


def allowed_actions(state: State, *, human_only: bool = True) -> list[str]:
    actions = TRANSITIONS[state].keys()
    return sorted(a for a in actions if not human_only or a in HUMAN_ACTIONS)


def targets(state: State, action: str) -> tuple[State, ...]:
    """The states `action` may lead to from `state`; raises TransitionError when not allowed."""
    found = TRANSITIONS[state].get(action)  # type: ignore[call-overload]
    if not found:
        raise TransitionError(state, action)
    return found  # type: ignore[no-any-return]


def transition(state: State, action: str, to: State | None = None) -> State:
    """The next state; `to` picks among several outcomes and must be one the table allows."""
    options = targets(state, action)
    if to is None:
        if len(options) != 1:
            raise ValueError(f"{action} from {state} needs an explicit target among {options}")
        return options[0]
    if to not in options:
        raise ValueError(f"{action} from {state} cannot lead to {to}; allowed: {options}")
    return to
