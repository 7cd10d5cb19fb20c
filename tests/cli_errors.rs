//! The same bad inputs through the command line: a non-zero exit, the message on stderr,
//! never a panic; and a sweep that fails midway still writes its partial JSON and CSV.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::cases;

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn paraformer(args: &[&str], env: &[(&str, &str)]) -> Out {
    let out = Command::new(env!("CARGO_BIN_EXE_paraformer"))
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!stderr.contains("panicked"), "{args:?} panicked: {stderr}");
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).to_string(),
        stderr,
    }
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("paraformer-cli-errors-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn expect_failure(what: &str, out: &Out, want: &str) {
    assert_ne!(out.code, 0, "{what}: exit code");
    assert!(
        out.stderr.contains(want),
        "{what}: stderr '{}' lacks '{want}'",
        out.stderr
    );
    assert!(
        out.stdout.is_empty(),
        "{what}: nothing on stdout: {}",
        out.stdout
    );
}

#[test]
fn bad_checkpoints_fail_with_the_reason() {
    for case in cases::bad_checkpoints() {
        let path = temp(&format!("{}.safetensors", case.name));
        std::fs::write(&path, &case.bytes).unwrap();
        let out = paraformer(&["infer", "--checkpoint", path.to_str().unwrap()], &[]);
        expect_failure(case.name, &out, case.error);
    }
}

