"""Rubrics across all inputs of a comparison: clusters of matched criteria, survivors, growth curves."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from lalm_bench.errors import InputError
from lalm_bench.rubrics.compare.match import Match, as_items, check_threshold, cosine_matrix, match_ratio, match_rubrics

SURVIVAL_RULE = (
    "constrained single linkage: the pairwise matches (cosine >= threshold) are joined in order of "
    "descending cosine, and two clusters are joined only when they share no input, so a cluster holds "
    "at most one criterion per input; a survivor is a cluster that spans every input"
)


Node = tuple[int, int]  # (input position, criterion index)
Edge = tuple[float, int, int, int, int]  # (cosine, x, i, y, j): criterion i of input x matches j of y


def _edges(
    labels: Sequence[str],
    emb: Mapping[str, np.ndarray],
    t: float,
    matches: Mapping[tuple[str, str], Sequence[Match]] | None,
) -> list[Edge]:
    """Step 1: the pairwise matches of every two inputs (given, or computed at ``t``)."""
    edges: list[Edge] = []
    for x in range(len(labels)):
        for y in range(x + 1, len(labels)):
            la, lb = labels[x], labels[y]
            ms = matches[(la, lb)] if matches is not None else match_rubrics(emb[la], emb[lb], t)
            edges += [(c, x, i, y, j) for i, j, c in ms]
    return edges


def _join(sizes: Sequence[int], edges: Sequence[Edge]) -> list[list[Node]]:
    """Step 2: constrained single linkage (strongest edge first; two clusters join only when they share no
    input); every criterion is a node of ``sizes[x]`` per input ``x``. Returns the clusters' members."""
    parent: dict[Node, Node] = {}
    inputs: dict[Node, set[int]] = {}
    for x, size in enumerate(sizes):
        for i in range(size):
            parent[(x, i)] = (x, i)
            inputs[(x, i)] = {x}

    def find(node: Node) -> Node:
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for _, x, i, y, j in sorted(edges, key=lambda e: (-e[0], *e[1:])):
        ra, rb = find((x, i)), find((y, j))
        if ra != rb and not inputs[ra] & inputs[rb]:
            parent[rb] = ra
            inputs[ra] |= inputs.pop(rb)
    groups: dict[Node, list[Node]] = {}
    for node in parent:
        groups.setdefault(find(node), []).append(node)
    return [sorted(m) for m in groups.values()]


def _cluster_entries(
    members: list[list[Node]],
    labels: Sequence[str],
    items: Mapping[str, Sequence[Any]],
    emb: Mapping[str, np.ndarray],
    matched_pairs: set[tuple[Node, Node]],
) -> list[dict[str, Any]]:
    """Step 3: one entry per cluster, survivors first, then by weight, then by the first criterion's position."""
    clusters: list[dict[str, Any]] = []
    for m in sorted(members, key=lambda m: (-len(m), -sum(items[labels[x]][i].weight for x, i in m), m[0])):
        cos = [
            float(cosine_matrix(emb[labels[x]][i : i + 1], emb[labels[y]][j : j + 1])[0, 0])
            for k, (x, i) in enumerate(m)
            for (y, j) in m[k + 1 :]
        ]
        clusters.append(
            {
                "id": len(clusters),
                "span": len(m),
                "criteria": {labels[x]: items[labels[x]][i].text for x, i in m},
                "weights": {labels[x]: items[labels[x]][i].weight for x, i in m},
                "indices": {labels[x]: i for x, i in m},
                "total_weight": sum(items[labels[x]][i].weight for x, i in m),
                "min_cosine": round(min(cos), 6) if cos else None,
                "all_pairs_matched": all((p, q) in matched_pairs for k, p in enumerate(m) for q in m[k + 1 :]),
            }
        )
    return clusters


