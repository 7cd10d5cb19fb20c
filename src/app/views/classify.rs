//! The trained MNIST Para-Former in the app: a 28x28 pad to draw a digit on (or a test
//! image to pick), class probabilities from the engine (the GPU's, or without an adapter the
//! CPU engine) in either mode with the latency,
//! and accuracy on the shipped test set against the number of branches.

use std::sync::Arc;

use paraformer::data::{TestSet, argmax};
use paraformer::input::normalise_pixel;
use paraformer::model::{Mode, Weights};

use super::{TrainedModel, View, ViewCtx, with_trained};
use crate::app::worker::{Job, Snapshot, Worker};

/// The pad's side in pixels, as MNIST's.
pub const SIDE: usize = 28;
/// MNIST fits each digit into a 20x20 box before centring it by its centre of mass.
const BOX: f32 = 20.0;

/// Ink on the pad, 0..=1 per pixel, row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct Pad {
    pub ink: Vec<f32>,
}

impl Default for Pad {
    fn default() -> Self {
        Pad {
            ink: vec![0.0; SIDE * SIDE],
        }
    }
}

impl Pad {
    pub fn from_pixels(pixels: &[u8]) -> Pad {
        Pad {
            ink: pixels.iter().map(|&p| f32::from(p) / 255.0).collect(),
        }
    }

    pub fn is_blank(&self) -> bool {
        self.ink.iter().all(|&v| v < 0.05)
    }

    /// Inks the segment a-b (pad coordinates, 0..28) with a round brush of `radius` pixels
    /// and a one-pixel soft edge, as a pen on paper scanned at MNIST's resolution.
    pub fn stroke(&mut self, a: [f32; 2], b: [f32; 2], radius: f32) {
        let len = ((b[0] - a[0]).powi(2) + (b[1] - a[1]).powi(2)).sqrt();
        let steps = (len * 4.0).ceil().max(1.0) as usize;
        for s in 0..=steps {
            let t = s as f32 / steps as f32;
            let (cx, cy) = (a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t);
            let reach = radius + 1.0;
            let (x0, x1) = ((cx - reach).floor().max(0.0), (cx + reach).ceil());
            let (y0, y1) = ((cy - reach).floor().max(0.0), (cy + reach).ceil());
            for y in y0 as usize..(y1 as usize).min(SIDE) {
                for x in x0 as usize..(x1 as usize).min(SIDE) {
                    let d = ((x as f32 + 0.5 - cx).powi(2) + (y as f32 + 0.5 - cy).powi(2)).sqrt();
                    let cover = (radius + 0.5 - d).clamp(0.0, 1.0);
                    let v = &mut self.ink[y * SIDE + x];
                    *v = v.max(cover);
                }
            }
        }
    }

    /// MNIST's preprocessing: the ink's bounding box scaled to fit 20x20 (aspect kept), then
    /// placed so that its centre of mass is at the pad's centre. A blank pad stays blank.
    pub fn centered(&self) -> Pad {
        let at = |x: usize, y: usize| self.ink[y * SIDE + x];
        let inked: Vec<(usize, usize)> = (0..SIDE * SIDE)
            .filter(|&i| self.ink[i] >= 0.05)
            .map(|i| (i % SIDE, i / SIDE))
            .collect();
        if inked.is_empty() {
            return Pad::default();
        }
        let (x0, x1) = (
            inked.iter().map(|p| p.0).min().unwrap_or(0),
            inked.iter().map(|p| p.0).max().unwrap_or(0),
        );
        let (y0, y1) = (
            inked.iter().map(|p| p.1).min().unwrap_or(0),
            inked.iter().map(|p| p.1).max().unwrap_or(0),
        );
        let (w, h) = ((x1 - x0 + 1) as f32, (y1 - y0 + 1) as f32);
        let scale = BOX / w.max(h);
        let (sw, sh) = (
            (w * scale).round().max(1.0) as usize,
            (h * scale).round().max(1.0) as usize,
        );
        // Bilinear resampling of the box into sw x sh.
        let sample = |fx: f32, fy: f32| {
            let (fx, fy) = (
                fx.clamp(0.0, (SIDE - 1) as f32),
                fy.clamp(0.0, (SIDE - 1) as f32),
            );
            let (ix, iy) = (fx.floor() as usize, fy.floor() as usize);
            let (jx, jy) = ((ix + 1).min(SIDE - 1), (iy + 1).min(SIDE - 1));
            let (tx, ty) = (fx - ix as f32, fy - iy as f32);
            let top = at(ix, iy) * (1.0 - tx) + at(jx, iy) * tx;
            let bottom = at(ix, jy) * (1.0 - tx) + at(jx, jy) * tx;
            top * (1.0 - ty) + bottom * ty
        };
        let mut boxed = vec![0.0f32; sw * sh];
        for v in 0..sh {
            for u in 0..sw {
                let fx = x0 as f32 + (u as f32 + 0.5) / scale - 0.5;
                let fy = y0 as f32 + (v as f32 + 0.5) / scale - 0.5;
                boxed[v * sw + u] = sample(fx, fy);
            }
        }
        let mass: f32 = boxed.iter().sum();
        let (mut cx, mut cy) = (0.0f32, 0.0f32);
        for v in 0..sh {
            for u in 0..sw {
                cx += boxed[v * sw + u] * (u as f32 + 0.5);
                cy += boxed[v * sw + u] * (v as f32 + 0.5);
            }
        }
        let half = SIDE as f32 / 2.0;
        let (ox, oy) = (
            (half - cx / mass).round() as isize,
            (half - cy / mass).round() as isize,
        );
        let mut out = Pad::default();
        for v in 0..sh {
            for u in 0..sw {
                let (x, y) = (u as isize + ox, v as isize + oy);
                if (0..SIDE as isize).contains(&x) && (0..SIDE as isize).contains(&y) {
                    out.ink[y as usize * SIDE + x as usize] = boxed[v * sw + u].clamp(0.0, 1.0);
                }
            }
        }
        out
    }

