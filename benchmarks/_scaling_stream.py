"""Streamed counting, Dask counting and streamed DDFA at scale (issue 15).

Run through ``python benchmarks/scaling.py --streaming PARTS`` (PARTS a comma list of
``count``, ``dask``, ``ddfa``). Each measurement runs in a fresh subprocess and
reports its whole peak resident set size (``VmHWM``: interpreter, imports, data pages
it touched and all), its wall time and its result.

- ``count``: a token CSV of ``--rows`` rows (default 10^8) in ``--files`` parts on
  disk, counted with ``DomainCorpus.from_chunks`` through the CSV reader at
  ``--chunksize``; beside it, counting only (no parsing) of ``--memory-rows`` tokens
  held in memory: ``from_tokens`` against ``from_chunks`` on the same arrays.
- ``dask``: the same CSV parts counted with ``DomainCorpus.from_dask`` on a
  ``LocalCluster`` of 1 and of 2 single-threaded worker processes.
- ``ddfa``: a planted problem of ``--ddfa-rows`` x 64 float32 (default 2 x 10^6) in a
  memmap; DDFA (``space="discriminator"``) fitted streamed (the memmap) and in memory
  (the same array loaded), same seed and settings; accuracy, time, peak RSS.

Data go to ``--data-dir`` (default ``/tmp/lls_scaling_stream``) and are reused when
their recorded settings match.
"""
from __future__ import annotations

import glob
import json
import os
import subprocess
import sys
import time
from typing import Any

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

DDFA_DIM, DDFA_K, DDFA_D = 64, 5, 10


def _peak_mb() -> float:
    """The process's peak RSS in MiB (VmHWM, or ru_maxrss where /proc is missing)."""
    from _rss import maxrss_mb, status_mb

    peak = status_mb("VmHWM:")
    return maxrss_mb() if peak is None else peak


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------ data
def _meta_ok(directory: str, meta: dict) -> bool:
    try:
        with open(os.path.join(directory, "meta.json")) as fh:
            return json.load(fh) == meta
    except (OSError, ValueError):
        return False


def _write_meta(directory: str, meta: dict) -> None:
    with open(os.path.join(directory, "meta.json"), "w") as fh:
        json.dump(meta, fh)


def draw_tokens(rng: np.random.Generator, n: int, n_domains: int, n_words: int
                ) -> tuple[np.ndarray, np.ndarray]:
    """Domains uniform, tokens skewed (many rare words), as in text."""
    d = rng.integers(0, n_domains, n)
    t = (n_words * rng.random(n) ** 3).astype(np.int64)
    return t, d


