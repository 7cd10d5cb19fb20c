//! The renderings of a report: CSV (every sample, context as `#` lines) and the table
//! `paraformer bench` prints.

use super::backend::Backend;
use super::report::{Point, Report};
use crate::model::Mode;

impl Report {
    /// One row per sample and per statistic; context as `# key: value` lines first.
    pub fn to_csv(&self) -> String {
        let ctx = &self.context;
        let mut out = String::new();
        let settings = serde_json::to_string(&ctx.settings).expect("settings serialise");
        let mut lines: Vec<(String, String)> = vec![("schema".into(), self.schema.clone())];
        for (b, e) in &self.engines {
            let name = b.name();
            lines.push((format!("engine {name}"), e.line()));
            lines.push((format!("engine {name} precision"), e.precision.to_string()));
            if let Some(ms) = e.create_ms {
                lines.push((format!("engine {name} create_ms"), ms.to_string()));
            }
            if let Some(m) = e.memory {
                for (k, v) in [
                    ("device_bytes", m.held_bytes),
                    ("weight_bytes", m.weight_bytes),
                    ("needed_bytes", m.needed_bytes),
                ] {
                    lines.push((format!("engine {name} {k}"), v.to_string()));
                }
            }
        }
        for (k, v) in [
            ("crate_version", ctx.crate_version.as_str()),
            ("git_commit", ctx.git_commit.as_deref().unwrap_or("unknown")),
            ("date", &ctx.date),
            ("target", &ctx.target),
            ("settings", &settings),
            ("complete", &self.complete.to_string()),
            ("error", self.error.as_deref().unwrap_or("")),
        ] {
            lines.push((k.to_string(), v.to_string()));
        }
        for (k, v) in lines {
            // A value stays on its `#` line: line breaks are written as \n (and \ as \\).
            let v = v
                .replace('\\', "\\\\")
                .replace('\n', "\\n")
                .replace('\r', "\\r");
            out.push_str(&format!("# {k}: {v}\n"));
        }
        for c in &ctx.clocks {
            out.push_str(&format!("# clock {c}\n"));
        }
        out.push_str(
            "mode,depth,branches,clock,kind,name,value,flops,dispatches,critical_path,backend\n",
        );
        for p in &self.points {
            let mut row = |clock: &str, kind: &str, name: &str, value: f64| {
                out.push_str(&format!(
                    "{},{},{},{clock},{kind},{name},{value},{},{},{},{}\n",
                    p.mode.name(),
                    p.depth,
                    p.branches,
                    p.flops,
                    p.dispatches,
                    p.critical_path,
                    p.backend.name()
                ));
            };
            row("wall", "cold", "cold_ms", p.cold_ms);
            let clocks = [(
                "wall",
                Some(&p.wall_samples_ms),
                Some(&p.wall),
                Some(p.gflops_wall),
            )];
            let gpu = [(
                "gpu",
                p.gpu_samples_ms.as_ref(),
                p.gpu.as_ref(),
                p.gflops_gpu,
            )];
            for (clock, samples, stats, gflops) in clocks.into_iter().chain(gpu) {
                let (Some(samples), Some(s)) = (samples, stats) else {
                    continue;
                };
                for (i, v) in samples.iter().enumerate() {
                    row(clock, "sample", &i.to_string(), *v);
                }
                for (name, v) in [
                    ("median_ms", s.median_ms),
                    ("p10_ms", s.p10_ms),
                    ("p90_ms", s.p90_ms),
                    ("min_ms", s.min_ms),
                    ("max_ms", s.max_ms),
                    ("mean_ms", s.mean_ms),
                    ("gflops", gflops.unwrap_or(f64::NAN)),
                ] {
                    row(clock, "stat", name, v);
                }
            }
        }
        out
    }

