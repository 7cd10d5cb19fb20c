#!/usr/bin/env python3
"""Seeds for the checkpoint fuzzer (fuzz/seeds/): tiny checkpoints in the spec's layout that
reach every branch of the loader - config in the metadata or not (the reference's files),
F32, F16, BF16 and F64 - plus a tiny input image; and hand-made edge cases for
fuzz/regressions/ (where crashers the fuzzer finds are kept too). Standard library only.

    python3 tools/make_fuzz_seeds.py   # writes fuzz/seeds/ and fuzz/regressions/
"""
import json
import os
import random
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fuzz", "seeds")
# Tiny, so the fuzzer's mutations stay cheap; heads, head dim and patch are the fuzz
# target's flags and its input config (fuzz/fuzz_targets/checkpoint.rs).
CONFIG = dict(image_height=4, image_width=4, channels=1, patch=2, dim=4, heads=1,
              dim_head=4, mlp_dim=4, num_classes=2, branches=2, depth=1, pool="cls")


def tensors(c, rng):
    d, i, m, t = c["dim"], c["heads"] * c["dim_head"], c["mlp_dim"], (c["image_height"] // c["patch"]) * (c["image_width"] // c["patch"]) + 1
    out = [("to_patch_embedding.1.weight", [d, c["patch"] ** 2 * c["channels"]]),
           ("to_patch_embedding.1.bias", [d]), ("cls_token", [1, 1, d]), ("pos_embedding", [1, t, d])]
    for k in range(c["branches"]):
        for j in range(c["depth"]):
            a, b = f"paratransformer.blocks.{k}.{2 * j}", f"paratransformer.blocks.{k}.{2 * j + 1}"
            out += [(f"{a}.norm.weight", [d]), (f"{a}.norm.bias", [d]), (f"{a}.fn.to_qkv.weight", [3 * i, d]),
                    (f"{a}.fn.to_out.0.weight", [d, i]), (f"{a}.fn.to_out.0.bias", [d]),
                    (f"{b}.norm.weight", [d]), (f"{b}.norm.bias", [d]), (f"{b}.fn.net.0.weight", [m, d]),
                    (f"{b}.fn.net.0.bias", [m]), (f"{b}.fn.net.3.weight", [d, m]), (f"{b}.fn.net.3.bias", [d])]
    out += [("mlp_head.0.weight", [d]), ("mlp_head.0.bias", [d]),
            ("mlp_head.1.weight", [c["num_classes"], d]), ("mlp_head.1.bias", [c["num_classes"]])]
    return [(n, s, [rng.uniform(-0.1, 0.1) for _ in range(prod(s))]) for n, s in out]


def prod(shape):
    p = 1
    for s in shape:
        p *= s
    return p


def encode(values, dtype):
    if dtype == "F32":
        return struct.pack(f"<{len(values)}f", *values)
    if dtype == "F64":
        return struct.pack(f"<{len(values)}d", *values)
    if dtype == "F16":
        return struct.pack(f"<{len(values)}e", *values)
    # BF16: the top half of the f32 bits.
    return b"".join(struct.pack("<I", struct.unpack("<I", struct.pack("<f", v))[0])[2:] for v in values)


def write(path, items, dtype="F32", metadata=None):
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name, shape, values in items:
        data = encode(values, dtype)
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * ((8 - (8 + len(raw)) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)) + raw + b"".join(blobs))


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = random.Random(7)
    items = tensors(CONFIG, rng)
    meta = {"paraformer.config": json.dumps(CONFIG), "format": "pt"}
    write(os.path.join(OUT, "f32-metadata.safetensors"), items, "F32", meta)
    write(os.path.join(OUT, "f32-reference.safetensors"), items, "F32")
    write(os.path.join(OUT, "f16-metadata.safetensors"), items, "F16", meta)
    write(os.path.join(OUT, "bf16-reference.safetensors"), items, "BF16")
    write(os.path.join(OUT, "f64-metadata.safetensors"), items, "F64", meta)
    image = [("image", [1, 4, 4], [rng.uniform(-2, 2) for _ in range(16)])]
    write(os.path.join(OUT, "input.safetensors"), image)
    regressions = os.path.join(OUT, "..", "regressions")
    os.makedirs(regressions, exist_ok=True)
    for name, data in edge_cases().items():
        with open(os.path.join(regressions, name), "wb") as f:
            f.write(data)


def edge_cases():
    """Hand-made files for fuzz/regressions: the overflow and bounds traps a loader can fall in."""
    def raw(header, data=b""):
        h = json.dumps(header).encode()
        return struct.pack("<Q", len(h)) + h + data
    return {
        "header-len-max.bin": struct.pack("<Q", 2 ** 64 - 1) + b"{}",
        "header-len-wraps.bin": struct.pack("<Q", 2 ** 64 - 8) + b"{}",
        "shape-overflow.bin": raw({"t": {"dtype": "F32", "shape": [2 ** 32, 2 ** 32, 2 ** 32], "data_offsets": [0, 0]}}),
        "offsets-reversed.bin": raw({"t": {"dtype": "F32", "shape": [1], "data_offsets": [4, 0]}}, b"\0" * 4),
        "offsets-past-end.bin": raw({"t": {"dtype": "F32", "shape": [1], "data_offsets": [0, 2 ** 63]}}, b"\0" * 4),
        "deep-json.bin": raw_text("[" * 100000),
        "huge-model-metadata.bin": raw({"__metadata__": {"paraformer.config": json.dumps(dict(
            CONFIG, dim=1, heads=1, dim_head=1, mlp_dim=1, branches=65536, depth=1))}}),
    }


def raw_text(text):
    h = text.encode()
    return struct.pack("<Q", len(h)) + h


if __name__ == "__main__":
    main()
