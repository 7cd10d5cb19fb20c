//! Knowing when the window has finished drawing (natively). On a CPU adapter painting a
//! frame rasterises on the same cores as the engine's runs, well after egui counts the
//! frame, so a timed run must not start before the painting is over: the worker waits here.

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
    /// finished the work submitted to it. The quiet time must outlast the gap before the
    /// follow-up frame egui and winit draw after a change, or that frame lands among the
    /// timed runs (README, Performance: "The app's timed runs").
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
