"""An independent computation of the listening probe's per-item numbers (sentence-transformers + numpy, brute
force, no lalm_bench code): what a careful user would write by hand to check the job."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def embed(model_path: str, texts: list[str]) -> np.ndarray:
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(model_path, device="cpu")
    e = model.encode(texts, batch_size=32).astype(np.float64)
    return e / np.linalg.norm(e, axis=1, keepdims=True)


def per_item(noise: Path, audio: Path, noise2: Path | None, model_path: str) -> pd.DataFrame:
    """Matched, floor, same-question and listening numbers per ID, by brute force over all pairs."""
    n = pd.read_parquet(noise)
    a = pd.read_parquet(audio)[["id", "model_output"]]
    m = n.merge(a, on="id", suffixes=("_n", "_a"))
    texts = m["model_output_n"].tolist() + m["model_output_a"].tolist()
    if noise2 is not None:
        n2 = pd.read_parquet(noise2)[["id", "model_output"]].rename(columns={"model_output": "model_output_n2"})
        m = m.merge(n2, on="id", how="left")
        texts += m["model_output_n2"].fillna("").tolist()
    e = embed(model_path, texts)
    k = len(m)
    en, ea = e[:k], e[k : 2 * k]
    cos = np.clip(en @ ea.T, -1, 1)  # cos[i, j] = noise answer i vs audio answer j
    m["sim"] = np.diag(cos)
    cat = m["category"].to_numpy()
    q = m["question"].map(lambda s: " ".join(str(s).split())).to_numpy()
    if "choices" in m.columns:  # same-question groups hold one question and one choice set
        ch = m["choices"].map(lambda c: " | ".join(" ".join(str(x).split()) for x in c) if c is not None else "")
        q = np.array([f"{a}\u241e{b}" if b else a for a, b in zip(q, ch.to_numpy(), strict=True)], dtype=object)
    floor, same_q = [], []
    for i in range(k):
        others = (cat == cat[i]) & (np.arange(k) != i)
        floor.append(cos[i, others].mean() if others.any() else np.nan)
        sq = (q == q[i]) & (np.arange(k) != i)
        same_q.append(cos[i, sq].mean() if sq.any() else np.nan)
    m["floor"], m["same_q"] = floor, same_q
    if noise2 is not None:
        en2 = e[2 * k :]
        nn = np.clip((en * en2).sum(1), -1, 1)
        an = (np.clip((ea * en).sum(1), -1, 1) + np.clip((ea * en2).sum(1), -1, 1)) / 2
        has = m["model_output_n2"].notna().to_numpy()
        m["nn"] = np.where(has, nn, np.nan)
        m["gap"] = np.where(has, nn - an, np.nan)
    return m