    /// The model's input: 8-bit pixels normalised as the training did, [1, 28, 28].
    pub fn to_image(&self) -> Vec<f32> {
        self.ink
            .iter()
            .map(|&v| normalise_pixel((v * 255.0).round() as u8))
            .collect()
    }
}

/// Paints `pad` into `rect`, `cell` points per pixel, white ink on black.
fn paint_ink(ui: &egui::Ui, rect: egui::Rect, pad: &Pad, cell: f32) {
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 0.0, egui::Color32::BLACK);
    for (i, &v) in pad.ink.iter().enumerate() {
        if v > 0.0 {
            let (x, y) = ((i % SIDE) as f32, (i / SIDE) as f32);
            let r = egui::Rect::from_min_size(
                rect.min + egui::vec2(x * cell, y * cell),
                egui::vec2(cell, cell),
            );
            painter.rect_filled(r, 0.0, egui::Color32::from_gray((v * 255.0) as u8));
        }
    }
}

/// A small read-only view of `pad`.
fn draw_ink(ui: &mut egui::Ui, pad: &Pad, cell: f32) {
    let side = cell * SIDE as f32;
    let (rect, _) = ui.allocate_exact_size(egui::vec2(side, side), egui::Sense::hover());
    paint_ink(ui, rect, pad, cell);
}

/// What the Classify view keeps between frames.
pub struct Classify {
    pub pad: Pad,
    last: Option<[f32; 2]>,
    /// Test image shown on the pad, if one was picked.
    pub test_index: Option<usize>,
    pick: usize,
    pub mode: Mode,
    pub branches: usize,
    /// What was last sent to the engine.
    sent: Option<(Vec<f32>, Mode, usize)>,
}

impl View for Classify {
    fn ui(&mut self, ui: &mut egui::Ui, cx: &mut ViewCtx<'_>) {
        with_trained(ui, cx, |ui, worker, snap, model| {
            self.model_ui(ui, worker, snap, model)
        });
    }
}

impl Classify {
    pub fn new(branches: usize) -> Classify {
        Classify {
            pad: Pad::default(),
            last: None,
            test_index: None,
            pick: 0,
            mode: Mode::Parallel,
            branches,
            sent: None,
        }
    }

    fn model_ui(
        &mut self,
        ui: &mut egui::Ui,
        worker: &Worker,
        snap: &Snapshot,
        model: &TrainedModel,
    ) {
        let (weights, set) = model;
        let k_max = weights.config.branches;
        ui.label(format!(
            "Draw a digit with the mouse (or pick a test image). It is centred as MNIST digits \
             are and classified by the trained Para-Former on {}.",
            snap.engine_name()
        ));
        ui.horizontal_top(|ui| {
            ui.vertical(|ui| {
                self.pad_ui(ui);
                ui.horizontal(|ui| {
                    if ui.button("Clear").clicked() {
                        self.pad = Pad::default();
                        self.test_index = None;
                    }
                    ui.label("test image");
                    ui.add(egui::DragValue::new(&mut self.pick).range(0..=set.len() - 1));
                    if ui.button("Show").clicked() {
                        self.show_test(set, self.pick);
                    }
                    if ui.button("Next").clicked() {
                        self.pick = (self.pick + 1) % set.len();
                        self.show_test(set, self.pick);
                    }
                });
                if let Some(i) = self.test_index {
                    ui.label(format!("test image {i}: label {}", set.labels[i]));
                }
            });
            ui.separator();
            ui.vertical(|ui| {
                ui.horizontal(|ui| {
                    ui.radio_value(&mut self.mode, Mode::Parallel, "parallel");
                    ui.radio_value(&mut self.mode, Mode::Serial, "serial")
                        .on_hover_text(
                            "the same weights chained as a ViT: the latency baseline; the trained \
                             classifier is the parallel sum, so serial predictions are not meaningful",
                        );
                });
                ui.add(egui::Slider::new(&mut self.branches, 1..=k_max).text("branches 0..k"));
                self.results_ui(ui, snap);
            });
        });
        self.submit_if_changed(worker, snap, weights);
    }

