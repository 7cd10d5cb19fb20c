#!/usr/bin/env python3
"""Writes the unrolled part of shaders/linear.wgsl: everything below its marker line.

The linear kernel keeps an R x C block of outputs per invocation in named vec4 variables
(drivers that do not unroll loops keep loop-indexed arrays in memory), so its main function
is long and regular. Edit this script and rerun it instead of editing that part by hand:

    python3 tools/gen_linear.py           # rewrite the file
    python3 tools/gen_linear.py --check   # exit 1 if the file differs from what it would write

The part above the marker (comments, helpers, bindings) is kept as it is. Each block size is
one `// #if` branch; the sizes must match `Block` in src/engine/ops/linear.rs (tests/shaders.rs
checks both).
"""
import pathlib
import sys

# Rows and columns of one invocation's block (C a multiple of 4), the define that selects it
# (None: the default) - `Block` in src/engine/ops/linear.rs. The default goes last (`#else`).
BLOCKS = [(4, 8, "BLOCK_4X8"), (4, 4, "BLOCK_4X4"), (1, 4, "BLOCK_1X4"), (9, 16, None)]
MARKER = "// ---- below: written by tools/gen_linear.py (edit the script, not this part) ----\n"

path = pathlib.Path(__file__).resolve().parent.parent / "shaders" / "linear.wgsl"
src = path.read_text()
if MARKER not in src:
    sys.exit(f"{path}: marker line not found")
head = src[: src.index(MARKER) + len(MARKER)]


# The workgroup-memory tiled variant (define TILED): 64 invocations share a 32 x 32 tile of y,
# staging 32 rows of x and 32 of W, 16 values of k at a time, in workgroup memory (one barrier
# after each load, one before the next), each invocation a 4 x 4 block of the tile. The usual
# GPU matmul: every value loaded from memory serves 32 outputs of the workgroup.
TILED = """
// One workgroup's tile of y, and the values of k staged per step (`Block::Tiled`).
const BLOCK_ROWS: u32 = 32u;
const BLOCK_COLS: u32 = 32u;
const TILE_K: u32 = 16u / WIDTH;
var<workgroup> xs: array<SVec, 32u * 16u / WIDTH>;
var<workgroup> ws: array<SVec, 32u * 16u / WIDTH>;

// GROUP is 64 here (8 x 8 invocations of 4 x 4 outputs); the engine sets nothing else.
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    // One workgroup per tile; the grid may be folded over x, y and z.
    let g = wid.x + nwg.x * (wid.y + nwg.y * wid.z);
    let zs = g / p.blocks;
    let z = zs / p.splits;
    let split = zs % p.splits;
    let tile = g % p.blocks;
    // Uniform per workgroup: every invocation returns or none does (barriers follow).
    if (z >= p.nz) {
        return;
    }
    let branch = z % p.branches;
    let image = z / p.branches;
    let row0 = (tile / p.blocks_n) * BLOCK_ROWS;
    let col0 = (tile % p.blocks_n) * BLOCK_COLS;
    let xb = p.x_off + branch * p.x_bs + image * p.x_ns;
    let wb = p.w_off + branch * p.w_bs;
    let last_row = p.rows - 1u;
    let last_col = p.n - 1u;
    let kr = k_range(split);
    // This invocation's 4 x 4 block of the tile.
    let tr = (lid / 8u) * 4u;
    let tc = (lid % 8u) * 4u;
    var a0 = vec4<f32>(0.0);
    var a1 = vec4<f32>(0.0);
    var a2 = vec4<f32>(0.0);
    var a3 = vec4<f32>(0.0);
    for (var k0 = kr.x; k0 < kr.y; k0 += TILE_K) {
        // Rows past the edge read a valid row (never written); k past the end reads zeros.
        for (var e = lid; e < 32u * TILE_K; e += 64u) {
            let r = e / TILE_K;
            let kk = k0 + e % TILE_K;
            var xv = SVec(0.0);
            var wv = SVec(0.0);
            if (kk < kr.y) {
                xv = x[(xb + min(row0 + r, last_row) * p.k) / WIDTH + kk];
                wv = w[(wb + min(col0 + r, last_col) * p.k) / WIDTH + kk];
            }
            xs[e] = xv;
            ws[e] = wv;
        }
        workgroupBarrier();
        for (var kk = 0u; kk < TILE_K; kk++) {
            let w0 = Vec(ws[(tc + 0u) * TILE_K + kk]);
            let w1 = Vec(ws[(tc + 1u) * TILE_K + kk]);
            let w2 = Vec(ws[(tc + 2u) * TILE_K + kk]);
            let w3 = Vec(ws[(tc + 3u) * TILE_K + kk]);
            let x0 = Vec(xs[(tr + 0u) * TILE_K + kk]);
            a0 += vec4<f32>(vdot(x0, w0), vdot(x0, w1), vdot(x0, w2), vdot(x0, w3));
            let x1 = Vec(xs[(tr + 1u) * TILE_K + kk]);
            a1 += vec4<f32>(vdot(x1, w0), vdot(x1, w1), vdot(x1, w2), vdot(x1, w3));
            let x2 = Vec(xs[(tr + 2u) * TILE_K + kk]);
            a2 += vec4<f32>(vdot(x2, w0), vdot(x2, w1), vdot(x2, w2), vdot(x2, w3));
            let x3 = Vec(xs[(tr + 3u) * TILE_K + kk]);
            a3 += vec4<f32>(vdot(x3, w0), vdot(x3, w1), vdot(x3, w2), vdot(x3, w3));
        }
        workgroupBarrier();
    }
    let bb = p.b_off + branch * p.b_bs;
    let rb = p.r_off + branch * p.r_bs + image * p.r_ns;
    let yb = p.y_off + split * p.y_ss + branch * p.y_bs + image * p.y_ns;
    epilogue(a0, row0 + tr + 0u, col0 + tc, bb, rb, yb);
    epilogue(a1, row0 + tr + 1u, col0 + tc, bb, rb, yb);
    epilogue(a2, row0 + tr + 2u, col0 + tc, bb, rb, yb);
    epilogue(a3, row0 + tr + 3u, col0 + tc, bb, rb, yb);
}
"""


