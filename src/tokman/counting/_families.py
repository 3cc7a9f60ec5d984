"""How each chat model frames a prompt, as data: one row per model family.

A Chat Completions prompt costs the tokens of its text plus fixed framing (``<|im_start|>``,
separators, the reply priming) that differs by model family, plus the rendered tool
definitions and images. The constants below are the ones that reproduce API-reported
``prompt_tokens``; each row says where its evidence comes from, and ``verified`` is False
where a number is documented or inferred but no exact API observation confirms it (the
counts then carry a note in ``PromptCount.uncertain``).

Families are matched by the longest prefix of the model name's table key
(``tokman._names.parse_model_name``: no ``ft:`` or Azure routing decoration), or named by a
registered model's ``family``. The encoding always comes from ``tokman.models.encoding_for``.
"""

from __future__ import annotations

from dataclasses import dataclass

from tokman._names import parse_model_name
from tokman.counting.images import PatchRule, TileRule

__all__ = ["FAMILIES", "Framing", "ModelRules", "rules_for_family", "rules_for_name"]


@dataclass(frozen=True)
class Framing:
    """Fixed token costs around the text of a request.

    Attributes:
        per_message: ``<|im_start|>``, the role/content separator and ``<|im_end|>``.
        per_name: added with a ``name`` field, on top of the name's own tokens.
        priming: the ``<|im_start|>assistant<|im_sep|>`` the reply starts from, once.
        function_role: adjustment for a ``function``-role message (hmarr: -2).
        call: added for an assistant ``function_call``/tool call (hmarr: +3).
        functions: the system message that carries the function block (hmarr: +9).
        system_merge: refund when the block joins an existing system message (hmarr: -4).
        choice_none: ``tool_choice``/``function_call`` = ``"none"`` (hmarr, pamelafox: +1).
        choice_function: a named ``function_call`` (hmarr: +4) ...
        choice_tool: ... and a named ``tool_choice`` (pamelafox: +7), plus the name's tokens.
        verified: API observations confirm this framing for the family.
        source: where the numbers come from.
    """

    per_message: int
    per_name: int
    priming: int
    function_role: int = -2
    call: int = 3
    functions: int = 9
    system_merge: int = -4
    choice_none: int = 1
    choice_function: int = 4
    choice_tool: int = 7
    verified: bool = True
    source: str = ""


CHATML = Framing(
    3,
    1,
    3,
    source="cookbook How_to_count_tokens_with_tiktoken (129/124/105/101), hmarr 36/36, "
    "pamelafox 13 messages on a cl100k model and on gpt-4o",
)
# gpt-3.5-turbo-0301: 4 per message and a name replaces the role (cookbook @06d9feb: 127)
CHATML_0301 = Framing(4, -1, 3, source="cookbook @06d9feb: 127 for gpt-3.5-turbo-0301")
# o-series and gpt-5: the reply priming is one token cheaper. o3's 86/236 for a 128x64 image
# (community 1262691) and o4-mini's 26 fit only with it; gpt-5's 18 for developer + "Hello!"
# (llmapi.apifox.cn, a relay: lower confidence) agrees. Tools framing is assumed unchanged.
REASONING = Framing(
    3, 1, 2, verified=False, source="community 1262691 (o3, o4-mini images); gpt-5 relay"
)


@dataclass(frozen=True)
class ModelRules:
    """Everything model-specific about counting a prompt, except the encoding."""

    family: str
    framing: Framing
    image: TileRule | PatchRule | None  # None: the model does not accept images
    image_verified: bool = True


TILE_85 = TileRule(85, 170)  # OpenAI vision guide; community 1262691 (97/267), pamelafox
TILE_4O_MINI = TileRule(2833, 5667)  # pamelafox 8511/2844/19842, community 1262691
TILE_75 = TileRule(75, 150)  # o3: community 1262691 86/236 (with REASONING framing)
TILE_70 = TileRule(70, 140)  # gpt-5 per OpenAI's docs; no exact API observation

# (prefix, rules), longest prefix wins; names are matched after normalisation
FAMILIES: tuple[tuple[str, ModelRules], ...] = (
    ("gpt-3.5-turbo-0301", ModelRules("gpt-3.5-0301", CHATML_0301, None)),
    ("gpt-35-turbo-0301", ModelRules("gpt-3.5-0301", CHATML_0301, None)),
    ("gpt-3.5-turbo", ModelRules("gpt-3.5", CHATML, None)),
    ("gpt-35-turbo", ModelRules("gpt-3.5", CHATML, None)),
    ("gpt-4-turbo", ModelRules("gpt-4-turbo", CHATML, TILE_85)),
    ("gpt-4-vision", ModelRules("gpt-4-turbo", CHATML, TILE_85)),
    ("gpt-4-1106-vision", ModelRules("gpt-4-turbo", CHATML, TILE_85)),
    ("gpt-4", ModelRules("gpt-4", CHATML, None)),
    ("gpt-4o-mini", ModelRules("gpt-4o-mini", CHATML, TILE_4O_MINI)),
    ("gpt-4o", ModelRules("gpt-4o", CHATML, TILE_85)),
    ("chatgpt-4o", ModelRules("gpt-4o", CHATML, TILE_85)),
    ("gpt-4.1-mini", ModelRules("gpt-4.1-mini", CHATML, PatchRule(1.62))),
    ("gpt-4.1-nano", ModelRules("gpt-4.1-nano", CHATML, PatchRule(2.46))),
    ("gpt-4.1", ModelRules("gpt-4.1", CHATML, TILE_85)),
    ("gpt-4.5", ModelRules("gpt-4.5", CHATML, TILE_85)),
    ("o1-mini", ModelRules("o1-mini", REASONING, None)),
    ("o1-preview", ModelRules("o1-preview", REASONING, None)),
    # o1 bills 22/44 for the 128x64 image (community 1262691): no known formula fits
    ("o1", ModelRules("o1", REASONING, TILE_75, image_verified=False)),
    ("o3-mini", ModelRules("o3-mini", REASONING, None)),
    ("o3", ModelRules("o3", REASONING, TILE_75)),
    ("o4-mini", ModelRules("o4-mini", REASONING, PatchRule(1.72))),
    # gpt-5 family: forum reports disagree with the documented multipliers; unverified
    ("gpt-5-mini", ModelRules("gpt-5-mini", REASONING, PatchRule(1.62), image_verified=False)),
    ("gpt-5-nano", ModelRules("gpt-5-nano", REASONING, PatchRule(2.46), image_verified=False)),
    ("gpt-5", ModelRules("gpt-5", REASONING, TILE_70, image_verified=False)),
)
_BY_LENGTH = tuple(sorted(FAMILIES, key=lambda row: -len(row[0])))

_BY_FAMILY = {rules.family: rules for _, rules in FAMILIES}


def rules_for_name(model: str) -> ModelRules | None:
    """The rules of the longest matching family prefix, or ``None`` for a non-chat model.

    >>> rules_for_name("gpt-4o-mini-2024-07-18").family
    'gpt-4o-mini'
    >>> rules_for_name("text-embedding-3-small") is None
    True
    """
    name = parse_model_name(model).base
    for prefix, rules in _BY_LENGTH:
        if name.startswith(prefix):
            return rules
    return None


def rules_for_family(family: str) -> ModelRules | None:
    """The rules of a family by name (``tokman._names.CHAT_FAMILIES``), or ``None``.

    >>> rules_for_family("gpt-4.1-nano").image.multiplier
    2.46
    """
    return _BY_FAMILY.get(family)
