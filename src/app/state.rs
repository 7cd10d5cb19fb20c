//! UI state that needs no window: the editable form, launch parameters (URL query or
//! command line), and the series the plots draw. Unit-tested without a GPU.

use paraformer::Error;
use paraformer::bench::{self, Backend, Point, Report, Settings};
use paraformer::model::{Config, Mode, PRESETS, Pool};

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
        };
        s.validate()?;
        Ok(s)
    }
}

/// Parameters a run can be launched with: a page URL (`?preset=mnist&depths=1..4&autorun=1`)
/// or the desktop app's command line (`--preset mnist --depths 1..4 --autorun`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Launch {
    pub form: Option<Form>,
    pub autorun: bool,
    /// Native only: write the results JSON here when the sweep ends.
    pub results: Option<String>,
    /// Native only: close the window once the results are written.
    pub exit: bool,
    /// The view to open: latency, speedup, live or adapter.
    pub tab: Option<String>,
    /// Start the live loop at once.
    pub live: bool,
}

/// Views a launch can open.
pub const TABS: [&str; 7] = [
    "latency", "speedup", "profile", "live", "adapter", "classify", "accuracy",
];

const SIZE_KEYS: [&str; 11] = [
    "image-height",
    "image-width",
    "channels",
    "patch",
    "dim",
    "heads",
    "dim-head",
    "mlp-dim",
    "classes",
    "branch-depth",
    "batch",
];

/// Splits a URL query (`?a=1&b=x`) into pairs; `+` and `%XX` are decoded. Used by the web build.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
pub fn query_pairs(query: &str) -> Vec<(String, String)> {
    query
        .trim_start_matches('?')
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, "1"));
            (decode(k), decode(v))
        })
        .collect()
}

#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = |b: u8| (b as char).to_digit(16);
                match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Command-line `--key value` / `--flag` pairs, the same keys as the URL. Used natively.
#[cfg_attr(target_arch = "wasm32", allow(dead_code))]
pub fn arg_pairs(args: &[String]) -> Result<Vec<(String, String)>, Error> {
    let mut out = Vec::new();
    let mut it = args.iter().peekable();
    while let Some(a) = it.next() {
        let key = a
            .strip_prefix("--")
            .ok_or_else(|| Error::Usage(format!("unexpected argument '{a}' for the app")))?;
        let value = match it.peek() {
            Some(v) if !v.starts_with("--") => it.next().cloned().unwrap_or_default(),
            _ => "1".to_string(),
        };
        out.push((key.to_string(), value));
    }
    Ok(out)
}

fn truthy(v: &str) -> bool {
    matches!(v, "1" | "true" | "yes" | "on")
}

