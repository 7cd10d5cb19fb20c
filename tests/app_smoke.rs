//! The desktop app under Xvfb: started with autorun flags it runs a small sweep, writes
//! its results JSON and closes its window by itself; a screenshot is taken meanwhile.
//! Needs xvfb-run and ImageMagick's `import` (scripts/dev.sh installs them).

use std::process::Command;

use paraformer::bench::Report;
use paraformer::model::Mode;

#[test]
fn app_autoruns_writes_results_and_exits() {
    let have = |tool: &str| {
        Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    assert!(
        have("xvfb-run") && have("import"),
        "the app smoke test needs xvfb-run and import: apt-get install xvfb imagemagick"
    );
    let dir = std::env::temp_dir().join(format!("paraformer-app-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let results = dir.join("results.json");
    let shots = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let shot = shots.join("native.png");
    let _ = std::fs::remove_file(&shot);
    // The screenshot is taken once the first points are on the plot, while the app still runs.
    let script = r#"set -e
"$APP" app --preset mnist --depths 1..=4 --samples 3 --warmup 1 --autorun --results "$RESULTS" --exit &
pid=$!
for i in $(seq 1 600); do
  [ -s "$RESULTS" ] && break
  kill -0 $pid 2>/dev/null || break
  sleep 0.2
done
import -window root "$SHOT" || true
wait $pid"#;
    let out = Command::new("xvfb-run")
        .args(["-a", "-s", "-screen 0 1280x800x24", "bash", "-c", script])
        .env("APP", env!("CARGO_BIN_EXE_paraformer"))
        .env("RESULTS", &results)
        .env("SHOT", &shot)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the app failed or did not exit by itself: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    let r = Report::from_json(&std::fs::read_to_string(&results).unwrap()).unwrap();
    assert!(r.complete, "{:?}", r.error);
    for l in 1..=4 {
        for mode in Mode::ALL {
            let p = r.point(mode, l).unwrap_or_else(|| panic!("{mode:?} L={l}"));
            assert!(p.wall.p10_ms <= p.wall.median_ms && p.wall.median_ms <= p.wall.p90_ms);
        }
    }
    assert!(
        std::fs::metadata(&shot).is_ok_and(|m| m.len() > 10_000),
        "a screenshot was taken"
    );
}