#[test]
fn warnings_go_to_stderr_and_the_run_succeeds() {
    let (bytes, warnings) = cases::warned_checkpoint();
    let path = temp("warned.safetensors");
    std::fs::write(&path, bytes).unwrap();
    let out = paraformer(
        &[
            "infer",
            "--checkpoint",
            path.to_str().unwrap(),
            "--device",
            "cpu",
        ],
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    for w in warnings {
        assert!(out.stderr.contains(w), "stderr lacks '{w}': {}", out.stderr);
    }
}

#[test]
fn bad_inputs_fail_with_the_reason() {
    let ckpt = temp("small.safetensors");
    std::fs::write(&ckpt, cases::good_checkpoint()).unwrap();
    for case in cases::bad_inputs() {
        let path = temp(&format!("input-{}", case.name));
        std::fs::write(&path, &case.bytes).unwrap();
        let out = paraformer(
            &[
                "infer",
                "--checkpoint",
                ckpt.to_str().unwrap(),
                "--input",
                path.to_str().unwrap(),
            ],
            &[],
        );
        expect_failure(case.name, &out, case.error);
    }
    let out = paraformer(&["infer", "--input", "/nonexistent/picture.png"], &[]);
    expect_failure("missing input", &out, "/nonexistent/picture.png");
}

#[test]
fn bad_arguments_exit_2_with_a_usage_hint() {
    let cases: [(&[&str], &str); 8] = [
        (
            &["bench", "--samples", "-1"],
            "invalid value '-1' for '--samples <N>': '-1' is not a whole number, 0 or more",
        ),
        (
            &["bench", "--samples", "0"],
            "samples is 0: at least 1 sample per point is needed",
        ),
        (
            &[
                "bench",
                "--preset",
                "mnist",
                "--branch-depth",
                "2",
                "--depths",
                "2,3",
            ],
            "depth 3 is not a positive multiple of the branch depth d = 2",
        ),
        (
            &["bench", "--preset", "mnist", "--patch", "5"],
            "image_height 28 is not divisible by patch 5",
        ),
        (&["bench", "--dim", "0"], "dim is 0: it must be at least 1"),
        (
            &["bench", "--depths", "1..x"],
            "invalid value '1..x' for '--depths <L>': depths '1..x' is not understood",
        ),
        (
            &["bench", "--modes", "fast"],
            "invalid value 'fast' for '--modes <MODES>'\n  [possible values: serial, parallel]",
        ),
        (
            &["bench", "--colour"],
            "unexpected argument '--colour' found",
        ),
    ];
    for (args, want) in cases {
        let out = paraformer(args, &[]);
        expect_failure(&format!("{args:?}"), &out, want);
        assert_eq!(out.code, 2, "{args:?}");
    }
    let out = paraformer(&["bench", "--samples", "-1"], &[]);
    assert!(
        out.stderr.contains("For more information, try '--help'."),
        "{}",
        out.stderr
    );
    let out = paraformer(&["bench", "--colour"], &[]);
    assert!(
        out.stderr.contains("Usage: paraformer bench [OPTIONS]"),
        "{}",
        out.stderr
    );
}

#[test]
fn absurd_sizes_are_refused_before_allocating() {
    let out = paraformer(
        &[
            "bench",
            "--preset",
            "mnist",
            "--depths",
            "40000",
            "--no-progress",
        ],
        &[],
    );
    expect_failure(
        "absurd depth",
        &out,
        "the weights would take 5.0 GiB (1331205130 parameters), more than the 4 GiB allowed",
    );
    let out = paraformer(&["bench", "--preset", "cifar", "--batch", "100000000"], &[]);
    expect_failure("absurd batch", &out, "batch 100000000 needs");
}

#[test]
fn unwritable_output_fails_before_measuring() {
    let out = paraformer(
        &[
            "bench",
            "--preset",
            "mnist",
            "--json",
            "/nonexistent/dir/out.json",
        ],
        &[],
    );
    expect_failure(
        "json path",
        &out,
        "cannot write '/nonexistent/dir/out.json'",
    );
}

#[test]
fn no_adapter_says_how_to_get_one() {
    // No Direct3D 12 on Linux: asking for it alone leaves no adapter.
    let out = paraformer(&["infer"], &[("WGPU_BACKEND", "dx12")]);
    expect_failure("no adapter", &out, "no GPU adapter found");
    assert!(
        out.stderr.contains(
            "Mesa's lavapipe (Debian/Ubuntu: apt-get install mesa-vulkan-drivers libvulkan1)"
        ),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("--backend cpu runs the CPU engine without one"),
        "{}",
        out.stderr
    );
}

/// A machine without a GPU adapter as wgpu sees one: no Direct3D 12 on Linux, and no
/// Vulkan driver either.
const NO_GPU: [(&str, &str); 2] = [
    ("WGPU_BACKEND", "dx12"),
    ("VK_ICD_FILENAMES", "/nonexistent/no-driver.json"),
];

fn read_json(path: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn without_a_gpu_adapter_the_cpu_engine_runs_alone() {
    let sweep = [
        "bench",
        "--preset",
        "mnist",
        "--depths",
        "1,2",
        "--samples",
        "2",
    ];
    fn with<'a>(sweep: &[&'a str], more: &[&'a str]) -> Vec<&'a str> {
        [sweep, &["--no-progress"], more].concat()
    }
    // Asked for the CPU engine alone: no adapter is ever looked for.
    let json = temp("cpu-only.json");
    let out = paraformer(
        &with(
            &sweep,
            &["--backend", "cpu", "--json", json.to_str().unwrap()],
        ),
        &NO_GPU,
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.stderr.contains("GPU adapter"), "{}", out.stderr);
    assert!(out.stdout.contains("cpu engine: gemm ("), "{}", out.stdout);
    let r = read_json(&json);
    assert_eq!(r["engines"].as_object().unwrap().len(), 1, "{r}");
    assert!(r["engines"]["cpu"]["threads"].as_u64().unwrap() >= 1);
    assert_eq!(r["points"].as_array().unwrap().len(), 4);
    // Asked for both: the CPU engine alone, said once, plainly, with how to get an adapter.
    let json = temp("all-without-gpu.json");
    let out = paraformer(
        &with(
            &sweep,
            &["--backend", "all", "--json", json.to_str().unwrap()],
        ),
        &NO_GPU,
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stderr.matches("no GPU adapter found").count(),
        1,
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("apt-get install mesa-vulkan-drivers"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("measuring the cpu engine alone"),
        "{}",
        out.stderr
    );
    let r = read_json(&json);
    assert!(
        r["points"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["backend"] == "cpu"),
        "{r}"
    );
    assert_eq!(
        r["context"]["settings"]["backends"],
        serde_json::json!(["cpu"])
    );
    // The GPU engine alone, or f16 (which only it offers), cannot fall back.
    let out = paraformer(&with(&sweep, &[]), &NO_GPU);
    expect_failure("gpu without an adapter", &out, "no GPU adapter found");
    assert!(
        out.stderr
            .contains("--backend cpu measures the CPU engine without one")
    );
    let out = paraformer(
        &with(&sweep, &["--backend", "all", "--precision", "f16"]),
        &NO_GPU,
    );
    expect_failure("f16 without an adapter", &out, "use --precision f32");
    // One inference and the accuracy on the CPU engine.
    let out = paraformer(&["infer", "--backend", "cpu"], &NO_GPU);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("\"device\":\"cpu\""), "{}", out.stdout);
    let out = paraformer(&["eval", "--backend", "cpu", "--branches", "1"], &NO_GPU);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("\"accuracy\":"), "{}", out.stdout);
}

#[test]
fn a_sweep_that_loses_its_device_writes_partial_results() {
    let (json, csv) = (temp("partial.json"), temp("partial.csv"));
    let out = paraformer(
        &[
            "bench",
            "--preset",
            "mnist",
            "--depths",
            "1,2,3",
            "--warmup",
            "0",
            "--samples",
            "2",
            "--json",
            json.to_str().unwrap(),
            "--csv",
            csv.to_str().unwrap(),
        ],
        &[("PARAFORMER_LOSE_DEVICE_AFTER_POINTS", "3")],
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("sweep stopped early: GPU: the GPU device was lost")
            && out.stderr.contains("partial results written"),
        "{}",
        out.stderr
    );
    let report =
        paraformer::bench::Report::from_json(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert!(!report.complete);
    assert_eq!(report.points.len(), 3);
    let csv = std::fs::read_to_string(&csv).unwrap();
    assert!(csv.lines().count() > 3, "{csv}");
    // The table of what was measured is still printed.
    assert!(out.stdout.contains("serial"), "{}", out.stdout);
}