def _per_rubric(
    labels: Sequence[str], items: Mapping[str, Sequence[Any]], survivors: Sequence[dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """Step 4: each input's size and the share (count and weight) of its criteria that survive."""
    out: dict[str, dict[str, Any]] = {}
    for label in labels:
        size = len(items[label])
        kept = [items[label][c["indices"][label]].weight for c in survivors]
        out[label] = {
            "size": size,
            "surviving": len(kept),
            "surviving_share": match_ratio(len(kept), size),
            "surviving_weight_share": match_ratio(sum(kept), sum(it.weight for it in items[label])),
        }
    return out


def survival(
    rubrics: Mapping[str, Sequence[Any]],
    embeddings: Mapping[str, np.ndarray],
    threshold: float,
    matches: Mapping[tuple[str, str], Sequence[Match]] | None = None,
) -> dict[str, Any]:
    """Clusters of criteria across all inputs, and the criteria that survive in every input.

    The edges are the pairwise matches of :func:`match_rubrics` (computed here unless ``matches``
    gives them for each pair of labels in input order). They are joined strongest first, and two
    clusters are joined only when they share no input (a cluster holds at most one criterion per
    input: a chain a1~b1~a2 cannot put two criteria of one rubric together). A criterion that
    matches nothing is a cluster of span 1. Each cluster reports ``min_cosine`` (the lowest cosine
    between any two of its criteria) and ``all_pairs_matched`` (every two of its criteria were
    matched to each other, not only through a chain).
    """
    labels = list(rubrics)
    if not labels:
        raise InputError("survival needs at least one rubric")
    t = check_threshold(threshold)
    items = {label: as_items(rubrics[label]) for label in labels}
    emb = {label: np.asarray(embeddings[label], dtype=np.float64) for label in labels}
    for label in labels:
        if emb[label].shape[0] != len(items[label]):
            raise ValueError(f"{label}: {emb[label].shape[0]} embeddings for {len(items[label])} criteria")
    edges = _edges(labels, emb, t, matches)
    members = _join([len(items[label]) for label in labels], edges)
    matched_pairs = {((x, i), (y, j)) for _, x, i, y, j in edges}
    clusters = _cluster_entries(members, labels, items, emb, matched_pairs)
    k = len(labels)
    survivors = [c for c in clusters if c["span"] == k]
    return {
        "rule": SURVIVAL_RULE,
        "n_inputs": k,
        "threshold": t,
        "n_clusters": len(clusters),
        "span_histogram": {str(s): sum(c["span"] == s for c in clusters) for s in range(1, k + 1)},
        "n_survivors": len(survivors),
        "n_survivors_all_pairs_matched": sum(c["all_pairs_matched"] for c in survivors),
        "per_rubric": _per_rubric(labels, items, survivors),
        "survivors": survivors,
        "clusters": clusters,
    }


def growth_curve(sizes_per_clip: Sequence[int]) -> dict[str, Any]:
    """Rubric size after each clip, with a saturation summary.

    ``window_clips`` = the last 25% of clips (at least 1); ``tail_new_per_clip`` = net criteria
    added per clip over that window (the size before the first clip is 0); ``overall_new_per_clip``
    = final size / clips; ``tail_to_overall`` = their ratio (about 1: still growing at its average
    pace, near 0: saturated, negative: shrinking); ``clips_to_90pct`` = the first clip (1-based)
    after which the size reaches 90% of the final size.
    """
    sizes = [int(s) for s in sizes_per_clip]
    n = len(sizes)
    if n == 0:
        return {"sizes": [], "n_clips": 0, "final_size": None, "max_size": None, "saturation": None}
    final = sizes[-1]
    window = max(1, math.ceil(n / 4))
    before = sizes[n - 1 - window] if n - 1 - window >= 0 else 0
    tail = (final - before) / window
    overall = final / n
    return {
        "sizes": sizes,
        "n_clips": n,
        "final_size": final,
        "max_size": max(sizes),
        "saturation": {
            "window_clips": window,
            "tail_new_per_clip": tail,
            "overall_new_per_clip": overall,
            "tail_to_overall": match_ratio(tail, overall) if overall > 0 else None,
            "clips_to_90pct": (next(k for k, s in enumerate(sizes, 1) if s >= 0.9 * final) if final > 0 else None),
        },
    }
