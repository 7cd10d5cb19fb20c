//! `paraformer report RESULTS.json [MORE.json ...] --out DIR`: the pictures and the
//! markdown of one or more sweeps (a GPU, lavapipe, a browser run), overlaid.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use paraformer::Error;

use super::plots;
use super::runs::{Run, load};
use crate::args::ReportArgs;

pub fn run(args: &ReportArgs) -> Result<(), Error> {
    let out = PathBuf::from(&args.out);
    let runs = args
        .files
        .iter()
        .map(|f| load(f))
        .collect::<Result<Vec<_>, Error>>()?
        .into_iter()
        .flatten()
        .collect::<Vec<_>>();
    std::fs::create_dir_all(&out)
        .map_err(|e| Error::Io(format!("cannot create '{}': {e}", out.display())))?;
    let mut written = vec![
        plots::latency(&runs, &out.join("latency.svg"))?,
        plots::speedup(&runs, &out.join("speedup.svg"))?,
    ];
    let profile = if runs.iter().any(|r| !r.report.profiles.is_empty()) {
        written.push(plots::profile(&runs, &out.join("profile.svg"))?);
        true
    } else {
        false
    };
    let roofline = runs.iter().any(|r| !r.report.device_peak.is_empty());
    if roofline {
        written.push(super::roofline::roofline(&runs, &out.join("roofline.svg"))?);
    }
    let md = out.join("report.md");
    write(&md, &markdown(&runs, profile, roofline))?;
    written.push(md);
    for path in written {
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

/// What measured a run: its engine and what it stored values in.
fn engine_line(run: &Run) -> String {
    let backend = run.backend;
    let engine = run
        .report
        .engine(backend)
        .map_or_else(|| "not recorded".to_string(), |e| e.line());
    format!(
        "{} engine: {engine}, {} storage",
        backend.name(),
        run.report.context.settings.precision_on(backend)
    )
}

fn write(path: &Path, text: &str) -> Result<(), Error> {
    std::fs::write(path, text)
        .map_err(|e| Error::Io(format!("cannot write '{}': {e}", path.display())))
}

fn markdown(runs: &[Run], profile: bool, roofline: bool) -> String {
    let mut md = String::from("# Para-Former latency report\n\n");
    md.push_str(
        "Latency against total depth L: serial mode chains L blocks, parallel mode runs \
         K = L/d branches of d blocks side by side (the same weights, the same FLOPs). \
         Medians with p10-p90 bars, wall clock; dashed lines are the fits.\n\n",
    );
    md.push_str("![latency against depth](latency.svg)\n\n![speedup](speedup.svg)\n\n");
    if profile {
        md.push_str("![per-op profile](profile.svg)\n\n");
    }
    if roofline {
        md.push_str("![roofline](roofline.svg)\n\n");
    }
    for run in runs {
        let r = &run.report;
        let (ctx, s) = (&r.context, &r.context.settings);
        let c = &s.config;
        let _ = write!(
            md,
            "## {}\n\n- file: `{}`\n- {}\n- date: {}, \
             paraformer {}{}, {}\n- model: preset {}, {}x{}x{} images, patch {}, dim {}, {} \
             heads of {}, MLP {}, branch depth d = {}, batch {}\n- samples: {} counted after \
             {} warm-up per point; clocks: {}\n",
            run.label,
            run.file,
            engine_line(run),
            ctx.date,
            ctx.crate_version,
            ctx.git_commit
                .as_ref()
                .map_or(String::new(), |g| format!(" ({g})")),
            ctx.target,
            s.preset,
            c.channels,
            c.image_height,
            c.image_width,
            c.patch,
            c.dim,
            c.heads,
            c.dim_head,
            c.mlp_dim,
            c.depth,
            s.batch,
            s.samples,
            s.warmup,
            ctx.clocks.join("; ")
        );
        if let Some(e) = r.outcome().error() {
            let _ = writeln!(md, "- INCOMPLETE: {e}");
        }
        if let Some(p) = r.device_peak.get(&run.backend) {
            let _ = writeln!(
                md,
                "- roofs: {:.1} GFLOP/s, {:.1} GB/s ({})",
                p.gflops, p.gbytes_per_s, p.method
            );
        }
        if !r.precision_error.is_empty() {
            let _ = writeln!(
                md,
                "- f16 logits against the f32 CPU engine's: {}",
                paraformer::bench::precision::describe(&r.precision_error)
            );
        }
        md.push_str("\n### Fit\n\n");
        for line in run.fit.summary() {
            let _ = writeln!(md, "- {line}");
        }
        if !r.kernels.is_empty() {
            md.push_str("\n### Kernels (op, mode: variant (why) for rows x n x k, lanes)\n\n");
            for line in paraformer::bench::kernels::lines(&r.kernels) {
                let _ = writeln!(md, "- {line}");
            }
            if let Some(t) = &r.tuning {
                let _ = writeln!(md, "\n{}\n", paraformer::bench::kernels::tuning_line(t));
                for line in paraformer::bench::kernels::candidate_lines(&r.kernels) {
                    let _ = writeln!(md, "- {line}");
                }
                for w in &t.warnings {
                    let _ = writeln!(md, "- warning: {w}");
                }
            }
        }
        md.push_str("\n### Points\n\n| L | mode | median ms | p10 ms | p90 ms | GFLOP/s | dispatches | critical path | fitted ms |\n|---:|---|---:|---:|---:|---:|---:|---:|---:|\n");
        for p in &r.points {
            let _ = writeln!(
                md,
                "| {} | {} | {:.3} | {:.3} | {:.3} | {:.2} | {} | {} | {} |",
                p.depth,
                p.mode.name(),
                p.wall.median_ms,
                p.wall.p10_ms,
                p.wall.p90_ms,
                p.gflops_wall,
                p.dispatches,
                p.critical_path,
                run.fit
                    .predicted(p.mode, p.depth)
                    .map_or("-".into(), |v| format!("{v:.3}"))
            );
        }
        for p in &r.profiles {
            let _ = write!(
                md,
                "\n### Per-op profile, {} mode, L = {}\n\n```\n{}```\n",
                p.mode.name(),
                p.depth,
                p.profile.table()
            );
        }
        md.push('\n');
    }
    md.push_str(
        "The knee L* is the breakpoint of the least-squares fit of `flat + slope * max(0, L - L*)` \
         to the parallel medians; it is reported when the fitted rise by the deepest L is at \
         least 5% of the flat latency and three residual RMS (README, \"Where the flat \
         latency ends\").\n",
    );
    md
}
