//! Measuring the engines: the depth sweep (`sweep`), what defines it (`settings`), its
//! points (`measure`), the report and its renderings, fits, roofs, accuracy and share
//! links. Every engine is reached through the backend seam (`backend::Runner`).

pub mod accuracy;
mod backend;
pub mod fit;
pub mod kernels;
mod legacy;
mod measure;
pub mod peak;
pub mod precision;
mod render;
mod report;
mod settings;
pub mod share;
mod sweep;

pub use crate::stats::{Stats, quantile};
pub use backend::{Backend, NO_GPU_OPEN, Runner};
pub use measure::Progress;
pub use render::faster;
pub use report::{
    Context, EngineInfo, GPU_CLOCK, ModeProfile, Outcome, PageLoad, Point, Report, SCHEMA,
    WALL_CLOCK,
};
pub use settings::{Settings, parse_depths};
pub use sweep::{seeded_weights, sweep, sweep_weights};

/// The current UTC time as ISO 8601.
pub fn utc_now() -> String {
    let secs = web_time::SystemTime::now()
        .duration_since(web_time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86400, secs % 86400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_iso() {
        let d = utc_now();
        assert_eq!(d.len(), 20, "{d}");
        assert!(d.starts_with("20") && d.ends_with('Z'));
    }
}
