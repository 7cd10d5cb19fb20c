//! `paraformer report` end to end: a short lavapipe sweep with a profile, reported alone
//! and overlaid with itself; the files hold the series, the fit and the adapter's name; a
//! file with both backends gives a series and a section per backend, an f16 and an f32
//! sweep one each;
//! bad inputs fail with a message naming the file. No timing thresholds.

use std::path::{Path, PathBuf};
use std::process::Command;

fn paraformer(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_paraformer"))
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!stderr.contains("panicked"), "{stderr}");
    (out.status.code().unwrap_or(-1), stderr)
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("paraformer-report-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A short mnist sweep on lavapipe into the temporary file `name`.
fn sweep(name: &str, depths: &str, samples: &str, more: &[&str]) -> PathBuf {
    let json = temp(name);
    let mut args = vec![
        "bench",
        "--preset",
        "mnist",
        "--depths",
        depths,
        "--samples",
        samples,
        "--warmup",
        "1",
        "--no-progress",
        "--json",
        json.to_str().unwrap(),
    ];
    args.extend(more);
    let (code, err) = paraformer(&args);
    assert_eq!(code, 0, "{err}");
    json
}

#[test]
fn a_sweep_is_reported_with_its_fit_plots_and_adapter() {
    let json = sweep("mnist.json", "1..=5", "3", &["--profile"]);
    let j = json.to_str().unwrap();
    let results: serde_json::Value = serde_json::from_str(&read(&json)).unwrap();
    let fit = &results["fits"]["gpu"];
    assert!(fit.is_object(), "the JSON carries the fit: {results}");
    for part in ["cost", "serial", "parallel", "notes"] {
        assert!(fit.get(part).is_some(), "fit.{part} missing: {fit}");
    }
    let adapter = results["engines"]["gpu"]["adapter"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    let short = adapter.split(" (").next().unwrap();

    let out = temp("out");
    let (code, err) = paraformer(&["report", j, j, "--out", out.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    for f in [
        "latency.svg",
        "speedup.svg",
        "profile.svg",
        "roofline.svg",
        "report.md",
    ] {
        assert!(err.contains(f), "'wrote {f}' in {err}");
    }
    // The roofline: the adapter's roofs, the profiled ops with arithmetic as points (a
    // label per op, a legend entry per mode), none without arithmetic.
    let roofline = read(&out.join("roofline.svg"));
    assert!(
        roofline.starts_with("<svg"),
        "{}",
        &roofline[..80.min(roofline.len())]
    );
    assert!(
        roofline.contains(&format!("roof {short}")),
        "the roof's legend names the adapter"
    );
    for text in ["linear qkv", "attention", "serial ops, ", "parallel ops, "] {
        assert!(roofline.contains(text), "roofline.svg has '{text}'");
    }
    assert!(
        !roofline.contains("layer_norm a"),
        "no op without arithmetic on log axes"
    );
    let latency = read(&out.join("latency.svg"));
    assert!(
        latency.starts_with("<svg"),
        "{}",
        &latency[..80.min(latency.len())]
    );
    assert!(
        latency.contains(&format!("serial {short}")),
        "legend names the adapter"
    );
    assert!(latency.contains(&format!("parallel {short}")));
    assert!(read(&out.join("speedup.svg")).contains(short));
    let profile = read(&out.join("profile.svg"));
    assert!(profile.contains("linear qkv") && profile.contains("attention"));
    let md = read(&out.join("report.md"));
    assert!(md.contains(&adapter), "report.md names the adapter");
    assert!(md.contains("![latency against depth](latency.svg)"));
    assert!(md.contains("### Fit") && md.contains("### Points"));
    // Every measured point is a row of the table, in both overlaid copies.
    let rows = md
        .lines()
        .filter(|l| l.starts_with("| 3 | parallel |"))
        .count();
    assert_eq!(rows, 2, "{md}");
}

#[test]
fn both_backends_of_one_file_are_separate_series() {
    let json = sweep("both.json", "1..=4", "3", &["--backend", "all"]);
    let j = json.to_str().unwrap();
    let out = temp("both-out");
    let (code, err) = paraformer(&["report", j, "--out", out.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let latency = read(&out.join("latency.svg"));
    for series in ["serial cpu engine (", "parallel cpu engine ("] {
        assert!(latency.contains(series), "legend has '{series}'");
    }
    // A speedup point per backend and L (the CPU's serial over its own parallel).
    let speedup = read(&out.join("speedup.svg"));
    assert_eq!(speedup.matches("<circle").count(), 2 * 4, "{speedup}");
    let md = read(&out.join("report.md"));
    assert!(md.contains("- cpu engine: gemm ("), "{md}");
    assert!(md.contains("- gpu engine: "), "{md}");
    // Two sections, each with its own fit and only its own points: one row per (mode, L).
    assert_eq!(md.matches("### Fit").count(), 2, "{md}");
    let rows = md
        .lines()
        .filter(|l| l.starts_with("| 4 | serial |"))
        .count();
    assert_eq!(rows, 2, "{md}");
    let cpu = &md[md.find("## cpu engine").expect("a CPU section")..];
    let cpu = &cpu[..cpu[3..].find("\n## ").map_or(cpu.len(), |i| i + 3)];
    assert!(!cpu.contains("device timestamps"), "{cpu}");
}

#[test]
fn f16_and_f32_sweeps_of_one_adapter_are_series_of_their_own() {
    let (a, b) = (
        sweep("f32.json", "1..=2", "2", &["--autotune", "off"]),
        sweep(
            "f16.json",
            "1..=2",
            "2",
            &["--autotune", "off", "--precision", "f16"],
        ),
    );
    let results: serde_json::Value = serde_json::from_str(&read(&b)).unwrap();
    assert_eq!(results["context"]["settings"]["precision"], "f16");
    let points = results["points"].as_array().unwrap();
    assert!(points.iter().all(|p| p["precision"] == "f16"), "{points:?}");
    let out = temp("precision-out");
    let (code, err) = paraformer(&[
        "report",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let latency = read(&out.join("latency.svg"));
    for series in ["mnist, f32,", "mnist, f16,"] {
        assert!(latency.contains(series), "legend has '{series}'");
    }
    let md = read(&out.join("report.md"));
    assert!(
        md.contains("f16 storage") && md.contains("f32 storage"),
        "{md}"
    );
}

#[test]
fn bad_inputs_to_report_name_the_file() {
    let out = temp("bad-out");
    let o = out.to_str().unwrap();
    let not_json = temp("not.json");
    std::fs::write(&not_json, "hello").unwrap();
    let other = temp("other.json");
    std::fs::write(&other, r#"{"schema": "something-else/2"}"#).unwrap();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec![not_json.display().to_string()], "not.json"),
        (vec![other.display().to_string()], "other.json"),
        (
            vec!["/nonexistent/r.json".into()],
            "cannot read '/nonexistent/r.json'",
        ),
    ];
    for (files, want) in cases {
        let mut args = vec!["report".to_string()];
        args.extend(files);
        args.extend(["--out".to_string(), o.to_string()]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, err) = paraformer(&args);
        assert_ne!(code, 0, "{args:?}");
        assert!(err.contains(want), "{args:?}: {err}");
    }
    // A well-formed file without points: take a real report and empty it.
    let json = sweep("empty.json", "1", "1", &[]);
    let j = json.to_str().unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&read(&json)).unwrap();
    v["points"] = serde_json::json!([]);
    std::fs::write(&json, v.to_string()).unwrap();
    let (code, err) = paraformer(&["report", j, "--out", o]);
    assert_ne!(code, 0);
    assert!(
        err.contains("empty.json") && err.contains("no measured points"),
        "{err}"
    );
    let (code, err) = paraformer(&["report", "--out", o]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("the following required arguments were not provided")
            && err.contains("<RESULTS.json>"),
        "{err}"
    );
    let (code, err) = paraformer(&["report", j]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--out <DIR>"), "{err}");
    let (code, err) = paraformer(&["report", j, "--out", o, "--width", "3"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("unexpected argument '--width' found"), "{err}");
}

#[test]
fn a_file_of_the_old_schema_is_reported() {
    let old =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/reports/schema1-gpu-cpu.json");
    let out = temp("schema1-out");
    let (code, err) = paraformer(&[
        "report",
        old.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let md = read(&out.join("report.md"));
    assert!(
        md.contains("- gpu engine: llvmpipe") && md.contains("- cpu engine: gemm ("),
        "{md}"
    );
    assert_eq!(md.matches("### Fit").count(), 2, "{md}");
    assert!(out.join("roofline.svg").exists() && out.join("profile.svg").exists());
}
