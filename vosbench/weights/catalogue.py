"""The weight catalogue: every released checkpoint the method cards list, by tag.

Built from the torch-free method cards (entry-point group ``vosbench.method_cards``), so the
core names no plug-in and listing the weights loads no network.
"""

from __future__ import annotations

import difflib
import re

from vosbench.errors import ConfigError, UnknownNameError, VosbenchError
from vosbench.weights.cards import WeightCard

OFFICIAL = "official"
"""``--weights official``: the method's checkpoint for the run's dataset (:func:`official_tag`)."""
_TAG_LIKE = re.compile(r"^[A-Za-z0-9_-]+:[A-Za-z0-9._-]+$")


def weight_cards() -> dict[str, WeightCard]:
    """Every weight card of every readable method card, by tag (a broken card adds none)."""
    from vosbench.runner.methods import METHOD_CARDS, _checked_card

    cards: dict[str, WeightCard] = {}
    for entry in METHOD_CARDS.entries():
        try:
            card = _checked_card(entry)
        except VosbenchError:  # `vosbench methods` shows why
            continue
        for weights in card.weights:
            cards.setdefault(weights.tag, weights)
    return cards


def weight_card(tag: str) -> WeightCard:
    """The card of ``tag``; an unknown tag fails with "did you mean"."""
    cards = weight_cards()
    key = tag.strip().lower()
    if key in cards:
        return cards[key]
    raise UnknownNameError(_unknown(tag, cards))


def looks_like_tag(value: str) -> bool:
    """``method:variant`` with no path separator (``C:\\x`` and ``./a:b`` are paths)."""
    return bool(_TAG_LIKE.match(value)) and not re.match(r"^[A-Za-z]:$", value[:2])


def official_tag(method: str, dataset: str | None = None) -> str:
    """The tag ``--weights official`` means for ``method`` on ``dataset``: the first of the
    method's weight cards meant for that dataset, else its first test checkpoint."""
    from vosbench.runner.methods import method_card

    card = method_card(method)
    testable = [w for w in card.weights if w.purpose == "test"]
    if not testable:
        raise ConfigError(
            f"{card.name} has no released weights to download"
            + (f". {card.weights_help}" if card.weights_help else "")
        )
    for weights in testable:
        if dataset and dataset in weights.datasets:
            return weights.tag
    return testable[0].tag


def check_method(weights: WeightCard, method: str) -> None:
    """Refuse a tag of another method (``--method rgmp --weights ranet:video-single``)."""
    from vosbench.runner.methods import method_card

    name = method_card(method).name
    if weights.method != name:
        raise ConfigError(
            f"--weights {weights.tag} are {weights.method}'s, not {name}'s; "
            f"{name}'s: {', '.join(_tags_of(name)) or 'none released'}"
        )


def _tags_of(method: str) -> list[str]:
    return [tag for tag, card in weight_cards().items() if card.method == method]


def _unknown(tag: str, cards: dict[str, WeightCard]) -> str:
    close = difflib.get_close_matches(tag.strip().lower(), list(cards), n=3, cutoff=0.5)
    message = f"unknown weights tag {tag!r}"
    if close:
        message += f"; did you mean {' or '.join(repr(c) for c in close)}?"
    return message + f" (known: {', '.join(sorted(cards)) or 'none'}; see `vosbench weights list`)"