impl Launch {
    pub fn parse(pairs: &[(String, String)]) -> Result<Launch, Error> {
        let mut launch = Launch::default();
        let mut form: Option<Form> = None;
        let get = |key: &str| {
            pairs
                .iter()
                .rev()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
        };
        if let Some(p) = get("preset") {
            form = Some(Form::preset(p)?);
        }
        let mut f = form.unwrap_or(Form::preset(PRESETS[0])?);
        let mut touched = get("preset").is_some();
        for (key, value) in pairs {
            let num = || {
                value.parse::<usize>().map_err(|_| {
                    Error::Usage(format!("parameter {key}='{value}' is not a whole number"))
                })
            };
            touched = true;
            match key.as_str() {
                "preset" => {}
                "depths" => f.depths = value.clone(),
                "samples" => f.samples = num()?,
                "warmup" => f.warmup = num()?,
                "profile" => f.profile = truthy(value),
                "modes" => {
                    let modes: Vec<Mode> = value
                        .split(',')
                        .map(Mode::parse)
                        .collect::<Result<_, _>>()?;
                    f.serial = modes.contains(&Mode::Serial);
                    f.parallel = modes.contains(&Mode::Parallel);
                }
                "pool" => f.config.pool = Pool::parse(value)?,
                "backends" => {
                    let backends = Backend::parse_list(value)?;
                    f.gpu = backends.contains(&Backend::Gpu);
                    f.cpu = backends.contains(&Backend::Cpu);
                }
                k if SIZE_KEYS.contains(&k) => {
                    let v = num()?;
                    let c = &mut f.config;
                    match k {
                        "image-height" => c.image_height = v,
                        "image-width" => c.image_width = v,
                        "channels" => c.channels = v,
                        "patch" => c.patch = v,
                        "dim" => c.dim = v,
                        "heads" => c.heads = v,
                        "dim-head" => c.dim_head = v,
                        "mlp-dim" => c.mlp_dim = v,
                        "classes" => c.num_classes = v,
                        "branch-depth" => c.depth = v,
                        _ => f.batch = v,
                    }
                }
                "autorun" => {
                    touched = false;
                    launch.autorun = truthy(value);
                }
                "results" => {
                    touched = false;
                    launch.results = Some(value.clone());
                }
                "exit" => {
                    touched = false;
                    launch.exit = truthy(value);
                }
                "tab" => {
                    touched = false;
                    if !TABS.contains(&value.as_str()) {
                        return Err(Error::Usage(format!(
                            "unknown tab '{value}': allowed are {}",
                            TABS.join(", ")
                        )));
                    }
                    launch.tab = Some(value.clone());
                }
                "live" => {
                    touched = false;
                    launch.live = truthy(value);
                }
                other => {
                    return Err(Error::Usage(format!(
                        "unknown parameter '{other}': allowed are preset, depths, samples, warmup, modes, backends, profile, pool, {}, autorun, tab, live, results, exit",
                        SIZE_KEYS.join(", ")
                    )));
                }
            }
        }
        if touched || get("preset").is_some() {
            launch.form = Some(f);
        }
        Ok(launch)
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

/// The GPU engine's median over the CPU engine's in one mode (above 1: the CPU is faster),
/// wall clock, at every depth both have: (L, ratio).
pub fn cpu_over_gpu(points: &[Point], mode: Mode) -> Vec<[f64; 2]> {
    ratio(
        &series(points, Backend::Gpu, mode, false),
        &series(points, Backend::Cpu, mode, false),
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

/// A short name for an imported report in the legend.
pub fn report_label(r: &Report) -> String {
    format!(
        "{} ({}, {})",
        r.context.adapter.name, r.context.target, r.context.date
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn url_parameters_set_the_form_and_autorun() {
        let l = Launch::parse(&query_pairs(
            "?preset=mnist&depths=1..4&samples=3&autorun=1",
        ))
        .unwrap();
        assert!(l.autorun);
        let f = l.form.unwrap();
        assert_eq!(
            (f.source.as_str(), f.depths.as_str(), f.samples),
            ("mnist", "1..4", 3)
        );
        assert_eq!(f.settings().unwrap().depths, [1, 2, 3]);
        let l = Launch::parse(&query_pairs(
            "modes=parallel&dim=96&heads=2&dim-head=48&branch-depth=2&depths=2,4",
        ))
        .unwrap();
        let f = l.form.unwrap();
        assert_eq!(
            (f.serial, f.parallel, f.config.dim, f.config.depth),
            (false, true, 96, 2)
        );
        assert!(!l.autorun);
        assert!(!f.settings().unwrap().profile);
        let l = Launch::parse(&query_pairs(
            "?preset=mnist&depths=1,2&profile=1&tab=profile",
        ))
        .unwrap();
        assert!(l.form.unwrap().settings().unwrap().profile);
        assert_eq!(l.tab.as_deref(), Some("profile"));
        assert_eq!(Launch::parse(&[]).unwrap(), Launch::default());
    }

    #[test]
    fn bad_parameters_are_explained() {
        let e = Launch::parse(&pairs(&[("samples", "many")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("samples='many' is not a whole number"), "{e}");
        let e = Launch::parse(&pairs(&[("colour", "red")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown parameter 'colour'"), "{e}");
        let e = Launch::parse(&pairs(&[("preset", "imagenet")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown preset 'imagenet'"), "{e}");
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
    }

    #[test]
    fn query_and_argument_decoding() {
        assert_eq!(
            query_pairs("?depths=1%2C2%2C4&x=a+b&flag"),
            pairs(&[("depths", "1,2,4"), ("x", "a b"), ("flag", "1")])
        );
        assert_eq!(query_pairs("bad=%zz%4"), pairs(&[("bad", "%zz%4")]));
        let args: Vec<String> = [
            "--preset",
            "mnist",
            "--autorun",
            "--results",
            "r.json",
            "--exit",
        ]
        .map(String::from)
        .to_vec();
        let l = Launch::parse(&arg_pairs(&args).unwrap()).unwrap();
        assert_eq!(
            (l.autorun, l.exit, l.results.as_deref()),
            (true, true, Some("r.json"))
        );
        assert!(arg_pairs(&["mnist".to_string()]).is_err());
    }
}