def make_token_csvs(directory: str, n_rows: int, n_files: int, n_domains: int,
                    n_words: int, seed: int) -> list[str]:
    """``n_files`` CSV parts ``domain,token`` with ``n_rows`` rows in all."""
    meta = dict(kind="tokens", rows=n_rows, files=n_files, domains=n_domains,
                words=n_words, seed=seed)
    directory = os.path.join(directory, "tokens")
    paths = [os.path.join(directory, f"part-{i:03d}.csv") for i in range(n_files)]
    if _meta_ok(directory, meta) and all(os.path.exists(p) for p in paths):
        return paths
    os.makedirs(directory, exist_ok=True)
    for p in glob.glob(os.path.join(directory, "part-*.csv")):
        os.remove(p)
    rng = np.random.default_rng(seed)
    per = -(-n_rows // n_files)
    left = n_rows
    t0 = time.perf_counter()
    for p in paths:
        rows = min(per, left)
        left -= rows
        with open(p, "w") as fh:
            fh.write("domain,token\n")
            for s in range(0, rows, 2_000_000):
                t, d = draw_tokens(rng, min(2_000_000, rows - s), n_domains, n_words)
                _write_rows(fh, d, t)
        _log(f"wrote {p} ({rows} rows, {time.perf_counter() - t0:.0f} s)")
    _write_meta(directory, meta)
    return paths


def _write_rows(fh: Any, d: np.ndarray, t: np.ndarray) -> None:
    try:
        import pyarrow as pa
        import pyarrow.csv as pacsv
    except ImportError:
        np.savetxt(fh, np.column_stack([d, t]), fmt="%d", delimiter=",")
        return
    import io

    buf = io.BytesIO()
    pacsv.write_csv(pa.table({"domain": d, "token": t}), buf,
                    pacsv.WriteOptions(include_header=False))
    fh.write(buf.getvalue().decode())


def make_ddfa_memmap(directory: str, n: int, seed: int) -> dict:
    """A planted continuous LLS problem of n x 64 float32 written chunk by chunk.

    k = 5 labels, D = 10 domains with Dirichlet(1) label mixes; label y is a Gaussian
    at a random center (spread 0.35 per dimension around it, unit noise), so that the
    labels overlap a little and accuracy is below 1.
    """
    from lls_topics.datasets import draw_domain_priors

    meta = dict(kind="ddfa", n=n, dim=DDFA_DIM, k=DDFA_K, D=DDFA_D, seed=seed)
    directory = os.path.join(directory, "ddfa")
    out = {"X": os.path.join(directory, "X.f32"), "labels": os.path.join(directory, "yd.npz"),
           "n": n, "dim": DDFA_DIM}
    if _meta_ok(directory, meta) and os.path.exists(out["X"]):
        return out
    os.makedirs(directory, exist_ok=True)
    rng = np.random.default_rng(seed)
    P = draw_domain_priors(DDFA_D, DDFA_K, float(DDFA_K), 4.0, rng)
    centers = rng.normal(scale=0.35, size=(DDFA_K, DDFA_DIM))
    d = np.sort(rng.integers(0, DDFA_D, n))  # sorted by domain, as logs often are
    y = np.empty(n, dtype=np.int64)
    X = np.memmap(out["X"], dtype=np.float32, mode="w+", shape=(n, DDFA_DIM))
    step = 200_000
    for s in range(0, n, step):
        dd = d[s:s + step]
        u = rng.random(len(dd))
        cum = np.cumsum(P[dd], axis=1)
        yy = np.minimum((u[:, None] > cum).sum(axis=1), DDFA_K - 1)
        y[s:s + step] = yy
        X[s:s + step] = centers[yy] + rng.normal(size=(len(dd), DDFA_DIM))
    X.flush()
    del X
    np.savez(out["labels"], y=y, d=d)
    _write_meta(directory, meta)
    return out


# ------------------------------------------------------------------------------ children
def child_count(paths: list[str], chunksize: int) -> dict:
    """Peak RSS and throughput of streamed counting of the CSV parts."""
    from lls_topics.corpus import DomainCorpus
    from lls_topics.io_stream import token_table_chunks

    t0 = time.perf_counter()
    chunks = (c for p in paths for c in token_table_chunks(p, ",", chunksize))
    corpus = DomainCorpus.from_chunks(chunks)
    sec = time.perf_counter() - t0
    n = float(corpus.n_samples)
    return {"seconds": sec, "tokens": n, "tokens_per_s": n / sec, "peak_rss_mb": _peak_mb(),
            "shape": list(corpus.counts.shape), "nnz": int(corpus.counts.nnz),
            "checksum": _checksum(corpus)}


def _checksum(corpus: Any) -> float:
    """A fingerprint of the counts (equal counts give equal fingerprints)."""
    M = corpus.counts.tocoo()
    ids = np.asarray(corpus.domain_ids).astype(np.float64)
    voc = np.asarray([float(v) for v in corpus.vocabulary])
    w = np.sin(ids[M.row] * 0.37 + voc[M.col] * 0.011 + 1.0)
    return float(np.dot(w, M.data))


def child_count_memory(n: int, n_domains: int, n_words: int, chunksize: int, seed: int
                       ) -> dict:
    """Counting only: from_tokens against from_chunks on the same in-memory arrays."""
    from lls_topics.corpus import DomainCorpus

    t, d = draw_tokens(np.random.default_rng(seed), n, n_domains, n_words)
    t0 = time.perf_counter()
    a = DomainCorpus.from_tokens(t, d)
    t_tok = time.perf_counter() - t0
    t0 = time.perf_counter()
    b = DomainCorpus.from_chunks((t[s:s + chunksize], d[s:s + chunksize])
                                 for s in range(0, n, chunksize))
    t_chk = time.perf_counter() - t0
    assert (a.counts != b.counts).nnz == 0
    return {"tokens": n, "from_tokens_per_s": n / t_tok, "from_chunks_per_s": n / t_chk}


def child_dask(pattern: str, workers: int) -> dict:
    import dask
    import dask.dataframe as dd
    from distributed import Client, LocalCluster

    from lls_topics.corpus import DomainCorpus

    with dask.config.set({"distributed.worker.daemon": False}), \
            LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                         dashboard_address=None) as cluster, Client(cluster):
        t0 = time.perf_counter()
        corpus = DomainCorpus.from_dask(dd.read_csv(pattern, blocksize="64MB"))
        sec = time.perf_counter() - t0
    n = float(corpus.n_samples)
    return {"seconds": sec, "tokens": n, "tokens_per_s": n / sec,
            "checksum": _checksum(corpus), "nnz": int(corpus.counts.nnz)}


