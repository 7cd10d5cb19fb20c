//! The runs `paraformer report` draws and describes: one per backend of each input file
//! (a file of either schema).

use paraformer::Error;
use paraformer::bench::fit::Fit;
use paraformer::bench::{Backend, GPU_CLOCK, Report};
use paraformer::engine::Precision;

/// One backend of one input file: the report with that backend's points only, their fit
/// and a short label for legends. A file measured with `--backend all` gives two runs.
pub struct Run {
    pub file: String,
    pub label: String,
    pub report: Report,
    pub fit: Fit,
    pub backend: Backend,
}

/// A file's runs, one per backend it measured (GPU first).
pub fn load(file: &str) -> Result<Vec<Run>, Error> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| Error::Io(format!("cannot read '{file}': {e}")))?;
    let report =
        Report::from_json(&text).map_err(|e| Error::Input(format!("'{file}': {}", e.message())))?;
    if report.points.is_empty() {
        return Err(Error::Input(format!(
            "'{file}' holds no measured points: nothing to report"
        )));
    }
    let runs = report
        .backends()
        .into_iter()
        .map(|backend| {
            let mut r = report.clone();
            r.points.retain(|p| p.backend == backend);
            r.profiles.retain(|p| p.backend == backend);
            r.engines.retain(|&b, _| b == backend);
            r.fits.retain(|&b, _| b == backend);
            r.device_peak.retain(|&b, _| b == backend);
            // Kernel variants, their tuning and device timestamps are the GPU engine's; the
            // precision error is that of an engine below f32.
            if !backend.needs_gpu() {
                r.kernels.clear();
                r.tuning = None;
                r.context.clocks.retain(|c| c != GPU_CLOCK);
            }
            if r.context.settings.precision_on(backend) == Precision::F32 {
                r.precision_error.clear();
            }
            Run {
                file: file.to_string(),
                label: report.label_of(backend),
                fit: Fit::of(&r.points, r.context.settings.config.depth),
                report: r,
                backend,
            }
        })
        .collect();
    Ok(runs)
}
