#!/usr/bin/env python3
"""Parity fixture for the Rust engine, written from ../shared/paraformer-spec.md alone.

Makes a small random Para-Former checkpoint (safetensors, spec layout, config in the
metadata), an input image, and the logits of both modes computed here in float64 with
numpy. The Rust tests load these files and must reproduce the logits to 1e-4.

    pip install numpy && python3 tools/make_fixture.py   # writes tests/fixtures/parity/
"""
import json
import math
import os
import struct

import numpy as np

CONFIG = dict(image_height=8, image_width=12, channels=2, patch=4, dim=24, heads=3,
              dim_head=8, mlp_dim=40, num_classes=5, branches=3, depth=2, pool="cls")
SEED = 20241124
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "parity")


def write_safetensors(path, tensors, metadata=None):
    """tensors: list of (name, float32 array). Little-endian F32, header padded to 8 bytes."""
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name, arr in tensors:
        data = np.ascontiguousarray(arr, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(arr.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * ((8 - (8 + len(raw)) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)) + raw + b"".join(blobs))


def make_weights(c, rng):
    d, i, m = c["dim"], c["heads"] * c["dim_head"], c["mlp_dim"]
    p = c["patch"]
    t = (c["image_height"] // p) * (c["image_width"] // p) + 1
    f = lambda *shape, s=1.0: (rng.standard_normal(shape) * s).astype(np.float32)
    w = [("to_patch_embedding.1.weight", f(d, p * p * c["channels"], s=0.3)),
         ("to_patch_embedding.1.bias", f(d, s=0.1)),
         ("cls_token", f(1, 1, d)),
         ("pos_embedding", f(1, t, d))]
    for k in range(c["branches"]):
        for j in range(c["depth"]):
            a, b = f"paratransformer.blocks.{k}.{2 * j}", f"paratransformer.blocks.{k}.{2 * j + 1}"
            w += [(f"{a}.norm.weight", 1 + f(d, s=0.1)), (f"{a}.norm.bias", f(d, s=0.1)),
                  (f"{a}.fn.to_qkv.weight", f(3 * i, d, s=0.2)),
                  (f"{a}.fn.to_out.0.weight", f(d, i, s=0.2)), (f"{a}.fn.to_out.0.bias", f(d, s=0.1)),
                  (f"{b}.norm.weight", 1 + f(d, s=0.1)), (f"{b}.norm.bias", f(d, s=0.1)),
                  (f"{b}.fn.net.0.weight", f(m, d, s=0.2)), (f"{b}.fn.net.0.bias", f(m, s=0.1)),
                  (f"{b}.fn.net.3.weight", f(d, m, s=0.2)), (f"{b}.fn.net.3.bias", f(d, s=0.1))]
    w += [("mlp_head.0.weight", 1 + f(d, s=0.1)), ("mlp_head.0.bias", f(d, s=0.1)),
          ("mlp_head.1.weight", f(c["num_classes"], d, s=0.3)), ("mlp_head.1.bias", f(c["num_classes"], s=0.1))]
    return w


def layer_norm(x, g, b):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + 1e-5) * g + b


def gelu(x):
    return 0.5 * x * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))


def block(c, w, k, j, h):
    a, b = f"paratransformer.blocks.{k}.{2 * j}", f"paratransformer.blocks.{k}.{2 * j + 1}"
    hh, dh = c["heads"], c["dim_head"]
    u = layer_norm(h, w[f"{a}.norm.weight"], w[f"{a}.norm.bias"])
    q, kk, v = np.split(u @ w[f"{a}.fn.to_qkv.weight"].T, 3, axis=-1)
    heads = lambda z: z.reshape(z.shape[0], hh, dh).transpose(1, 0, 2)   # [Hh, T, Dh]
    s = heads(q) @ heads(kk).transpose(0, 2, 1) / math.sqrt(dh)
    s = np.exp(s - s.max(-1, keepdims=True))
    att = (s / s.sum(-1, keepdims=True)) @ heads(v)
    att = att.transpose(1, 0, 2).reshape(h.shape[0], hh * dh)
    h1 = u + att @ w[f"{a}.fn.to_out.0.weight"].T + w[f"{a}.fn.to_out.0.bias"]
    v2 = layer_norm(h1, w[f"{b}.norm.weight"], w[f"{b}.norm.bias"])
    g = gelu(v2 @ w[f"{b}.fn.net.0.weight"].T + w[f"{b}.fn.net.0.bias"])
    return v2 + g @ w[f"{b}.fn.net.3.weight"].T + w[f"{b}.fn.net.3.bias"]


def forward(c, w, img, mode, branches):
    p, ch = c["patch"], c["channels"]
    gh, gw = c["image_height"] // p, c["image_width"] // p
    # c (h p1) (w p2) -> (h w) (p1 p2 c)
    patches = img.reshape(ch, gh, p, gw, p).transpose(1, 3, 2, 4, 0).reshape(gh * gw, p * p * ch)
    x = patches @ w["to_patch_embedding.1.weight"].T + w["to_patch_embedding.1.bias"]
    x0 = np.concatenate([w["cls_token"][0], x]) + w["pos_embedding"][0]
    if mode == "parallel":
        outs = []
        for k in range(branches):
            h = x0
            for j in range(c["depth"]):
                h = block(c, w, k, j, h)
            outs.append(h)
        y = sum(outs)
    else:
        y = x0
        for k in range(branches):
            for j in range(c["depth"]):
                y = block(c, w, k, j, y)
    pooled = y[0] if c["pool"] == "cls" else y.mean(0)
    n = layer_norm(pooled, w["mlp_head.0.weight"], w["mlp_head.0.bias"])
    return n @ w["mlp_head.1.weight"].T + w["mlp_head.1.bias"]


def main():
    rng = np.random.default_rng(SEED)
    c = CONFIG
    tensors = make_weights(c, rng)
    img = rng.uniform(-2.5, 2.5, (c["channels"], c["image_height"], c["image_width"])).astype(np.float32)
    os.makedirs(OUT, exist_ok=True)
    write_safetensors(os.path.join(OUT, "model.safetensors"), tensors,
                      {"paraformer.config": json.dumps(c), "format": "pt"})
    write_safetensors(os.path.join(OUT, "input.safetensors"), [("image", img)])
    w64 = {n: a.astype(np.float64) for n, a in tensors}
    expected = {"config": c, "logits": {}}
    for mode in ("parallel", "serial"):
        for k in range(1, c["branches"] + 1):
            logits = forward(c, w64, img.astype(np.float64), mode, k)
            expected["logits"][f"{mode}/{k}"] = [float(v) for v in logits]
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
    print("wrote", os.path.normpath(OUT))


if __name__ == "__main__":
    main()
