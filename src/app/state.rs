//! UI state that needs no window: the editable form, launch parameters (URL query or
//! command line), and the series the plots draw. Unit-tested without a GPU.

use paraformer::Error;
use paraformer::bench::{self, Backend, Point, Report, Settings};
use paraformer::engine::Precision;
use paraformer::engine::tune::Autotune;
use paraformer::engine::tune_cache::Location;
use paraformer::model::{Config, Mode, PRESETS};

use crate::args::{AppArgs, ModeArg, ModelOverrides};
use crate::tab::Tab;

/// What the side panel edits.
#[derive(Clone, Debug, PartialEq)]
pub struct Form {
    /// A preset name, or the checkpoint's file name.
    pub source: String,
    pub config: Config,
    pub depths: String,
    pub serial: bool,
    pub parallel: bool,
    pub batch: usize,
    pub warmup: usize,
    pub samples: usize,
    /// Also time every op at the deepest depth after the sweep.
    pub profile: bool,
    /// Measure the WGSL engine on the adapter, the CPU engine, or both.
    pub gpu: bool,
    pub cpu: bool,
    /// GPU kernel variants forced for the sweep (`kernel` launch parameter).
    pub kernels: Vec<String>,
    /// Tune the GPU kernels on this device before the sweep (`autotune` parameter).
    pub autotune: Autotune,
    /// What the GPU engine stores values in (`precision` parameter).
    pub precision: Precision,
}

impl Form {
    pub fn preset(name: &str) -> Result<Form, Error> {
        let config = Config::preset(name)?;
        let d = config.depth;
        Ok(Form {
            source: name.to_string(),
            depths: format!("{d}..={}", 12 * d),
            config,
            serial: true,
            parallel: true,
            batch: 1,
            warmup: 2,
            samples: 5,
            profile: false,
            gpu: true,
            cpu: false,
            kernels: Vec::new(),
            autotune: Autotune::On,
            precision: Precision::F32,
        })
    }

    pub fn backends(&self) -> Vec<Backend> {
        [(Backend::Gpu, self.gpu), (Backend::Cpu, self.cpu)]
            .into_iter()
            .filter_map(|(b, on)| on.then_some(b))
            .collect()
    }

    pub fn modes(&self) -> Vec<Mode> {
        [(Mode::Serial, self.serial), (Mode::Parallel, self.parallel)]
            .into_iter()
            .filter_map(|(m, on)| on.then_some(m))
            .collect()
    }

    /// The sweep this form describes, or what is wrong with it.
    pub fn settings(&self) -> Result<Settings, Error> {
        let s = Settings {
            preset: self.source.clone(),
            config: self.config.clone(),
            depths: bench::parse_depths(&self.depths)?,
            modes: self.modes(),
            batch: self.batch,
            warmup: self.warmup,
            samples: self.samples,
            seed: 0,
            profile: self.profile,
            serial_up_to: None,
            backends: self.backends(),
            kernels: self.kernels.clone(),
            autotune: self.autotune,
            kernel_cache: Location::User,
            precision: self.precision,
            // The roofs of the profile tab: read from the kernel cache after the first time.
            peak: Autotune::On,
        };
        s.validate()?;
        Ok(s)
    }
}

/// Parameters a run can be launched with: a page URL (`?preset=mnist&depths=1..4&autorun=1`)
/// or the desktop app's command line (`--preset mnist --depths 1..4 --autorun`), both
/// parsed by `crate::args::AppArgs`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Launch {
    pub form: Option<Form>,
    pub autorun: bool,
    /// Native only: write the results JSON here when the sweep ends.
    pub results: Option<String>,
    /// Native only: close the window once the results are written.
    pub exit: bool,
    /// The view to open.
    pub tab: Option<Tab>,
    /// Start the live loop at once.
    pub live: bool,
}

