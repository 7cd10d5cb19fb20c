//! Runs drawn beside the current sweep: an imported results file, or a run opened from a
//! share link (its summary only: wall-clock medians and p10-p90).

use paraformer::bench::Report;
use paraformer::bench::share::Shared;
use paraformer::model::Mode;

use super::state;

pub enum Overlay {
    File(Box<Report>),
    Link(Box<Shared>),
}

impl Overlay {
    pub fn label(&self) -> String {
        match self {
            Overlay::File(r) => state::report_label(r),
            Overlay::Link(s) => format!("{} (wall clock)", s.label()),
        }
    }

    /// (L, median, p10, p90) of a mode on the chosen clock; a link has the wall clock only.
    pub fn series(&self, mode: Mode, gpu_clock: bool) -> Vec<[f64; 4]> {
        match self {
            Overlay::File(r) => state::series(&r.points, r.main_backend(), mode, gpu_clock),
            Overlay::Link(s) => s.series(mode),
        }
    }
}

/// The link that opens `report` as a shared run on the page at `page`. Parameters that
/// start work when the page opens (`autorun`, `live`) are dropped: the link shows a run, it
/// does not start one.
pub fn share_link(page: &str, report: &Report) -> String {
    let page = page.split('#').next().unwrap_or(page);
    let (base, query) = page.split_once('?').unwrap_or((page, ""));
    let kept: Vec<&str> = query
        .split('&')
        .filter(|kv| {
            let key = kv.split('=').next().unwrap_or(kv);
            !kv.is_empty() && key != "autorun" && key != "live"
        })
        .collect();
    let query = if kept.is_empty() {
        String::new()
    } else {
        format!("?{}", kept.join("&"))
    };
    format!("{base}{query}#{}", Shared::of(report).fragment())
}