    /// One table row; the mode column names the backend when the run has several.
    fn row(&self, p: &Point, named: bool) -> String {
        let mode = if named {
            format!("{} {}", p.backend.name(), p.mode.name())
        } else {
            p.mode.name().to_string()
        };
        format!(
            "{:>4} {:>4} | {:<14} {:>10.3} {:>9.3}..{:<9.3} {:>8.2} {:>6} {:>9.1}{}\n",
            p.depth,
            p.branches,
            mode,
            p.wall.median_ms,
            p.wall.p10_ms,
            p.wall.p90_ms,
            p.gflops_wall,
            p.critical_path,
            p.cold_ms,
            p.gpu
                .as_ref()
                .map_or(String::new(), |g| format!(" {:>16.3}", g.median_ms))
        )
    }

    /// Which backend is faster in `mode` at depth `l`, and by how much.
    pub fn faster(&self, mode: Mode, l: usize) -> Option<String> {
        faster(&self.points, mode, l)
    }

    /// The table's lines above the points: adapter, model, clocks, engines, memory.
    fn table_header(&self) -> String {
        let ctx = &self.context;
        let s = &ctx.settings;
        let mut out = String::new();
        for (b, e) in &self.engines {
            out.push_str(&format!("{} engine: {}\n", b.name(), e.line()));
        }
        out.push_str(&format!(
            "model: {} T={} D={} heads={}x{} MLP={} d={} batch={}; {} warm-up + {} samples per point\n",
            s.preset,
            s.config.tokens(),
            s.config.dim,
            s.config.heads,
            s.config.dim_head,
            s.config.mlp_dim,
            s.config.depth,
            s.batch,
            s.warmup,
            s.samples
        ));
        out.push_str(&format!("precision: {}\n", s.precision_line()));
        for (backend, p) in &self.device_peak {
            out.push_str(&format!(
                "roofs ({}): {:.1} GFLOP/s, {:.1} GB/s ({})\n",
                backend.name(),
                p.gflops,
                p.gbytes_per_s,
                p.method
            ));
        }
        for c in &ctx.clocks {
            out.push_str(&format!("clock {c}\n"));
        }
        for (b, e) in &self.engines {
            if let Some(ms) = e.create_ms {
                out.push_str(&format!(
                    "{} engine creation (weights for the deepest model{}): {ms:.1} ms\n",
                    b.name(),
                    if e.adapter.is_some() {
                        ", pipelines"
                    } else {
                        ""
                    }
                ));
            }
        }
        // Files from before the kernels list name the linear's group alone (9 x 16 blocks).
        if self.kernels.is_empty() && self.linear_group > 0 {
            out.push_str(&format!(
                "linear kernel: 9 x 16 outputs per invocation, {} invocations per workgroup\n",
                self.linear_group
            ));
        }
        for (b, m) in self
            .engines
            .iter()
            .filter_map(|(b, e)| Some((b, e.memory?)))
        {
            if m.needed_bytes == 0 {
                continue;
            }
            let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
            out.push_str(&format!(
                "{} engine memory: {:.2} MiB held ({:.2} MiB weights + {:.2} MiB activations \
                 and readback); {:.2} MiB needed in principle (weights + the largest live \
                 activations): {:.2}x\n",
                b.name(),
                mib(m.held_bytes),
                mib(m.weight_bytes),
                mib(m.held_bytes.saturating_sub(m.weight_bytes)),
                mib(m.needed_bytes),
                m.held_bytes as f64 / m.needed_bytes as f64
            ));
        }
        out
    }

