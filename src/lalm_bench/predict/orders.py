"""The option orders of ``predict --permute-choices K``: which permutations each item is asked with.

Order 0 is the benchmark's own. Orders 1 … ``n-1`` are the cyclic shifts (order ``s`` shows original
option ``(p + s) mod n`` at position ``p``), so with ``K >= n - 1`` every option visits every position;
orders past them are seeded random permutations (PCG64 seeded from SHA-256 of
``["lalm-bench", "order/v1", seed, item id]``), distinct from the earlier ones while any remain. At most
``n! - 1`` extra orders exist; an item with fewer gets only those.
"""

from __future__ import annotations

import hashlib
import json
import math


def choice_orders(n: int, k: int, seed: int, item_id: str) -> list[tuple[int, ...]]:
    """The ``1 + min(k, n! - 1)`` orders of an item with ``n`` options (displayed position -> original index)."""
    import numpy as np

    base = tuple(range(n))
    orders = [base]
    if n < 2 or k < 1:
        return orders
    total = min(k, math.factorial(n) - 1)
    for s in range(1, n):
        if len(orders) > total:
            break
        orders.append(tuple((p + s) % n for p in range(n)))
    text = json.dumps(["lalm-bench", "order/v1", int(seed), str(item_id)], separators=(",", ":"))
    entropy = int.from_bytes(hashlib.sha256(text.encode("ascii")).digest(), "big")
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy)))
    seen = set(orders)
    while len(orders) <= total:
        perm = tuple(int(i) for i in rng.permutation(n))
        if perm not in seen:
            seen.add(perm)
            orders.append(perm)
    return orders
