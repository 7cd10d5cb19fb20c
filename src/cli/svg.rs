//! What every SVG of `paraformer report` shares: its size, the colours of runs and modes,
//! drawing errors, the legend box.

use std::path::Path;

use paraformer::Error;
use paraformer::model::Mode;
use plotters::prelude::*;

pub const SIZE: (u32, u32) = (960, 600);

/// Serial in warm colours, parallel in cool ones; the n-th file takes the n-th of each.
pub fn color(mode: Mode, run: usize) -> RGBColor {
    const SERIAL: [RGBColor; 4] = [
        RGBColor(205, 60, 50),
        RGBColor(230, 140, 30),
        RGBColor(150, 50, 130),
        RGBColor(120, 80, 40),
    ];
    const PARALLEL: [RGBColor; 4] = [
        RGBColor(40, 140, 70),
        RGBColor(40, 90, 200),
        RGBColor(20, 160, 170),
        RGBColor(90, 90, 90),
    ];
    match mode {
        Mode::Serial => SERIAL[run % 4],
        Mode::Parallel => PARALLEL[run % 4],
    }
}

pub fn failed<E: std::fmt::Debug>(path: &Path) -> impl Fn(E) -> Error + '_ {
    move |e| Error::Io(format!("cannot draw '{}': {e:?}", path.display()))
}

/// The series' legend in a white box at `position`.
pub fn legend<'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, SVGBackend<'a>, CT>,
    position: SeriesLabelPosition,
    path: &Path,
) -> Result<(), Error> {
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE)
        .border_style(BLACK.mix(0.4))
        .draw()
        .map_err(failed(path))
}
