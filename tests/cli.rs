//! The `paraformer infer` command end to end: JSON output, both devices, checkpoints
//! with and without metadata, picture inputs, and clear errors with a non-zero exit.

mod common;

use std::process::Command;

use common::assert_close;
use paraformer::engine::tune::KEEP_MARGIN;
use paraformer::model::{self, Config, SaveOptions, Weights, safetensors::Dtype};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/parity");

fn paraformer(args: &[&str]) -> (i32, serde_json::Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_paraformer"))
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!stderr.contains("panicked"), "{stderr}");
    let json = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (out.status.code().unwrap_or(-1), json, stderr)
}

fn logits(v: &serde_json::Value) -> Vec<f32> {
    v["logits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

fn temp(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("paraformer-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn default_model_runs_on_gpu_and_cpu_alike() {
    let (code, gpu, err) = paraformer(&["infer", "--mode", "serial"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        (gpu["mode"].as_str(), gpu["device"].as_str()),
        (Some("serial"), Some("gpu"))
    );
    assert_eq!(logits(&gpu).len(), 10);
    let (code, cpu, err) = paraformer(&["infer", "--mode", "serial", "--device", "cpu"]);
    assert_eq!(code, 0, "{err}");
    assert_close("cli gpu vs cpu", &logits(&gpu), &logits(&cpu), 1e-3);
}

/// A good run says nothing on stderr, also without a login session (no XDG_RUNTIME_DIR),
/// where Mesa's device-select layer would print errors about Wayland.
#[test]
fn a_good_run_prints_nothing_on_stderr_without_a_session() {
    let out = Command::new(env!("CARGO_BIN_EXE_paraformer"))
        .args(["infer", "--branches", "2"])
        .env_remove("XDG_RUNTIME_DIR")
        .env_remove("NODEVICE_SELECT")
        .env_remove("MESA_VK_DEVICE_SELECT")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(stderr, "", "a good run printed on stderr");
}

#[test]
fn fixture_checkpoint_and_input_give_the_expected_logits() {
    let expected: serde_json::Value =
        serde_json::from_slice(&std::fs::read(format!("{FIXTURE}/expected.json")).unwrap())
            .unwrap();
    let want = logits(&serde_json::json!({"logits": expected["logits"]["parallel/2"]}));
    for device in ["gpu", "cpu"] {
        let (code, out, err) = paraformer(&[
            "infer",
            "--checkpoint",
            &format!("{FIXTURE}/model.safetensors"),
            "--input",
            &format!("{FIXTURE}/input.safetensors"),
            "--branches",
            "2",
            "--device",
            device,
        ]);
        assert_eq!(code, 0, "{err}");
        assert_close(device, &logits(&out), &want, 1e-4);
    }
}

#[test]
fn tied_logits_give_the_first_class_as_eval_scores_them() {
    // A head of zeros gives every class the same logit: infer and eval both pick class 0.
    let mut c = Config::preset("mnist").unwrap();
    c.branches = 1;
    let mut w = Weights::seeded(&c, 5);
    w.head_w.fill(0.0);
    w.head_b.fill(0.0);
    let path = temp("tied.safetensors");
    std::fs::write(&path, model::save(&w, SaveOptions::default())).unwrap();
    for device in ["gpu", "cpu"] {
        let (code, out, err) = paraformer(&[
            "infer",
            "--checkpoint",
            path.to_str().unwrap(),
            "--device",
            device,
        ]);
        assert_eq!(code, 0, "{err}");
        let l = logits(&out);
        assert!(l.iter().all(|&v| v == l[0]), "{device}: {l:?}");
        assert_eq!(out["class"], 0, "{device}");
        assert_eq!(paraformer::data::argmax(&l), 0);
    }
}

#[test]
fn checkpoint_without_metadata_needs_and_takes_flags() {
    let mut c = Config::preset("mnist").unwrap();
    c.branches = 2;
    let path = temp("nometa.safetensors");
    let w = Weights::seeded(&c, 3);
    std::fs::write(
        &path,
        model::save(
            &w,
            SaveOptions {
                dtype: Dtype::F16,
                metadata: false,
            },
        ),
    )
    .unwrap();
    let p = path.to_str().unwrap();
    let (code, _, err) = paraformer(&["infer", "--checkpoint", p]);
    assert_eq!(code, 2);
    assert!(err.contains("give --heads, --dim-head, --patch"), "{err}");
    let (code, out, err) = paraformer(&[
        "infer",
        "--checkpoint",
        p,
        "--heads",
        "4",
        "--dim-head",
        "16",
        "--patch",
        "7",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(logits(&out).len(), 10);
}

#[test]
fn png_input_is_accepted() {
    let path = temp("digit.png");
    image::GrayImage::from_fn(40, 40, |x, y| {
        image::Luma([if (x + y) % 9 < 3 { 255 } else { 0 }])
    })
    .save(&path)
    .unwrap();
    let mut c = Config::preset("mnist").unwrap();
    c.branches = 2;
    let ckpt = temp("mnist.safetensors");
    std::fs::write(
        &ckpt,
        model::save(&Weights::seeded(&c, 1), SaveOptions::default()),
    )
    .unwrap();
    let (code, out, err) = paraformer(&[
        "infer",
        "--checkpoint",
        ckpt.to_str().unwrap(),
        "--input",
        path.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out["input"].as_str(), path.to_str());
}

#[test]
fn kernel_flags_force_a_variant_and_bad_ones_say_what_is_allowed() {
    let (code, default, err) = paraformer(&["infer"]);
    assert_eq!(code, 0, "{err}");
    let (code, forced, err) = paraformer(&[
        "infer",
        "--kernel",
        "linear=9x16/8",
        "--kernel",
        "layer_norm=row-per-group/32",
        "--kernel",
        "attention=4q/1",
    ]);
    assert_eq!(code, 0, "{err}");
    for (a, b) in logits(&default).iter().zip(logits(&forced)) {
        assert!((a - b).abs() < 1e-4, "{a} vs {b}");
    }
    let cases: [(&[&str], &str); 6] = [
        (
            &["infer", "--kernel", "conv=3x3/8"],
            "unknown op 'conv'; ops with variants: linear, layer_norm, attention",
        ),
        (
            &["bench", "--kernel", "linear=8x8/64"],
            "unknown variant; linear allows 9x16/G, 4x8/G, 4x4/G or 1x4/G",
        ),
        (&["eval", "--kernel", "linear"], "expected OP=VARIANT"),
        (
            &[
                "infer",
                "--kernel",
                "linear=9x16/8",
                "--kernel",
                "linear=9x16/16",
            ],
            "linear is forced twice",
        ),
        (
            &["infer", "--backend", "cpu", "--kernel", "linear=9x16/8"],
            "--kernel chooses GPU kernels; --backend cpu runs none",
        ),
        (
            &["infer", "--kernel", "linear=9x16/100000"],
            "invocations per workgroup; this adapter allows 1 to",
        ),
    ];
    for (args, msg) in cases {
        let (code, _, err) = paraformer(args);
        assert_ne!(code, 0, "{args:?}");
        assert!(err.contains(msg), "{args:?}: {err}");
    }
}

#[test]
fn bad_use_exits_2_with_a_message() {
    let cases: [(&[&str], &str); 7] = [
        (
            &["app", "--colour", "red"],
            "unexpected argument '--colour' found",
        ),
        (
            &["infre"],
            "unrecognized subcommand 'infre'\n\n  tip: a similar subcommand exists: 'infer'",
        ),
        (
            &["infer", "--mode", "both"],
            "invalid value 'both' for '--mode <MODE>'\n  [possible values: serial, parallel]",
        ),
        (
            &["infer", "--device", "tpu"],
            "invalid value 'tpu' for '--backend <BACKEND>'\n  [possible values: gpu, cpu, reference]",
        ),
        (
            &["infer", "--device", "cpu", "--backend", "gpu"],
            "the argument '--backend <BACKEND>' cannot be used multiple times",
        ),
        (
            &["infer", "--branches", "13"],
            "--branches 13 is out of range: this model has 1 to 12",
        ),
        (
            &["infer", "--checkpoint", "/nonexistent.safetensors"],
            "cannot read checkpoint '/nonexistent.safetensors'",
        ),
    ];
    for (args, msg) in cases {
        let (code, _, err) = paraformer(args);
        assert_eq!(code, 2, "{args:?}");
        assert!(err.contains(msg), "{args:?}: {err}");
    }
    let (_, _, err) = paraformer(&["infer", "--mode", "both"]);
    assert!(
        err.contains("For more information, try '--help'."),
        "hint: {err}"
    );
    let (_, _, err) = paraformer(&["infer", "--branches", "13"]);
    assert!(
        err.contains("For more information, try 'paraformer infer --help'."),
        "hint: {err}"
    );
}

#[test]
fn help_and_version() {
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_paraformer"))
            .args(args)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        assert_eq!(out.status.code(), Some(0), "{args:?}: {text}");
        text
    };
    let top = run(&["--help"]);
    for command in ["app", "infer", "bench", "eval", "report"] {
        assert!(top.contains(&format!("  {command} ")), "{command} in {top}");
    }
    // The app's launch flags are the top level's options.
    assert!(
        top.contains("--autorun") && top.contains("--tab <TAB>"),
        "{top}"
    );
    let bench = run(&["bench", "--help"]);
    assert!(bench.starts_with("Latency against depth"), "{bench}");
    for flag in [
        "--backend <gpu|cpu|all>",
        "--branch-depth <d>",
        "--json <FILE>",
    ] {
        assert!(bench.contains(flag), "{flag} in {bench}");
    }
    assert_eq!(run(&["help", "infer"]), run(&["infer", "--help"]));
    assert_eq!(
        run(&["--version"]).trim(),
        format!("paraformer {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn autotune_flags_tune_report_and_share_one_cache_between_processes() {
    let cache = temp("kernels.json");
    let _ = std::fs::remove_file(&cache);
    let cache_arg = cache.to_str().unwrap();
    // Two sweeps tuning at once into one cache file: both succeed, the file stays valid.
    let sweep = |json: &std::path::Path| {
        Command::new(env!("CARGO_BIN_EXE_paraformer"))
            .args([
                "bench",
                "--preset",
                "mnist",
                "--depths",
                "1,2",
                "--samples",
                "1",
                "--warmup",
                "0",
                "--no-progress",
                "--autotune",
                "refresh",
                "--kernel-cache",
                cache_arg,
                "--json",
            ])
            .arg(json)
            .output()
            .unwrap()
    };
    let (a_json, b_json) = (temp("a.json"), temp("b.json"));
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| sweep(&a_json));
        let b = s.spawn(|| sweep(&b_json));
        (a.join().unwrap(), b.join().unwrap())
    });
    for out in [&a, &b] {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let stored: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&cache).unwrap()).unwrap();
    let entries = stored["entries"].as_object().unwrap();
    assert!(!entries.is_empty(), "{stored}");
    for (key, e) in entries {
        assert!(key.starts_with(env!("CARGO_PKG_VERSION")), "{key}");
        // The device's roofs (`--peak`) share the file: a rate each, no candidates.
        if key.contains(" | peak ") {
            assert!(e["rate"].as_f64().unwrap() > 0.0, "{key}: {e}");
            continue;
        }
        assert!(
            !e["candidates"].as_array().unwrap().is_empty(),
            "{key}: {e}"
        );
    }
    assert_eq!(
        entries.keys().filter(|k| k.contains(" | peak ")).count(),
        2,
        "the FMA and the copy roof: {stored}"
    );
    // The report says how tuning went and what each tuned key's candidates measured.
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&a_json).unwrap()).unwrap();
    assert_eq!(report["context"]["settings"]["autotune"], "refresh");
    assert!(
        report["tuning"]["ms"].as_f64().unwrap() > 0.0,
        "{}",
        report["tuning"]
    );
    let kernels = report["kernels"].as_array().unwrap();
    let tuned: Vec<&serde_json::Value> =
        kernels.iter().filter(|k| k["source"] == "tuned").collect();
    assert!(!tuned.is_empty(), "{kernels:?}");
    for k in tuned {
        // Fastest first; the choice is the fastest or the heuristic within the margin.
        let c = k["candidates"].as_array().unwrap();
        let best = c[0]["ms"].as_f64().unwrap();
        let chosen = c.iter().find(|c| c["variant"] == k["variant"]).unwrap();
        assert!(chosen["ms"].as_f64().unwrap() <= best * KEEP_MARGIN, "{k}");
    }
    let table = String::from_utf8_lossy(&a.stdout);
    assert!(table.contains("kernel tuning: "), "{table}");

    // Now every key comes from the cache; `off` tunes nothing and says nothing of it.
    let (code, _, err) = paraformer(&["infer", "--kernel-cache", cache_arg]);
    assert_eq!((code, err.as_str()), (0, ""));
    let out = Command::new(env!("CARGO_BIN_EXE_paraformer"))
        .args([
            "bench",
            "--preset",
            "mnist",
            "--depths",
            "1",
            "--samples",
            "1",
            "--warmup",
            "0",
        ])
        .args([
            "--no-progress",
            "--autotune",
            "off",
            "--kernel-cache",
            cache_arg,
        ])
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && !table.contains("kernel tuning"),
        "{table}"
    );
    assert!(
        table.contains("(heuristic)") && !table.contains("(tuned)"),
        "{table}"
    );

    // A corrupt cache is a warning, never an error.
    std::fs::write(&cache, "not json").unwrap();
    let (code, _, err) = paraformer(&["infer", "--kernel-cache", cache_arg]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("warning: ignoring the kernel cache"), "{err}");

    let cases: [(&[&str], &str); 3] = [
        (&["infer", "--autotune", "maybe"], "invalid value 'maybe'"),
        (
            &["bench", "--backend", "cpu", "--autotune", "refresh"],
            "--autotune and --kernel-cache tune GPU kernels; --backend cpu runs none",
        ),
        (
            &["eval", "--backend", "cpu", "--autotune", "on"],
            "--autotune and --kernel-cache tune GPU kernels; --backend cpu runs none",
        ),
    ];
    for (args, msg) in cases {
        let (code, _, err) = paraformer(args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(msg), "{args:?}: {err}");
    }
}

#[test]
fn precision_f16_runs_where_offered_and_says_why_not_elsewhere() {
    let (code, f32_run, err) = paraformer(&["infer", "--autotune", "off"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(f32_run["precision"], "f32");
    let (code, f16_run, err) = paraformer(&["infer", "--autotune", "off", "--precision", "f16"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(f16_run["precision"], "f16");
    assert_close("f16 vs f32", &logits(&f16_run), &logits(&f32_run), 5e-3);
    assert_ne!(logits(&f16_run), logits(&f32_run), "f16 rounds");
    // A device without the feature (forced here: lavapipe offers it).
    let out = Command::new(env!("CARGO_BIN_EXE_paraformer"))
        .args(["infer", "--precision", "f16"])
        .env(paraformer::engine::WITHOUT_F16_ENV, "1")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("f16 needs the SHADER_F16 feature (WebGPU: shader-f16), which adapter '")
            && err.contains("does not offer: run in f32"),
        "{err}"
    );
    // Engines without GPU kernels compute in f32: f16 there is a usage error.
    for args in [
        &["infer", "--precision", "f16", "--backend", "cpu"][..],
        &["eval", "--precision", "f16", "--backend", "reference"],
        &["bench", "--precision", "f16", "--backend", "cpu"],
    ] {
        let (code, _, err) = paraformer(args);
        assert_eq!(code, 2, "{args:?}");
        assert!(
            err.contains("--precision f16 stores the GPU engine's values in f16"),
            "{err}"
        );
    }
    let (code, _, err) = paraformer(&["infer", "--precision", "bf16"]);
    assert_eq!(code, 2);
    assert!(err.contains("[possible values: f32, f16]"), "{err}");
    // Both backends: the CPU engine stays f32, and the run says so.
    let json = temp("f16-all.json");
    let (code, _, err) = paraformer(&[
        "bench",
        "--preset",
        "mnist",
        "--depths",
        "1",
        "--samples",
        "1",
        "--warmup",
        "0",
        "--backend",
        "all",
        "--precision",
        "f16",
        "--autotune",
        "off",
        "--no-progress",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("f16 on the gpu engine; f32 on the cpu engine"),
        "{err}"
    );
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let precisions: Vec<(&str, &str)> = results["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["backend"].as_str().unwrap(),
                p["precision"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(precisions.contains(&("gpu", "f16")) && precisions.contains(&("cpu", "f32")));
    assert!(
        precisions
            .iter()
            .all(|&(b, p)| (b == "gpu") == (p == "f16")),
        "{precisions:?}"
    );
}
