//! The worker on lavapipe: dropping it mid-sweep, the accuracy job.

use super::jobs::LATENCY_ROUNDS;
use super::*;

/// Dropping the worker (the window closing) cancels a running sweep and waits for the
/// thread: afterwards the sweep has ended early, with the points measured so far.
#[test]
fn dropping_the_worker_stops_a_sweep_and_joins_its_thread() {
    let mut settings = Settings::new("mnist").unwrap();
    settings.depths = (1..=24).collect();
    settings.samples = 200;
    let weights = Arc::new(bench::seeded_weights(&settings));
    let worker = Worker::new(egui::Context::default(), None);
    let shared = worker.shared.clone();
    worker.submit(Job::Sweep {
        settings: Box::new(settings),
        weights,
    });
    let start = std::time::Instant::now();
    loop {
        std::thread::sleep(std::time::Duration::from_millis(20));
        let s = shared.lock().unwrap();
        if let Some(e) = &s.gpu_error {
            panic!("no GPU for the test: {e}");
        }
        if !s.sweep.points.is_empty() {
            break;
        }
        assert!(start.elapsed().as_secs() < 300, "no point measured");
    }
    drop(worker);
    let s = shared.lock().unwrap();
    assert!(
        !s.sweep.running,
        "the sweep still runs after the worker is gone"
    );
    let report = s
        .sweep
        .report
        .as_ref()
        .expect("the sweep ended with a report");
    assert!(!report.complete);
    assert!(report.points.len() < 48, "cancelled before the end");
}

/// The accuracy view's job on the GPU: every prefix scored as the training tool scored
/// it on the same images, then every prefix timed in rounds.
#[test]
fn accuracy_job_scores_every_prefix_and_times_it() {
    let weights = Arc::new(crate::assets::trained_mnist().unwrap());
    let set = Arc::new(crate::assets::mnist_test_set().unwrap());
    let images = 60;
    let worker = Worker::new(egui::Context::default(), None);
    worker.submit(Job::Accuracy {
        weights: weights.clone(),
        set: set.clone(),
        images,
    });
    let start = std::time::Instant::now();
    let (rows, error) = loop {
        std::thread::sleep(std::time::Duration::from_millis(50));
        let s = worker.shared.lock().unwrap();
        if let Some(e) = &s.gpu_error {
            panic!("no GPU for the test: {e}");
        }
        if !s.accuracy.running && !s.accuracy.rows.is_empty() {
            break (s.accuracy.rows.clone(), s.accuracy.error.clone());
        }
        assert!(start.elapsed().as_secs() < 300, "the accuracy job hangs");
    };
    assert_eq!(error, None);
    let branches = weights.config.branches;
    assert_eq!(rows.len(), branches);
    let classes = weights.config.num_classes;
    for (k, row) in (1..=branches).zip(&rows) {
        let tool: Vec<f32> = (0..images)
            .flat_map(|i| set.expected(k, i).unwrap().to_vec())
            .collect();
        let want = data::score(&tool, classes, &set.labels[..images]);
        assert_eq!(
            (row.branches, row.correct, row.total),
            (k, want.correct, images),
            "k = {k}"
        );
        let latency = row.latency.as_ref().expect("every k is timed");
        assert_eq!(latency.n, LATENCY_ROUNDS);
        assert!(latency.p10_ms <= latency.median_ms && latency.median_ms <= latency.p90_ms);
    }
}