impl Launch {
    /// The app's starting state: a form when any of its fields was given (the rest from the
    /// preset, default the first), and what to do once open.
    pub fn from_args(a: &AppArgs) -> Result<Launch, Error> {
        let touched = a.preset.is_some()
            || a.depths.is_some()
            || a.samples.is_some()
            || a.warmup.is_some()
            || a.batch.is_some()
            || !a.modes.is_empty()
            || a.backends.is_some()
            || a.profile.is_some()
            || !a.kernels.is_empty()
            || a.autotune.is_some()
            || a.precision.is_some()
            || a.model != ModelOverrides::default();
        let form = if touched {
            let mut f = Form::preset(a.preset.as_deref().unwrap_or(PRESETS[0]))?;
            a.model.apply(&mut f.config);
            if let Some(d) = &a.depths {
                f.depths = d.clone();
            }
            f.samples = a.samples.unwrap_or(f.samples);
            f.warmup = a.warmup.unwrap_or(f.warmup);
            f.batch = a.batch.unwrap_or(f.batch);
            f.profile = a.profile.unwrap_or(f.profile);
            if !a.modes.is_empty() {
                f.serial = a.modes.contains(&ModeArg::Serial);
                f.parallel = a.modes.contains(&ModeArg::Parallel);
            }
            if let Some(b) = &a.backends {
                f.gpu = b.0.contains(&Backend::Gpu);
                f.cpu = b.0.contains(&Backend::Cpu);
            }
            f.kernels = a.kernels.clone();
            f.autotune = a.autotune.map_or(f.autotune, Autotune::from);
            f.precision = a.precision.map_or(f.precision, Precision::from);
            Some(f)
        } else {
            None
        };
        Ok(Launch {
            form,
            autorun: a.autorun.unwrap_or(false),
            results: a.results.clone(),
            exit: a.exit.unwrap_or(false),
            tab: a.tab,
            live: a.live.unwrap_or(false),
        })
    }
}

/// One plotted series: (L, median, p10, p90) in ms for one backend, mode and clock.
pub fn series(points: &[Point], backend: Backend, mode: Mode, gpu_clock: bool) -> Vec<[f64; 4]> {
    let mut v: Vec<[f64; 4]> = points
        .iter()
        .filter(|p| p.backend == backend && p.mode == mode)
        .filter_map(|p| {
            let s = if gpu_clock { p.gpu.as_ref()? } else { &p.wall };
            Some([p.depth as f64, s.median_ms, s.p10_ms, s.p90_ms])
        })
        .collect();
    v.sort_by(|a, b| a[0].total_cmp(&b[0]));
    v
}

/// Serial median over parallel median on one backend at every depth both modes have: (L, ratio).
pub fn speedup(points: &[Point], backend: Backend, gpu_clock: bool) -> Vec<[f64; 2]> {
    ratio(
        &series(points, backend, Mode::Serial, gpu_clock),
        &series(points, backend, Mode::Parallel, gpu_clock),
    )
}

/// Backend `a`'s median over `b`'s in one mode (above 1: `b` is faster), wall clock, at
/// every depth both have: (L, ratio).
pub fn over(points: &[Point], a: Backend, b: Backend, mode: Mode) -> Vec<[f64; 2]> {
    ratio(
        &series(points, a, mode, false),
        &series(points, b, mode, false),
    )
}

/// `a` over `b` where both have the depth.
fn ratio(a: &[[f64; 4]], b: &[[f64; 4]]) -> Vec<[f64; 2]> {
    a.iter()
        .filter_map(|a| b.iter().find(|b| b[0] == a[0]).map(|b| [a[0], a[1] / b[1]]))
        .collect()
}

/// The backends that have points, GPU first.
pub fn backends_in(points: &[Point]) -> Vec<Backend> {
    Backend::ALL
        .into_iter()
        .filter(|b| points.iter().any(|p| p.backend == *b))
        .collect()
}

/// A series' name: the mode, led by the backend when a run has several.
pub fn series_name(backend: Backend, mode: Mode, several: bool) -> String {
    if several {
        format!("{} {}", backend.name(), mode.name())
    } else {
        mode.name().to_string()
    }
}

/// Critical-path dispatches (ops, on the CPU engine) against L for a backend and mode.
pub fn critical_paths(points: &[Point], backend: Backend, mode: Mode) -> Vec<[f64; 2]> {
    let mut v: Vec<[f64; 2]> = points
        .iter()
        .filter(|p| p.backend == backend && p.mode == mode)
        .map(|p| [p.depth as f64, p.critical_path as f64])
        .collect();
    v.sort_by(|a, b| a[0].total_cmp(&b[0]));
    v
}

/// Hover text of a measured point.
pub fn describe(p: &Point, gpu_clock: bool) -> String {
    let (s, rate, clock) = match (gpu_clock, &p.gpu, p.gflops_gpu) {
        (true, Some(g), Some(r)) => (g, r, "gpu timestamps"),
        _ => (&p.wall, p.gflops_wall, "wall clock"),
    };
    format!(
        "{} {} L={} (K={})\nmedian {:.3} ms ({clock})\np10..p90 {:.3}..{:.3} ms\n{:.2} GFLOP/s\n{} dispatches, {} on the critical path",
        p.backend.name(),
        p.mode.name(),
        p.depth,
        p.branches,
        s.median_ms,
        s.p10_ms,
        s.p90_ms,
        rate,
        p.dispatches,
        p.critical_path
    )
}

