//! A sweep's summary in a link, without a server: the config, the adapter, the date and per
//! point (mode, L, median, p10, p90) as JSON, deflated and base64url-coded into the page
//! URL's fragment (`#share=v1.` followed by the code). Fragments never reach a server.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use super::{Backend, Report};
use crate::Error;
use crate::engine::Precision;
use crate::model::{Config, Mode};

/// What comes before the code in a link's fragment.
pub const PREFIX: &str = "share=v1.";

/// Inflated summaries larger than this are refused (a fragment is a few KB at most).
const MAX_JSON: usize = 1 << 20;

/// The summary a link carries.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Shared {
    /// The engine measured (links from before backends: the GPU engine).
    #[serde(default)]
    pub engine: Backend,
    /// Its adapter's name and API, or for the CPU engine its SIMD set and threads and
    /// "cpu".
    pub adapter: String,
    pub backend: String,
    /// UTC, ISO 8601, as in the report.
    pub date: String,
    pub target: String,
    pub preset: String,
    pub config: Config,
    /// The GPU engine's storage (links from before f16 were f32).
    #[serde(default)]
    pub precision: Precision,
    /// Per point: [mode (0 serial, 1 parallel), L, median, p10, p90] in ms, wall clock.
    pub points: Vec<[f64; 5]>,
}

impl Shared {
    pub fn of(r: &Report) -> Shared {
        let ctx = &r.context;
        // Four significant digits are far finer than run-to-run spread and keep links short.
        let round = |v: f64| {
            if v == 0.0 || !v.is_finite() {
                return 0.0;
            }
            let scale = 10f64.powi(3 - v.abs().log10().floor() as i32);
            (v * scale).round() / scale
        };
        // The first engine's points: in a page, the GPU's when it has one.
        let engine = r.main_backend();
        let info = r.engine(engine);
        let (adapter, backend) = match info.and_then(|e| e.adapter.as_ref()) {
            Some(a) => (a.name.clone(), a.backend.clone()),
            None => (
                info.map_or_else(String::new, |e| e.line()),
                engine.name().to_string(),
            ),
        };
        Shared {
            engine,
            adapter,
            backend,
            date: ctx.date.clone(),
            target: ctx.target.clone(),
            preset: ctx.settings.preset.clone(),
            config: ctx.settings.config.clone(),
            precision: ctx.settings.precision_on(engine),
            points: r
                .points_on(engine)
                .map(|p| {
                    let mode = if p.mode == Mode::Parallel { 1.0 } else { 0.0 };
                    let w = &p.wall;
                    [
                        mode,
                        p.depth as f64,
                        round(w.median_ms),
                        round(w.p10_ms),
                        round(w.p90_ms),
                    ]
                })
                .collect(),
        }
    }

    /// The fragment (without `#`) that carries this summary.
    pub fn fragment(&self) -> String {
        let json = serde_json::to_vec(self).expect("summaries serialise");
        let packed = miniz_oxide::deflate::compress_to_vec(&json, 9);
        format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(packed))
    }

    /// The summary in a fragment (with or without its `#`). None when the fragment is not a
    /// share link at all; an error naming what is wrong when it is one but damaged.
    pub fn from_fragment(fragment: &str) -> Option<Result<Shared, Error>> {
        let code = fragment.trim_start_matches('#').strip_prefix(PREFIX)?;
        Some(decode(code))
    }

    /// The points of one mode as (L, median, p10, p90), by depth.
    pub fn series(&self, mode: Mode) -> Vec<[f64; 4]> {
        let want = if mode == Mode::Parallel { 1.0 } else { 0.0 };
        let mut v: Vec<[f64; 4]> = self
            .points
            .iter()
            .filter(|p| p[0] == want)
            .map(|p| [p[1], p[2], p[3], p[4]])
            .collect();
        v.sort_by(|a, b| a[0].total_cmp(&b[0]));
        v
    }

    /// A short name for legends: adapter, backend, date.
    pub fn label(&self) -> String {
        let date = self.date.get(..10).unwrap_or(&self.date);
        if !self.engine.needs_gpu() {
            return format!(
                "shared: {} engine ({}, {}, {}, {date})",
                self.engine.name(),
                self.adapter,
                self.preset,
                self.precision
            );
        }
        match self.adapter.trim() {
            // Browsers may hide the adapter's name.
            "" => format!(
                "shared: {} ({}, {}, {date})",
                self.backend, self.preset, self.precision
            ),
            name => format!(
                "shared: {name} ({}, {}, {}, {date})",
                self.backend, self.preset, self.precision
            ),
        }
    }
}