    fn show_test(&mut self, set: &TestSet, i: usize) {
        let len = SIDE * SIDE;
        self.pad = Pad::from_pixels(&set.pixels[i * len..(i + 1) * len]);
        self.test_index = Some(i);
    }

    fn pad_ui(&mut self, ui: &mut egui::Ui) {
        let cell = 10.0;
        let (rect, response) = ui.allocate_exact_size(
            egui::vec2(cell * SIDE as f32, cell * SIDE as f32),
            egui::Sense::drag(),
        );
        if let Some(pos) = response
            .interact_pointer_pos()
            .filter(|_| response.dragged())
        {
            let p = [(pos.x - rect.left()) / cell, (pos.y - rect.top()) / cell];
            self.pad.stroke(self.last.unwrap_or(p), p, 1.1);
            self.last = Some(p);
            self.test_index = None;
        } else {
            self.last = None;
        }
        paint_ink(ui, rect, &self.pad, cell);
    }

    fn results_ui(&self, ui: &mut egui::Ui, s: &Snapshot) {
        if let Some(e) = &s.classify.error {
            ui.colored_label(ui.visuals().error_fg_color, e);
        }
        if self.pad.is_blank() {
            ui.label("(the pad is empty)");
            return;
        }
        let Some((probs, mode, k, ms)) = &s.classify.result else {
            ui.label("classifying…");
            return;
        };
        let best = argmax(probs);
        ui.heading(format!("{best}  ({:.1}%)", probs[best] * 100.0));
        ui.label(format!(
            "{} mode, branches 0..{k}: {ms:.2} ms (wall clock, one image)",
            mode.name()
        ));
        for (class, p) in probs.iter().enumerate() {
            ui.horizontal(|ui| {
                ui.monospace(format!("{class}"));
                ui.add(
                    egui::ProgressBar::new(*p)
                        .desired_width(260.0)
                        .text(format!("{:.1}%", p * 100.0)),
                );
            });
        }
        ui.add_space(8.0);
        ui.label("what the model sees (centred, 28x28):");
        draw_ink(ui, &self.pad.centered(), 4.0);
    }

    fn submit_if_changed(&mut self, worker: &Worker, snap: &Snapshot, weights: &Arc<Weights>) {
        if self.pad.is_blank() || snap.classify.busy {
            return;
        }
        let image = self.pad.centered().to_image();
        let want = (image, self.mode, self.branches);
        if self.sent.as_ref() != Some(&want) {
            worker.submit(Job::Classify {
                weights: weights.clone(),
                image: want.0.clone(),
                mode: want.1,
                branches: want.2,
            });
            self.sent = Some(want);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mass_centre(p: &Pad) -> (f32, f32) {
        let m: f32 = p.ink.iter().sum();
        let (mut x, mut y) = (0.0, 0.0);
        for (i, v) in p.ink.iter().enumerate() {
            x += v * ((i % SIDE) as f32 + 0.5);
            y += v * ((i / SIDE) as f32 + 0.5);
        }
        (x / m, y / m)
    }

    #[test]
    fn strokes_are_thick_and_soft() {
        let mut p = Pad::default();
        assert!(p.is_blank());
        p.stroke([5.0, 5.0], [5.0, 15.0], 1.1);
        assert!(!p.is_blank());
        assert_eq!(p.ink[10 * SIDE + 5], 1.0, "on the line");
        assert!(p.ink[10 * SIDE + 6] > 0.0, "a neighbour gets ink");
        assert_eq!(p.ink[10 * SIDE + 9], 0.0, "far away stays blank");
    }

    #[test]
    fn centring_fits_a_20_pixel_box_at_the_centre_of_mass() {
        let mut p = Pad::default();
        // A small stroke in a corner.
        p.stroke([2.0, 2.0], [2.0, 8.0], 1.0);
        let c = p.centered();
        let (x, y) = mass_centre(&c);
        assert!(
            (x - 14.0).abs() <= 0.6 && (y - 14.0).abs() <= 0.6,
            "{x} {y}"
        );
        let rows: Vec<usize> = (0..SIDE * SIDE)
            .filter(|&i| c.ink[i] > 0.05)
            .map(|i| i / SIDE)
            .collect();
        let height = rows.iter().max().unwrap() - rows.iter().min().unwrap() + 1;
        assert!(
            (19..=21).contains(&height),
            "scaled to the 20-pixel box: {height}"
        );
        assert_eq!(Pad::default().centered(), Pad::default());
        // An MNIST digit is already centred: centring changes it little.
        let image = c.to_image();
        assert_eq!(image.len(), SIDE * SIDE);
        assert_eq!(image[0], normalise_pixel(0));
    }
}