/// A short name for an imported report in the legend (with the precision, so that an f16
/// and an f32 sweep of one adapter are told apart).
pub fn report_label(r: &Report) -> String {
    format!("{} {}", r.label_of(r.main_backend()), r.context.target)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::app_args_from_pairs;

    fn launch(v: &[(&str, &str)]) -> Result<Launch, Error> {
        let pairs: Vec<(String, String)> = v
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        Launch::from_args(&app_args_from_pairs(&pairs)?)
    }

    #[test]
    fn url_parameters_set_the_form_and_autorun() {
        let l = launch(&[
            ("preset", "mnist"),
            ("depths", "1..4"),
            ("samples", "3"),
            ("autorun", "1"),
        ])
        .unwrap();
        assert!(l.autorun);
        let f = l.form.unwrap();
        assert_eq!(
            (f.source.as_str(), f.depths.as_str(), f.samples),
            ("mnist", "1..4", 3)
        );
        assert_eq!(f.settings().unwrap().depths, [1, 2, 3]);
        let l = launch(&[
            ("modes", "parallel"),
            ("dim", "96"),
            ("heads", "2"),
            ("dim-head", "48"),
            ("branch-depth", "2"),
            ("depths", "2,4"),
            ("backends", "cpu"),
        ])
        .unwrap();
        let f = l.form.unwrap();
        assert_eq!(
            (f.serial, f.parallel, f.config.dim, f.config.depth),
            (false, true, 96, 2)
        );
        assert_eq!((f.gpu, f.cpu), (false, true));
        assert!(!l.autorun);
        assert!(!f.settings().unwrap().profile);
        let l = launch(&[
            ("preset", "mnist"),
            ("depths", "1,2"),
            ("profile", ""),
            ("tab", "profile"),
        ])
        .unwrap();
        assert!(l.form.unwrap().settings().unwrap().profile);
        assert_eq!(l.tab, Some(Tab::Profile));
        assert_eq!(launch(&[]).unwrap(), Launch::default());
        // What to do once open does not make a form.
        let l = launch(&[("tab", "live"), ("live", "yes")]).unwrap();
        assert!(l.form.is_none() && l.live);
    }

    #[test]
    fn bad_forms_are_explained() {
        let mut f = Form::preset("mnist").unwrap();
        f.config.patch = 5;
        assert!(
            f.settings()
                .unwrap_err()
                .to_string()
                .contains("not divisible by patch 5")
        );
        f = Form::preset("mnist").unwrap();
        (f.serial, f.parallel) = (false, false);
        assert!(f.settings().unwrap_err().to_string().contains("no modes"));
        f = Form::preset("mnist").unwrap();
        (f.gpu, f.cpu, f.precision) = (false, true, Precision::F16);
        let e = f.settings().unwrap_err().to_string();
        assert!(e.contains("the CPU engine computes in f32"), "{e}");
    }

    #[test]
    fn the_precision_parameter_sets_the_storage() {
        let f = launch(&[("precision", "f16")]).unwrap().form.unwrap();
        assert_eq!(f.settings().unwrap().precision, Precision::F16);
        let f = launch(&[("preset", "mnist")]).unwrap().form.unwrap();
        assert_eq!(f.precision, Precision::F32);
        let e = launch(&[("precision", "f8")]).unwrap_err().to_string();
        assert!(e.contains("f32") && e.contains("f16"), "{e}");
    }

    #[test]
    fn app_flags_on_the_command_line() {
        use clap::Parser;
        let cli = crate::args::Cli::try_parse_from([
            "paraformer",
            "app",
            "--preset",
            "mnist",
            "--autorun",
            "--results",
            "r.json",
            "--exit",
        ])
        .unwrap();
        let Some(crate::args::Command::App(a)) = cli.command else {
            panic!("app");
        };
        let l = Launch::from_args(&a).unwrap();
        assert_eq!(
            (l.autorun, l.exit, l.results.as_deref()),
            (true, true, Some("r.json"))
        );
        assert!(crate::args::Cli::try_parse_from(["paraformer", "app", "mnist"]).is_err());
    }
}