fn decode(code: &str) -> Result<Shared, Error> {
    let damaged = |why: String| Error::Input(format!("the shared link is damaged: {why}"));
    let packed = URL_SAFE_NO_PAD
        .decode(code.trim_end_matches('='))
        .map_err(|e| damaged(format!("not base64url ({e})")))?;
    let json = miniz_oxide::inflate::decompress_to_vec_with_limit(&packed, MAX_JSON)
        .map_err(|e| damaged(format!("not deflate data ({e:?})")))?;
    let shared: Shared = serde_json::from_slice(&json)
        .map_err(|e| damaged(format!("not a paraformer summary ({e})")))?;
    shared
        .config
        .validate()
        .map_err(|e| damaged(e.to_string()))?;
    let bad = shared.points.iter().find(|p| {
        !(p[0] == 0.0 || p[0] == 1.0)
            || p[1] < 1.0
            || p[1].fract() != 0.0
            || p[2..].iter().any(|v| !v.is_finite() || *v < 0.0)
    });
    if let Some(p) = bad {
        return Err(damaged(format!(
            "point {p:?} is not [mode 0|1, L >= 1, median, p10, p90 >= 0]"
        )));
    }
    if shared.points.is_empty() {
        return Err(damaged("it holds no points".into()));
    }
    Ok(shared)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sweep_summary(depths: usize) -> Shared {
        let mut points = Vec::new();
        for l in 1..=depths {
            let l = l as f64;
            points.push([0.0, l, 0.4123 * l, 0.3987 * l, 0.4519 * l]);
            points.push([1.0, l, 1.234 + 0.01 * l, 1.201 + 0.01 * l, 1.318 + 0.01 * l]);
        }
        Shared {
            engine: Backend::Gpu,
            adapter: "NVIDIA H200 (a long adapter name, as drivers write them)".into(),
            backend: "Vulkan".into(),
            date: "2026-12-03T12:00:00Z".into(),
            target: "native".into(),
            preset: "cifar".into(),
            config: Config::preset("cifar").unwrap(),
            precision: Precision::F16,
            points,
        }
    }

    #[test]
    fn a_summary_survives_its_link_and_stays_short() {
        let s = sweep_summary(24);
        let f = s.fragment();
        assert!(f.starts_with(PREFIX));
        let url = format!("https://example.org/paraformer/#{f}");
        assert!(url.len() < 2000, "{} characters", url.len());
        assert_eq!(Shared::from_fragment(&format!("#{f}")).unwrap().unwrap(), s);
        assert_eq!(s.series(Mode::Parallel).len(), 24);
        assert_eq!(s.series(Mode::Serial)[1], [2.0, 0.8246, 0.7974, 0.9038]);
        assert!(Shared::from_fragment("#tab=latency").is_none());
    }

    #[test]
    fn damaged_links_say_what_is_wrong() {
        let err = |fragment: String| {
            Shared::from_fragment(&fragment)
                .expect("a share fragment")
                .unwrap_err()
                .to_string()
        };
        assert!(err(format!("{PREFIX}!!!")).contains("not base64url"));
        let garbage = URL_SAFE_NO_PAD.encode([1u8, 2, 3, 4, 5, 6]);
        assert!(err(format!("{PREFIX}{garbage}")).contains("not deflate data"));
        let text = URL_SAFE_NO_PAD.encode(miniz_oxide::deflate::compress_to_vec(b"hello", 6));
        assert!(err(format!("{PREFIX}{text}")).contains("not a paraformer summary"));
        let mut s = sweep_summary(2);
        s.points[1][0] = 7.0;
        assert!(err(s.fragment()).contains("is not [mode 0|1"));
        s.points.clear();
        assert!(err(s.fragment()).contains("no points"));
        // A cut-off link (a chat client truncating it) is damaged, not a panic.
        let f = sweep_summary(24).fragment();
        let cut = err(f[..f.len() / 2].to_string());
        assert!(
            cut.starts_with("bad input: the shared link is damaged"),
            "{cut}"
        );
    }
}
