"""The one way to write a mutation: a subclass of ``InputMutation`` naming its input type, what
the input holds and its payload; its docstring is the mutation's description, and ``mutate``
(``root, info, input``) answers the payload as a dict with ``user_errors``.

    class OutingCancel(InputMutation, input=OutingRefInput, about="Which outing.", output=OutingPayload):
        \"\"\"Cancel an outing.\"\"\"

        @staticmethod
        async def mutate(root: None, info: graphene.ResolveInfo, input: dict[str, Any]) -> dict[str, Any]: ...

Mutations made by a factory (the same body for several names) are made with ``input_mutation``.
"""

from __future__ import annotations

import types
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import graphene

from .errors import user_errors
from .values import typed

Mutate = Callable[[None, graphene.ResolveInfo, dict[str, Any]], Awaitable[dict[str, Any]]]


class InputMutation(graphene.Mutation):
    """Base of every mutation: one required ``input`` argument, a payload with ``userErrors``."""

    class Meta:
        abstract = True

    if TYPE_CHECKING:  # graphene takes the class keywords (input=, about=, output=) as Meta options

        def __init_subclass__(cls, **options: Any) -> None: ...

    @classmethod
    def __init_subclass_with_meta__(  # type: ignore[override]
        cls, input: Any = None, about: str = "", output: Any = None, required: bool = True, **options: Any
    ) -> None:
        if input is None or output is None:
            raise TypeError(f"{cls.__name__}: a mutation names its input and output (InputMutation)")
        arguments = {"input": graphene.Argument(input, required=required, description=about)}
        super().__init_subclass_with_meta__(output=output, arguments=arguments, **options)


def input_mutation(name: str, doc: str, input: Any, about: str, output: Any, mutate: Mutate) -> type[InputMutation]:
    """An ``InputMutation`` made at run time, for factories that make several of one shape."""
    body = {"__doc__": doc, "mutate": staticmethod(mutate)}
    options = {"input": input, "about": about, "output": output}
    return types.new_class(name, (InputMutation,), options, lambda ns: ns.update(body))  # type: ignore[return-value]


def payload(result: dict[str, Any], **nodes: str) -> dict[str, Any]:
    """A mutation's payload from a service's answer ``{<field>: view, "errors": [...]}``: each field
    named in ``nodes`` typed as its GraphQL type (``outing="Outing"``), the errors as userErrors on
    ``input``."""
    return {
        **{field: typed(type_name, result.get(field)) for field, type_name in nodes.items()},
        "user_errors": user_errors(result["errors"], ("input",)),
    }