    /// The readable table: per depth, both modes' medians and spreads, and the speedup.
    pub fn table(&self) -> String {
        let mut out = self.table_header();
        out.push('\n');
        let gpu = self.points.iter().any(|p| p.gpu.is_some());
        out.push_str(&format!(
            "{:>4} {:>4} | {:<14} {:>10} {:>19} {:>8} {:>6} {:>9}{} \n",
            "L",
            "K",
            "mode",
            "median ms",
            "p10..p90 ms",
            "GFLOP/s",
            "crit",
            "cold ms",
            if gpu { "   gpu median ms" } else { "" }
        ));
        let mut depths: Vec<usize> = self.points.iter().map(|p| p.depth).collect();
        depths.dedup();
        let backends = self.backends();
        for l in depths {
            for mode in Mode::ALL {
                for &backend in &backends {
                    if let Some(p) = self.point_on(backend, mode, l) {
                        out.push_str(&self.row(p, backends.len() > 1));
                    }
                }
            }
            for &backend in &backends {
                let (Some(s), Some(p)) = (
                    self.point_on(backend, Mode::Serial, l),
                    self.point_on(backend, Mode::Parallel, l),
                ) else {
                    continue;
                };
                let gpu_ratio = match (&s.gpu, &p.gpu) {
                    (Some(a), Some(b)) => format!(", gpu clock {:.2}x", a.median_ms / b.median_ms),
                    _ => String::new(),
                };
                let on = if backends.len() > 1 {
                    backend.name()
                } else {
                    ""
                };
                out.push_str(&format!(
                    "{:>4} {:>4} | {on} speedup serial/parallel (medians): wall {:.2}x{gpu_ratio}\n",
                    "",
                    "",
                    s.wall.median_ms / p.wall.median_ms
                ));
            }
            if backends.len() > 1 {
                for mode in Mode::ALL {
                    if let Some(line) = self.faster(mode, l) {
                        out.push_str(&format!("{:>4} {:>4} | {line}\n", "", ""));
                    }
                }
            }
        }
        if !self.precision_error.is_empty() {
            out.push_str(&format!(
                "\nf16 logits against the f32 CPU engine's: {}\n",
                super::precision::describe(&self.precision_error)
            ));
        }
        for (backend, fit) in &self.fits {
            {
                out.push_str(&format!(
                    "\n{} fit (least squares on the wall-clock medians):\n",
                    backend.name()
                ));
                for line in fit.summary() {
                    out.push_str(&format!("  {line}\n"));
                }
            }
        }
        if !self.kernels.is_empty() {
            out.push_str("\nkernels (op, mode: variant (why) for rows x n x k, lanes):\n");
            for line in super::kernels::lines(&self.kernels) {
                out.push_str(&format!("  {line}\n"));
            }
        }
        if let Some(t) = &self.tuning {
            out.push_str(&format!("{}\n", super::kernels::tuning_line(t)));
            for w in &t.warnings {
                out.push_str(&format!("  warning: {w}\n"));
            }
        }
        for p in &self.profiles {
            out.push_str(&format!("\n{} mode, L = {}: ", p.mode.name(), p.depth));
            out.push_str(&p.profile.table());
        }
        if let Some(e) = self.outcome().error() {
            out.push_str(&format!("\nINCOMPLETE: {e}\n"));
        }
        out
    }
}

/// Which backend is fastest in `mode` at depth `l` among `points`, and by how much over the
/// next (wall-clock medians); None unless two or more measured it.
pub fn faster(points: &[Point], mode: Mode, l: usize) -> Option<String> {
    let mut each: Vec<(Backend, f64)> = Backend::ALL
        .into_iter()
        .filter_map(|b| {
            points
                .iter()
                .find(|p| p.backend == b && p.mode == mode && p.depth == l)
                .map(|p| (b, p.wall.median_ms))
        })
        .collect();
    if each.len() < 2 {
        return None;
    }
    let listed: Vec<String> = each
        .iter()
        .map(|(b, ms)| format!("{} {ms:.3} ms", b.name()))
        .collect();
    each.sort_by(|a, b| a.1.total_cmp(&b.1));
    let ((winner, best), next) = (each[0], each[1].1);
    Some(format!(
        "{}: {} {:.2}x faster ({})",
        mode.name(),
        winner.name(),
        next / best,
        listed.join(", ")
    ))
}