def child_ddfa(data: dict, mode: str, epochs: int, seed: int) -> dict:
    """Fit DDFA streamed (memmap) or in memory (the array loaded) and score it."""
    import torch

    from lls_topics.continuous.ddfa import DDFA
    from lls_topics.continuous.discriminator import DomainDiscriminator
    from lls_topics.metrics import matched_accuracy

    torch.set_num_threads(1)
    n, dim = data["n"], data["dim"]
    with np.load(data["labels"]) as z:
        y, d = z["y"], z["d"]
    if mode == "streamed":
        X = np.memmap(data["X"], dtype=np.float32, mode="r", shape=(n, dim))
    else:
        X = np.fromfile(data["X"], dtype=np.float32).reshape(n, dim)
    disc = DomainDiscriminator(hidden=(128,), epochs=epochs, batch_size=1024, lr=2e-3,
                               validation_fraction=0.05, patience=2, verbose=False)
    est = DDFA(DDFA_K, space="discriminator", discriminator=disc, random_state=seed,
               verbose=False, distributed=False)
    t0 = time.perf_counter()
    est.fit(X, d)
    t_fit = time.perf_counter() - t0
    t0 = time.perf_counter()
    if mode == "streamed":
        out_path = data["X"] + ".proba"
        out = np.memmap(out_path, dtype=np.float32, mode="w+", shape=(n, DDFA_K))
        est.predict_proba(X, d, out=out)
        pred = np.concatenate([np.argmax(out[s:s + 65536], axis=1)
                               for s in range(0, n, 65536)])
        del out
        os.remove(out_path)
    else:
        pred = est.predict(X, d)
    t_pred = time.perf_counter() - t0
    return {"mode": mode, "fit_seconds": t_fit, "predict_seconds": t_pred,
            "accuracy": matched_accuracy(y, pred), "peak_rss_mb": _peak_mb(),
            "epochs": int(est.discriminator_.n_epochs_), "n_clusters": int(est.n_clusters_),
            "streamed": est.discretizer_.labels_ is None}


CHILDREN = {"count": child_count, "count-memory": child_count_memory, "dask": child_dask,
            "ddfa": child_ddfa}


