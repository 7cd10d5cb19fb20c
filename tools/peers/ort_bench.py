#!/usr/bin/env python3
"""ONNX Runtime against paraformer's CPU engine, in one run, on the same machine.

Builds the spec's network (paraformer-spec.md) as an ONNX graph, serial (the L blocks
chained) and parallel (K branches of d blocks summed), with random weights of the chosen
preset's shapes. The same weights are written as a checkpoint and `paraformer infer`
computes the logits from it, so the two tools are shown to run the same network before
anything is timed. Then rounds alternate: ONNX Runtime times a mode, then
`paraformer bench --backend cpu` times the same mode; medians over all rounds.

Usage: python3 tools/peers/ort_bench.py [--binary target/release/paraformer]
       [--preset cifar] [--depth 12] [--branch-depth 1] [--rounds 5] [--samples 20]
       [--threads N] [--json out.json]
Needs: pip install -r tools/peers/requirements.txt
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from safetensors.numpy import save_file

# The presets this script knows: the spec's shapes (paraformer-spec.md, "Presets").
PRESETS = {
    "cifar": dict(image_height=32, image_width=32, channels=3, patch=4, dim=192, heads=3,
                  dim_head=64, mlp_dim=768, num_classes=10),
    "mnist": dict(image_height=28, image_width=28, channels=1, patch=7, dim=64, heads=4,
                  dim_head=16, mlp_dim=128, num_classes=10),
}


def random_weights(c, rng):
    """The checkpoint's tensors (spec names and shapes), values as an init would give."""
    d, i, m = c["dim"], c["heads"] * c["dim_head"], c["mlp_dim"]
    p, t = c["patch"], (c["image_height"] // c["patch"]) * (c["image_width"] // c["patch"]) + 1
    plen = p * p * c["channels"]

    def normal(*shape):
        return (rng.standard_normal(shape) * 0.05).astype(np.float32)

    w = {
        "to_patch_embedding.1.weight": normal(d, plen),
        "to_patch_embedding.1.bias": normal(d),
        "cls_token": normal(1, 1, d),
        "pos_embedding": normal(1, t, d),
        "mlp_head.0.weight": 1 + normal(d),
        "mlp_head.0.bias": normal(d),
        "mlp_head.1.weight": normal(c["num_classes"], d),
        "mlp_head.1.bias": normal(c["num_classes"]),
    }
    for k in range(c["branches"]):
        for j in range(c["depth"]):
            a = f"paratransformer.blocks.{k}.{2 * j}"
            b = f"paratransformer.blocks.{k}.{2 * j + 1}"
            w[f"{a}.norm.weight"], w[f"{a}.norm.bias"] = 1 + normal(d), normal(d)
            w[f"{a}.fn.to_qkv.weight"] = normal(3 * i, d)
            w[f"{a}.fn.to_out.0.weight"], w[f"{a}.fn.to_out.0.bias"] = normal(d, i), normal(d)
            w[f"{b}.norm.weight"], w[f"{b}.norm.bias"] = 1 + normal(d), normal(d)
            w[f"{b}.fn.net.0.weight"], w[f"{b}.fn.net.0.bias"] = normal(m, d), normal(m)
            w[f"{b}.fn.net.3.weight"], w[f"{b}.fn.net.3.bias"] = normal(d, m), normal(d)
    return w


class Graph:
    """An ONNX graph under construction: nodes, initializers, fresh value names."""

    def __init__(self, weights):
        self.weights, self.nodes, self.inits, self.n = weights, [], {}, 0

    def fresh(self):
        self.n += 1
        return f"v{self.n}"

    def op(self, kind, inputs, **attrs):
        out = self.fresh()
        self.nodes.append(helper.make_node(kind, inputs, [out], **attrs))
        return out

    def const(self, name, array):
        if name not in self.inits:
            self.inits[name] = numpy_helper.from_array(np.asarray(array), name)
        return name

    def tensor(self, name, transpose=False):
        """A checkpoint tensor; a Linear weight [out, in] as [in, out] for MatMul."""
        a = self.weights[name]
        return self.const(name + (".T" if transpose else ""), a.T.copy() if transpose else a)

    def linear(self, x, prefix, bias=True):
        y = self.op("MatMul", [x, self.tensor(prefix + ".weight", transpose=True)])
        return self.op("Add", [y, self.tensor(prefix + ".bias")]) if bias else y

    def layer_norm(self, x, prefix):
        return self.op("LayerNormalization",
                       [x, self.tensor(prefix + ".weight"), self.tensor(prefix + ".bias")],
                       axis=-1, epsilon=1e-5)

    def block(self, h, c, k, j):
        """The spec's block 3 (PreNorm: the skips carry the normalised input)."""
        hh, dh, t = c["heads"], c["dim_head"], self.tokens
        a = f"paratransformer.blocks.{k}.{2 * j}"
        b = f"paratransformer.blocks.{k}.{2 * j + 1}"
        u = self.layer_norm(h, a + ".norm")
        qkv = self.linear(u, a + ".fn.to_qkv", bias=False)
        qkv = self.op("Reshape", [qkv, self.const("shape_qkv", np.array([1, t, 3, hh, dh]))])
        qkv = self.op("Transpose", [qkv], perm=[2, 0, 3, 1, 4])
        q, kk, v = (self.op("Gather", [qkv, self.const(f"idx{n}", np.array(n))], axis=0)
                    for n in range(3))
        s = self.op("MatMul", [q, self.op("Transpose", [kk], perm=[0, 1, 3, 2])])
        s = self.op("Mul", [s, self.const("scale", np.array(dh ** -0.5, dtype=np.float32))])
        att = self.op("MatMul", [self.op("Softmax", [s], axis=-1), v])
        att = self.op("Transpose", [att], perm=[0, 2, 1, 3])
        att = self.op("Reshape", [att, self.const("shape_att", np.array([1, t, hh * dh]))])
        h1 = self.op("Add", [u, self.linear(att, a + ".fn.to_out.0")])
        v = self.layer_norm(h1, b + ".norm")
        g = self.linear(v, b + ".fn.net.0")
        # Exact GELU as PyTorch exports it; ONNX Runtime fuses the pattern into one op.
        erf = self.op("Erf", [self.op("Div", [g, self.const("sqrt2", np.array(
            np.sqrt(2.0), dtype=np.float32))])])
        g = self.op("Mul", [self.op("Mul", [g, self.op("Add", [erf, self.const("one", np.array(
            1.0, dtype=np.float32))])]), self.const("half", np.array(0.5, dtype=np.float32))])
        return self.op("Add", [v, self.linear(g, b + ".fn.net.3")])


def build_model(c, weights, mode):
    """The network of `c` in `mode` as an ONNX model: image [1, C, H, W] -> logits [1, C_out]."""
    g = Graph(weights)
    p, ch = c["patch"], c["channels"]
    gh, gw = c["image_height"] // p, c["image_width"] // p
    g.tokens = gh * gw + 1
    x = g.op("Reshape", ["image", g.const("shape_img", np.array([1, ch, gh, p, gw, p]))])
    # c (h p1) (w p2) -> (h w) (p1 p2 c)
    x = g.op("Transpose", [x], perm=[0, 2, 4, 3, 5, 1])
    x = g.op("Reshape", [x, g.const("shape_patches", np.array([1, gh * gw, p * p * ch]))])
    x = g.linear(x, "to_patch_embedding.1")
    x0 = g.op("Add", [g.op("Concat", [g.tensor("cls_token"), x], axis=1),
                      g.tensor("pos_embedding")])
    if mode == "serial":
        y = x0
        for k in range(c["branches"]):
            for j in range(c["depth"]):
                y = g.block(y, c, k, j)
    else:
        outs = []
        for k in range(c["branches"]):
            h = x0
            for j in range(c["depth"]):
                h = g.block(h, c, k, j)
            outs.append(h)
        y = g.op("Sum", outs) if len(outs) > 1 else outs[0]
    pooled = g.op("Gather", [y, g.const("idx0", np.array(0))], axis=1)
    logits = g.linear(g.layer_norm(pooled, "mlp_head.0"), "mlp_head.1")
    graph = helper.make_graph(
        g.nodes, f"paraformer_{mode}",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT,
                                       [1, ch, c["image_height"], c["image_width"]])],
        [helper.make_tensor_value_info(logits, TensorProto.FLOAT, [1, c["num_classes"]])],
        initializer=list(g.inits.values()))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    return model


