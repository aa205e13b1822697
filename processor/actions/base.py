"""The contract of a masking action: parse parameters once, then apply fast.

An action class declares its parameters as a pydantic model (``params_model``); ``__init__`` is
the compile step (it receives validated parameters and the compile context), ``apply`` is the hot
path. Adding an action means adding one module with one subclass, registered by name.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from processor.formats.logical_types import LogicalType
from processor.formats.postgres_types import ALL_KINDS, SourceColumn
from processor.i18n import Localized
from processor.keys import KeyRing
from processor.models import Strict
from processor.pii.names import NameLexicon

if TYPE_CHECKING:
    from processor.datakeys import DataKeyStore


class ActionParams(Strict):
    """Parameters of an action; unknown parameters are errors."""


@dataclass
class SubjectScope:
    """The data subject of the row being masked, for actions keyed per subject (``encrypt``):
    the plan sets ``value`` from ``column`` before it masks a row of its table."""

    column: str
    domain: str  # the subject's pseudonym domain (contact, user)
    value: Any = None


@dataclass(frozen=True)
class CompileContext:
    """What an action may need at compile time besides its own parameters."""

    table: str
    field: str
    key_id: str
    keys: KeyRing | None  # None while only validating: no secrets needed to check rules
    #: the CRM's known names (pii/names.py), when the rules mark name columns and keys are given
    names: NameLexicon | None = None
    #: the table's data subject (``subject:`` in its rules), None when it declares none
    subject: SubjectScope | None = None
    #: the per-subject data keys (processor/subjects/datakeys.py), when a KEK file is given
    data_keys: DataKeyStore | None = None


class Action(ABC):
    """A field-level masking action."""

    name: ClassVar[str]
    params_model: ClassVar[type[ActionParams]] = ActionParams
    #: the field does not appear in the output at all
    removes_field: ClassVar[bool] = False
    #: the raw value can appear in the output (keep, mask with keep_* …); for validation/report
    reveals: ClassVar[str] = "nothing"  # "nothing" | "part" | "all"
    #: the kinds of value (formats/postgres_types.py) that the action is defined for
    reads: ClassVar[frozenset[str]] = ALL_KINDS
    #: the Avro type of the output: None keeps the input's type (keep, generalize), "string"
    #: for actions that write text, "null" for null; masked schemas are derived from it
    output_type: ClassVar[str | None] = "string"

    def __init__(self, params: ActionParams, ctx: CompileContext) -> None:
        self.params = params
        self.ctx = ctx

    @abstractmethod
    def apply(self, value: Any) -> Any:
        """Mask one value. Never raises with the value in the message."""

    def native_spec(self) -> dict[str, Any] | None:
        """How the native core applies this action (``kind`` and compiled parameters), or None:
        the core calls ``apply``. The core hands any value it is not sure of back to ``apply``,
        so the Python class stays the definition of what the action does."""
        return None

    def source_problem(self, column: SourceColumn, typed: bool) -> str | None:
        """Why this action cannot take what Debezium sends for ``column`` (None: it can);
        ``typed``: the events name their columns' types (see ``for_logical_type``)."""
        if column.kind in self.reads:
            return None
        return (f"{self.name} reads {' or '.join(sorted(self.reads))} values, and Debezium "
                f"sends {column.kind} for {column.pg_type}")

    def declared_type(self) -> LogicalType | None:
        """The logical type that the rule declares for the column (its ``encoding``), which
        the ``bi`` format decodes where events carry no schema; None: not declared."""
        return None

    def for_logical_type(self, logical: LogicalType) -> Action | None:
        """This action for a column whose source schema names ``logical``, where that changes
        how the value is read (a generalize's encoding); None: the compiled action applies."""
        return None

    #: may mask a special category (Art. 9): nothing of the value can reach a view
    safe_for_special: ClassVar[bool] = False
    #: deterministic and unique enough for a key column (deletes and compaction need the same
    #: key for the same row)
    stable_for_keys: ClassVar[bool] = False
    #: the leak watch inspects its outputs (what it publishes can still look like PII)
    watched: ClassVar[bool] = False
    #: the action reads the row's data subject (``CompileContext.subject``): the table must
    #: declare one, and the native core hands the table to the Python engine
    per_subject: ClassVar[bool] = False
    #: the action finds what its detectors find, no more (scrub): the record says so
    best_effort: ClassVar[bool] = False
    #: what the record of processing activities says the action does (fixed wording)
    described: ClassVar[Localized] = Localized("", "")

    def measure(self) -> Localized:
        """What the record of processing activities says this action does, in each language:
        the action words its own parameters, so the record cannot drift from it."""
        return self.described