def body(R, C):
    o = []
    o.append(f"""
// Rows and columns of one invocation's block of y.
const BLOCK_ROWS: u32 = {R}u;
const BLOCK_COLS: u32 = {C}u;

@compute @workgroup_size(GROUP)
fn main(@builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {{
    // The grid may be folded over x, y and z when it exceeds a dimension's limit.
    let g = wid.x + nwg.x * (wid.y + nwg.y * wid.z);
    let groups_per_z = (p.blocks + GROUP - 1u) / GROUP;
    let zs = g / groups_per_z;
    let z = zs / p.splits;
    let split = zs % p.splits;
    let block = (g % groups_per_z) * GROUP + lid;
    if (z >= p.nz || block >= p.blocks) {{
        return;
    }}
    let branch = z % p.branches;
    let image = z / p.branches;
    let row0 = (block / p.blocks_n) * BLOCK_ROWS;
    let col0 = (block % p.blocks_n) * BLOCK_COLS;

    // Rows and columns past the edge read a valid row and are never written.
    let xb = p.x_off + branch * p.x_bs + image * p.x_ns;
    let wb = p.w_off + branch * p.w_bs;
    let last_row = p.rows - 1u;
    let last_col = p.n - 1u;
""")
    for r in range(R):
        o.append(f"    let xo{r} = (xb + min(row0 + {r}u, last_row) * p.k) / WIDTH;\n")
    for c in range(C):
        o.append(f"    let wo{c} = (wb + min(col0 + {c}u, last_col) * p.k) / WIDTH;\n")
    o.append("    // a<r>_<g> holds columns 4g..4g+3 of row r.\n")
    for r in range(R):
        for g in range(C // 4):
            o.append(f"    var a{r}_{g} = vec4<f32>(0.0);\n")
    o.append("    let kr = k_range(split);\n")
    o.append("    for (var i = kr.x; i < kr.y; i++) {\n")
    for c in range(C):
        o.append(f"        let w{c} = Vec(w[wo{c} + i]);\n")
    for r in range(R):
        o.append(f"        let x{r} = Vec(x[xo{r} + i]);\n")
        for g in range(C // 4):
            dots = ", ".join(f"vdot(x{r}, w{4 * g + j})" for j in range(4))
            o.append(f"        a{r}_{g} += vec4<f32>({dots});\n")
    o.append("""    }

    let bb = p.b_off + branch * p.b_bs;
    let rb = p.r_off + branch * p.r_bs + image * p.r_ns;
    let yb = p.y_off + split * p.y_ss + branch * p.y_bs + image * p.y_ns;
""")
    for r in range(R):
        for g in range(C // 4):
            col = "col0" if g == 0 else f"col0 + {4 * g}u"
            o.append(f"    epilogue(a{r}_{g}, row0 + {r}u, {col}, bb, rb, yb);\n")
    o.append("}\n")
    return "".join(o)


o = ["""
// Invocations per workgroup, set by the engine (`Variant` in src/engine/ops/linear.rs).
override GROUP: u32 = 64u;
"""]
o.append("// #if TILED\n")
o.append(TILED)
for n, (R, C, define) in enumerate(BLOCKS):
    if define is None:
        o.append("// #else\n")
    else:
        o.append(f"// #elif {define}\n")
    o.append(body(R, C))
o.append("// #endif\n")

text = head + "".join(o)
if "--check" in sys.argv[1:]:
    if text != src:
        sys.exit(f"{path} is not what tools/gen_linear.py writes: rerun it")
    print(f"{path} is up to date")
else:
    path.write_text(text)
    print(f"wrote {path} ({len(BLOCKS)} block sizes)")