def run_child(kind: str, kwargs: dict, timeout: float) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), kind, json.dumps(kwargs)]
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(var, "1")
    t0 = time.perf_counter()
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return {"error": f"timeout after {timeout:.0f} s"}
    _log(f"{kind} {kwargs}: {time.perf_counter() - t0:.0f} s wall")
    if res.returncode != 0:
        return {"error": (res.stderr.strip().splitlines() or ["?"])[-1][:200]}
    return json.loads(res.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------------ driver
def run(args: Any) -> dict:
    parts = [p.strip() for p in args.streaming.split(",") if p.strip()]
    out: dict = {}
    os.makedirs(args.data_dir, exist_ok=True)
    if "count" in parts or "dask" in parts:
        paths = make_token_csvs(args.data_dir, args.rows, args.files, 100, 20000, 0)
        out["csv"] = {"rows": args.rows, "files": len(paths),
                      "bytes": sum(os.path.getsize(p) for p in paths)}
    if "count" in parts:
        out["count"] = run_child("count", {"paths": paths, "chunksize": args.chunksize},
                                 args.timeout)
        out["count_memory"] = run_child(
            "count-memory", {"n": args.memory_rows, "n_domains": 100, "n_words": 20000,
                             "chunksize": args.chunksize, "seed": 1}, args.timeout)
    if "dask" in parts:
        pattern = os.path.join(os.path.dirname(paths[0]), "part-*.csv")
        out["dask"] = [dict(workers=w, **run_child("dask", {"pattern": pattern,
                                                            "workers": w}, args.timeout))
                       for w in (1, 2)]
    if "ddfa" in parts:
        data = make_ddfa_memmap(args.data_dir, args.ddfa_rows, 0)
        out["ddfa"] = [run_child("ddfa", {"data": data, "mode": m, "epochs": args.epochs,
                                          "seed": s}, args.timeout) | {"mode": m, "seed": s}
                       for s in range(args.first_seed, args.first_seed + args.seeds)
                       for m in ("streamed", "memory")]
    return out


def _line(label: str, r: dict, text: Any) -> str:
    """``label: text(r)``, or ``label: n/a (error)`` for a failed child."""
    return f"{label}: n/a ({r['error']})" if "error" in r else f"{label}: {text(r)}"


def _same_counts(r: dict, ref: dict) -> str:
    if "checksum" not in ref:
        return ""
    return (", same counts as streamed" if abs(r["checksum"] - ref["checksum"]) <=
            1e-9 * abs(ref["checksum"]) else ", COUNTS DIFFER from streamed")


def render(res: dict) -> str:
    lines = []
    if "csv" in res:
        c = res["csv"]
        lines.append(f"token CSV: {c['rows']:.3g} rows in {c['files']} files, "
                     f"{c['bytes'] / 2**30:.2f} GiB")
    if "count" in res:
        lines.append(_line("streamed count (CSV, from_chunks)", res["count"], lambda r: (
            f"{r['tokens']:.3g} tokens in {r['seconds']:.0f} s = "
            f"{r['tokens_per_s'] / 1e6:.2f} M tokens/s, peak RSS {r['peak_rss_mb']:.0f} MB, "
            f"counts {r['shape']} nnz {r['nnz']}")))
        lines.append(_line("in memory, counting only", res["count_memory"], lambda m: (
            f"{m['tokens']:.3g} tokens: from_tokens {m['from_tokens_per_s'] / 1e6:.1f} M "
            f"tokens/s, from_chunks {m['from_chunks_per_s'] / 1e6:.1f} M tokens/s")))
    for r in res.get("dask", []):
        lines.append(_line(f"dask {r['workers']} worker(s)", r, lambda r: (
            f"{r['seconds']:.0f} s = {r['tokens_per_s'] / 1e6:.2f} M tokens/s"
            + _same_counts(r, res.get("count", {})))))
    for r in res.get("ddfa", []):
        lines.append(_line(f"ddfa {r.get('mode', '')} seed {r.get('seed')}", r, lambda r: (
            f"accuracy {r['accuracy']:.4f}, fit {r['fit_seconds']:.0f} s, predict "
            f"{r['predict_seconds']:.0f} s, peak RSS {r['peak_rss_mb']:.0f} MB "
            f"({r['epochs']} epochs, {r['n_clusters']} clusters, streamed={r['streamed']})")))
    return "\n".join(lines)


if __name__ == "__main__":
    sys.path.insert(0, ROOT)
    sys.path.insert(0, HERE)
    kind, kw = sys.argv[1], json.loads(sys.argv[2])
    print(json.dumps(CHILDREN[kind](**kw)))