def session(model, threads):
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(model.SerializeToString(), opts,
                                providers=["CPUExecutionProvider"])


def ort_samples(sess, image, warmup, samples):
    feed = {"image": image[None]}
    for _ in range(warmup):
        sess.run(None, feed)
    out = []
    for _ in range(samples):
        t0 = time.perf_counter()
        sess.run(None, feed)
        out.append((time.perf_counter() - t0) * 1e3)
    return out


def ours_samples(binary, c, mode, warmup, samples):
    """`paraformer bench --backend cpu` at L = K*d in one mode: its wall-clock samples."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "bench.json")
        cmd = [binary, "bench", "--preset", c["preset"], "--backend", "cpu", "--modes", mode,
               "--depths", str(c["branches"] * c["depth"]), "--branch-depth", str(c["depth"]),
               "--warmup", str(warmup), "--samples", str(samples), "--no-progress",
               "--json", out]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with open(out) as f:
            report = json.load(f)
    (point,) = [p for p in report["points"] if p["backend"] == "cpu" and p["mode"] == mode]
    return point["wall_samples_ms"], point.get("runs_per_sample", 1)


def ours_logits(binary, c, weights, image, mode):
    """The logits `paraformer infer --backend cpu` computes from the same weights and image."""
    config = {k: c[k] for k in PRESETS[c["preset"]]}
    config.update(branches=c["branches"], depth=c["depth"], pool="cls")
    with tempfile.TemporaryDirectory() as tmp:
        ckpt, img = os.path.join(tmp, "model.safetensors"), os.path.join(tmp, "image.safetensors")
        save_file(weights, ckpt, metadata={"paraformer.config": json.dumps(config)})
        save_file({"image": image}, img)
        out = subprocess.run([binary, "infer", "--checkpoint", ckpt, "--input", img,
                              "--backend", "cpu", "--mode", mode],
                             check=True, capture_output=True, text=True).stdout
    return np.array(json.loads(out)["logits"], dtype=np.float32)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--binary", default="target/release/paraformer")
    ap.add_argument("--preset", default="cifar", choices=sorted(PRESETS))
    ap.add_argument("--depth", type=int, default=12, help="L, total blocks")
    ap.add_argument("--branch-depth", type=int, default=1, help="d, blocks per branch")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--samples", type=int, default=20, help="per tool, mode and round")
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--json", help="write the samples and medians here")
    args = ap.parse_args()
    if args.depth < 1 or args.branch_depth < 1 or args.depth % args.branch_depth:
        sys.exit(f"--depth {args.depth} must be a positive multiple of --branch-depth "
                 f"{args.branch_depth}")
    if not os.access(args.binary, os.X_OK):
        sys.exit(f"no paraformer binary at '{args.binary}': run `cargo build --release` "
                 "or pass --binary")
    c = dict(PRESETS[args.preset], preset=args.preset, depth=args.branch_depth,
             branches=args.depth // args.branch_depth)
    rng = np.random.default_rng(0)
    weights = random_weights(c, rng)
    image = rng.uniform(-2.5, 2.5, (c["channels"], c["image_height"], c["image_width"])) \
        .astype(np.float32)
    modes = ["serial", "parallel"]
    sessions = {m: session(build_model(c, weights, m), args.threads) for m in modes}

    # Same network: ONNX Runtime's logits against ours, from the same checkpoint.
    for m in modes:
        theirs = sessions[m].run(None, {"image": image[None]})[0][0]
        ours = ours_logits(args.binary, c, weights, image, m)
        err = float(np.max(np.abs(theirs - ours)))
        scale = float(np.max(np.abs(theirs)))
        print(f"{m}: max |logit difference| {err:.2e} (logits up to {scale:.2f})")
        if err > 1e-3 * max(1.0, scale):
            sys.exit(f"{m}: ONNX Runtime and paraformer disagree: not the same network")

    samples = {(tool, m): [] for tool in ("onnxruntime", "paraformer-cpu") for m in modes}
    runs_per_sample = {}
    for r in range(args.rounds):
        for m in modes:
            samples[("onnxruntime", m)] += ort_samples(sessions[m], image, args.warmup,
                                                       args.samples)
            ours, runs_per_sample[m] = ours_samples(args.binary, c, m, args.warmup,
                                                    args.samples)
            samples[("paraformer-cpu", m)] += ours
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)

    L = args.depth
    print(f"\n{args.preset}, L = {L} (K = {c['branches']} x d = {c['depth']}), batch 1, "
          f"{args.threads} threads, onnxruntime {ort.__version__}, {args.rounds} rounds x "
          f"{args.samples} samples, alternated")
    print(f"{'mode':<9} {'onnxruntime ms':>15} {'paraformer cpu ms':>18} {'ours/ort':>9}")
    medians = {}
    for m in modes:
        o = statistics.median(samples[("onnxruntime", m)])
        p = statistics.median(samples[("paraformer-cpu", m)])
        medians[m] = {"onnxruntime_ms": o, "paraformer_cpu_ms": p, "ratio": p / o}
        print(f"{m:<9} {o:>15.2f} {p:>18.2f} {p / o:>8.2f}x")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"preset": args.preset, "depth": L, "branch_depth": args.branch_depth,
                       "threads": args.threads, "onnxruntime": ort.__version__,
                       "rounds": args.rounds, "runs_per_sample": runs_per_sample,
                       "medians": medians,
                       "samples_ms": {f"{t}/{m}": s for (t, m), s in samples.items()}},
                      f, indent=1)


if __name__ == "__main__":
    main()
