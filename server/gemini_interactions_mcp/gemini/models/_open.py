"""Open unions: a known `type` parses into its model, any other into an Unknown model that keeps it all.

The API changed its schema in 2026 and will again. Every model allows extra fields (kept and
re-serialised verbatim), and every union falls back to an Unknown member instead of failing, so a new
step, content, delta, tool or event type passes through this client untouched.

Serialisation follows the SDK's rule (reference section 3): a declared optional field that is unset or
None is omitted, while an unknown field is sent exactly as received, `null` included. `wire()` dumps
only the fields that were given, so a parsed payload re-serialises as it came and defaults the server
never sent are not invented; the discriminator (`type`, `event_type`) is always written.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Annotated, Any, ClassVar, Union, cast, get_args

from pydantic import BaseModel, ConfigDict, Discriminator, SerializerFunctionWrapHandler, model_serializer

UNKNOWN = "unknown"
_DISCRIMINATORS = ("type", "event_type")
_SCALARS = frozenset({str, int, bool, type(None)})
"""Values that are their own JSON form (so are finite floats, and lists and dicts of such values)."""
_NOT_PLAIN: Any = object()
"""What `_plain` answers for a value only the serialiser knows how to send (an enum, a date, a NaN)."""


class OpenModel(BaseModel):
    """Base of every wire model: unknown fields are kept; `wire()` gives the JSON object to send."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, defer_build=True)
    _discriminators: ClassVar[tuple[str, ...]] = ()
    """This class's own discriminator fields, found once per class. A constructed model must still say
    what it is when dumped with only its given fields, so these are always written, given or not. That
    is done when dumping, not on creation (`model_post_init` adding them to the given fields): every
    stream event validates several models, and a hook on each cost about 15 % of parsing a turn."""
    _unaliased: ClassVar[bool] = False
    """No field of this class is renamed on the wire (found once per class, for `wire`)."""

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        cls._discriminators = tuple(name for name in _DISCRIMINATORS if name in cls.__pydantic_fields__)
        cls._unaliased = cls.model_config.get("alias_generator") is None and all(
            field.alias is None and field.serialization_alias is None
            for field in cls.__pydantic_fields__.values()
        )

    @model_serializer(mode="wrap")
    def _omit_declared_nones(self, handler: SerializerFunctionWrapHandler) -> Any:
        data = handler(self)
        if not isinstance(data, dict):
            return data
        extra = self.__pydantic_extra__ or {}
        shown = {key: value for key, value in data.items() if value is not None or key in extra}
        unsaid = self._unsaid()
        return {**unsaid, **shown} if unsaid else shown

    def _unsaid(self) -> dict[str, Any]:
        """The discriminators this model has but was not given (a constructed one's default `type`)."""
        given = self.__pydantic_fields_set__
        return {
            name: value
            for name in self._discriminators
            if name not in given and (value := getattr(self, name)) is not None
        }

    def wire(self) -> dict[str, Any]:
        """The JSON object as it goes over the wire: given fields only, declared Nones omitted.

        A model whose given values are plain JSON (strings, numbers, booleans, nulls, lists and dicts
        of them, and models of this kind whose fields keep their names on the wire: a request body, a
        step, most of what a stream's events hold) is read off directly, in the order the serialiser
        would give: the serialiser calls back into Python for every model it meets (`_omit_declared_
        nones`), which made a turn's create body cost 15 µs to dump. Anything else is dumped."""
        plain = self._plain_wire()
        if plain is not _NOT_PLAIN:
            return cast(dict[str, Any], plain)
        data: dict[str, Any] = self.model_dump(mode="json", by_alias=True, exclude_unset=True)
        return data

    def _plain_wire(self) -> Any:
        """`wire()` read off directly, or _NOT_PLAIN."""
        if not self._unaliased:
            return _NOT_PLAIN
        given = self.__pydantic_fields_set__
        data: dict[str, Any] = self._unsaid()
        for name in type(self).__pydantic_fields__:
            if name in given:
                value = getattr(self, name)
                if value is not None:
                    value = value if type(value) in _SCALARS else _plain(value)
                    if value is _NOT_PLAIN:
                        return _NOT_PLAIN
                    data[name] = value
        for name, value in (self.__pydantic_extra__ or {}).items():
            value = value if type(value) in _SCALARS else _plain(value)
            if value is _NOT_PLAIN:
                return _NOT_PLAIN
            data[name] = value
        return data

    def given(self) -> dict[str, Any]:
        """The fields `wire()` would give, by name, with their values as they are (nested models stay
        models): input for another model of the same data, with no dump and no second validation of
        what was validated already (a stream's interaction, merged from its events on every turn)."""
        declared = type(self).__pydantic_fields__
        given = {
            name: value
            for name in self.__pydantic_fields_set__
            if (value := getattr(self, name)) is not None or name not in declared
        }
        return {**self._unsaid(), **given}


def _plain(value: Any) -> Any:
    """`value` as a JSON-mode dump gives it, or _NOT_PLAIN when that takes the serialiser."""
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is float:
        return value if math.isfinite(value) else _NOT_PLAIN  # the serialiser writes null for NaN and inf
    if kind is list:
        items = [_plain(item) for item in value]
        return _NOT_PLAIN if any(item is _NOT_PLAIN for item in items) else items
    if kind is dict:
        entries = {key: _plain(item) for key, item in value.items()}
        if any(type(key) is not str or item is _NOT_PLAIN for key, item in entries.items()):
            return _NOT_PLAIN
        return entries
    if isinstance(value, OpenModel):
        return value._plain_wire()
    return _NOT_PLAIN


def known_only(union: Any, field: str) -> Any:
    """An open union (`Annotated[<members tagged with Tag>, Discriminator(tag_by(...))]`) without its
    Unknown member, its tag read by pydantic itself from `field`: a payload of a known type validates
    against it a quarter faster (a callable discriminator makes pydantic build Python objects of the
    whole payload to call it with, before it validates the payload again). Any other tag, and an
    aliased one, fails: the open union is then the fallback that keeps today's reading of it."""
    members, _ = get_args(union)
    known = tuple(member for member in get_args(members) if get_args(member)[1].tag != UNKNOWN)
    return Annotated[Union[known], Discriminator(field)]  # noqa: UP007 (a union built at run time)


def tag_by(field: str, known: Iterable[str], aliases: dict[str, str] | None = None) -> Callable[[Any], str]:
    """A pydantic callable discriminator: the value of `field` if known (or aliased), else UNKNOWN."""
    known_set = frozenset(known)
    alias_map = dict(aliases or {})

    def tag(value: Any) -> str:
        raw = value.get(field) if isinstance(value, dict) else getattr(value, field, None)
        if isinstance(raw, str):
            if raw in known_set:
                return raw
            if raw in alias_map:
                return alias_map[raw]
        return UNKNOWN

    return tag
