"""The ``mismatched`` control's pairing: each item gets another item's audio, never audio with its own
content (items sharing a byte-identical file are one content cluster), within its category where possible."""

from __future__ import annotations

import math
import os
import stat
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lalm_bench.audio.seeds import derived_rng
from lalm_bench.errors import InputError
from lalm_bench.io import sha256_file


@dataclass(frozen=True)
class MismatchPartner:
    """Whose audio an item gets under ``mismatched``, and whether it came from the item's own category."""

    partner: str
    within_category: bool
    category: str | None


def _category_key(value: Hashable | None) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return str(value)


def _cycle(ids: list[str], rng: np.random.Generator) -> dict[str, str]:
    """A random single cycle over ``ids``: nobody maps to itself and every id is some item's partner once."""
    order = [ids[i] for i in rng.permutation(len(ids))]
    return {order[i]: order[(i + 1) % len(order)] for i in range(len(order))}


def _content_derangement(
    members: list[str], content: dict[str, str], rng: np.random.Generator
) -> tuple[dict[str, str], list[str]]:
    """Partners for ``members`` that never share the member's content cluster, each member's audio used
    once; the members that cannot be placed so (the excess of a cluster holding more than half) are returned.

    Clusters are laid out as contiguous blocks in a seeded order and every member takes the audio ``m``
    places further on (``m`` the largest cluster): with ``m`` at most half the members, that place always
    lies in another block.
    """
    clusters: dict[str, list[str]] = {}
    for item in members:
        clusters.setdefault(content[item], []).append(item)
    keys = sorted(clusters)
    for key in keys:
        clusters[key] = [clusters[key][i] for i in rng.permutation(len(clusters[key]))]
    largest = max(keys, key=lambda k: (len(clusters[k]), k))
    rest = len(members) - len(clusters[largest])
    leftovers: list[str] = []
    if len(clusters[largest]) > rest:
        excess = len(clusters[largest]) - rest
        leftovers = sorted(clusters[largest][:excess])
        clusters[largest] = clusters[largest][excess:]
    seq = [item for i in rng.permutation(len(keys)) for item in clusters[keys[i]]]
    if not seq:
        return {}, leftovers
    shift = max(len(c) for c in clusters.values())
    return {seq[k]: seq[(k + shift) % len(seq)] for k in range(len(seq))}, leftovers


def mismatch_partners(
    ids: Sequence[str],
    categories: Sequence[Hashable | None],
    seed: int,
    content: Sequence[str] | None = None,
) -> dict[str, MismatchPartner]:
    """A seeded derangement of the items' audio within each category, over audio *content*.

    ``content`` labels each item's audio (e.g. the connected component of the SHA-256 of its files,
    :func:`content_clusters`): no item is ever given the audio of an item with the same label, so two
    questions about one clip never swap their (identical) audio. Without it every item's audio counts as
    distinct.

    Within a category of ``n >= 2`` items whose labels all differ, the partners form one random cycle
    (seeded from ``seed`` and the category only, so other categories and the input order do not change
    it): no item gets its own audio and each item's audio is used exactly once. Where labels repeat, the
    clusters are deranged as blocks (:func:`_content_derangement`); the excess of a cluster holding more
    than half of its category joins the items alone in their category. Those (``within_category=False``)
    are deranged among themselves the same way when there are two or more of them; one that is still
    left takes the audio of a seeded random item of the whole benchmark with other content, whose audio
    is then used twice. An item for which no other content exists is an error naming it. ``None``/NaN
    categories form one category. To keep multi-audio items with items of the same file count, pass a
    combined key such as ``f"{category}|{n_files}"``.
    """
    ids = [str(i) for i in ids]
    if len(ids) != len(categories):
        raise InputError(f"{len(ids)} ids but {len(categories)} categories")
    if len(set(ids)) != len(ids):
        dup = next(i for n, i in enumerate(ids) if i in ids[:n])
        raise InputError(f"item id {dup!r} occurs more than once")
    if len(ids) < 2:
        raise InputError("the mismatched condition needs at least two items")
    if content is not None and len(content) != len(ids):
        raise InputError(f"{len(ids)} ids but {len(content)} content labels")
    label = dict(zip(ids, content, strict=True)) if content is not None else {i: f"item:{i}" for i in ids}
    groups: dict[str | None, list[str]] = {}
    for item, cat in zip(ids, categories, strict=True):
        groups.setdefault(_category_key(cat), []).append(item)
    category = {item: key for key, members in groups.items() for item in members}
    out: dict[str, MismatchPartner] = {}
    alone: list[str] = []

    def derange(members: list[str], rng: np.random.Generator) -> tuple[dict[str, str], list[str]]:
        if len({label[m] for m in members}) == len(members):
            return _cycle(members, rng), []
        return _content_derangement(members, label, rng)

    for key, members in groups.items():
        if len(members) == 1:
            alone.extend(members)
            continue
        pairs, left = derange(sorted(members), derived_rng("mismatch/v1", int(seed), key))
        out.update({item: MismatchPartner(partner, True, key) for item, partner in pairs.items()})
        alone.extend(left)
    if len(alone) >= 2:
        pairs, alone = derange(sorted(alone), derived_rng("mismatch-singletons/v1", int(seed)))
        out.update({item: MismatchPartner(partner, False, category[item]) for item, partner in pairs.items()})
    impossible = []
    for item in alone:
        others = sorted(i for i in ids if label[i] != label[item])
        if not others:
            impossible.append(item)
            continue
        rng = derived_rng("mismatch-single/v1", int(seed), item)
        out[item] = MismatchPartner(others[int(rng.integers(len(others)))], False, category[item])
    if impossible:
        shown = ", ".join(repr(i) for i in impossible[:5]) + (" …" if len(impossible) > 5 else "")
        raise InputError(
            f"the mismatched condition has no derangement: every item's audio is identical to that of item(s) "
            f"{shown} ({len(impossible)} item(s) with no other audio content to send)"
        )
    return out


def content_clusters(files: Sequence[Sequence[Path | None]]) -> list[str]:
    """A content label per item: items whose audio files share any byte-identical file (SHA-256) are joined
    into one cluster (connected components), so items about one clip get one label. ``None`` (a file that
    cannot be found or read) is that item's own content; the item fails when its audio is built."""
    digest: dict[Path, str] = {}
    parent = list(range(len(files)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[str, int] = {}
    for i, paths in enumerate(files):
        for path in paths:
            if path is None:
                continue
            if path not in digest:
                try:
                    if not stat.S_ISREG(os.stat(path).st_mode):  # never open a FIFO or a device
                        continue
                    digest[path] = sha256_file(path)
                except OSError:
                    continue
            j = owner.setdefault(digest[path], i)
            parent[find(i)] = find(j)
    return [f"cluster:{find(i)}" for i in range(len(files))]
