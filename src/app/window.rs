//! Knowing when the window has finished drawing (natively). On a CPU adapter (lavapipe)
//! painting a frame of plots rasterises on the same cores as the engine's runs, for up to
//! hundreds of ms after egui counts the frame; timed runs that overlapped it came out
//! 1.7 - 2x slower at the p90 than `paraformer bench`. So the worker waits for it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use eframe::egui_wgpu::{self, CallbackResources, CallbackTrait, ScreenDescriptor};

/// The window's GPU device and a count of the frames that reached painting.
#[derive(Clone)]
pub struct Renderer {
    device: wgpu::Device,
    painted: Arc<AtomicU64>,
}

/// A paint callback that draws nothing: eframe prepares it while painting its frame, right
/// before it submits the frame's commands, which is the moment the count goes up.
struct PaintMark(Arc<AtomicU64>);

impl CallbackTrait for PaintMark {
    fn prepare(
        &self,
        _device: &wgpu::Device,
        _queue: &wgpu::Queue,
        _screen: &ScreenDescriptor,
        _encoder: &mut wgpu::CommandEncoder,
        _resources: &mut CallbackResources,
    ) -> Vec<wgpu::CommandBuffer> {
        self.0.fetch_add(1, Ordering::Relaxed);
        Vec::new()
    }

    fn paint(
        &self,
        _info: egui::PaintCallbackInfo,
        _pass: &mut wgpu::RenderPass<'static>,
        _resources: &CallbackResources,
    ) {
    }
}

impl Renderer {
    pub fn new(device: wgpu::Device) -> Renderer {
        Renderer {
            device,
            painted: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Puts the mark into the frame being built (call once per frame).
    pub fn mark(&self, ctx: &egui::Context) {
        let rect = egui::Rect::from_min_size(egui::Pos2::ZERO, egui::Vec2::splat(1.0));
        let mark = egui_wgpu::Callback::new_paint_callback(rect, PaintMark(self.painted.clone()));
        ctx.layer_painter(egui::LayerId::background()).add(mark);
    }

    /// Frames painted so far.
    pub fn painted(&self) -> u64 {
        self.painted.load(Ordering::Relaxed)
    }

    /// Waits until a frame after `since` has been painted, no frame has followed for 150 ms
    /// (at most `patience` in all: a hidden window paints nothing), and the device has
    /// finished the work submitted to it. The 150 ms are for the follow-up frame egui and
    /// winit draw 60 - 100 ms after a change (measured on Xvfb); with 40 ms it landed among
    /// the timed runs, with 150 ms the app's p90/median ratio matched `paraformer bench`
    /// (1.05 - 1.06 against 1.08, mnist L = 1..12; 1.5 - 2.0 before).
    pub fn wait_until_drawn(&self, since: u64, patience: Duration) {
        wait_until_quiet(
            || self.painted(),
            since,
            Duration::from_millis(150),
            patience,
        );
        // Errors here belong to the window's device; the engine checks its own.
        let _ = self.device.poll(wgpu::PollType::Wait {
            submission_index: None,
            timeout: Some(Duration::from_secs(2)),
        });
    }
}

/// Waits until `count()` has gone past `since` and then stayed the same for `quiet`, or
/// `patience` has passed.
pub fn wait_until_quiet(count: impl Fn() -> u64, since: u64, quiet: Duration, patience: Duration) {
    let start = Instant::now();
    let (mut last, mut at) = (since, start);
    while start.elapsed() < patience {
        std::thread::sleep(Duration::from_millis(2));
        let now = count();
        if now != last {
            (last, at) = (now, Instant::now());
        }
        if last > since && at.elapsed() >= quiet {
            break;
        }
    }
}
