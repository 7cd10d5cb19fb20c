//! Finding an adapter and opening a device: asks for timestamp queries when the adapter
//! offers them and for the adapter's own limits, and explains what to do when there is
//! no usable adapter.

use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use super::Precision;
use super::kernels::Kernels;
use super::step::Kernel;
use crate::Error;

/// What a user needs to know about the adapter a figure was measured on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdapterSummary {
    pub name: String,
    pub backend: String,
    pub device_type: String,
    pub driver: String,
    pub driver_info: String,
    pub timestamps: bool,
    /// Timestamps between the dispatches of a pass (native only): per-op profiles.
    pub timestamps_inside_passes: bool,
    /// f16 in shaders and storage (SHADER_F16, WebGPU's `shader-f16`): `Precision::F16`.
    /// Reports written before it existed read as false.
    #[serde(default)]
    pub shader_f16: bool,
    pub max_storage_binding_bytes: u64,
    pub max_buffer_bytes: u64,
    pub max_workgroups_per_dim: u32,
    pub max_invocations_per_workgroup: u32,
    pub max_workgroup_storage_bytes: u32,
    pub max_storage_buffers_per_stage: u32,
}

/// An open device and its queue, with what was granted.
#[derive(Clone, Debug)]
pub struct Gpu {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub info: wgpu::AdapterInfo,
    pub summary: AdapterSummary,
    health: Arc<Health>,
    kernels: Arc<Mutex<Kernels>>,
}

/// What the device reported outside any error scope: its loss, and errors no scope caught
/// (wgpu's default for those is a panic; here they become an `Error` of the next run).
#[derive(Debug, Default)]
struct Health {
    lost: Mutex<Option<String>>,
    uncaptured: Mutex<Vec<String>>,
}

/// Live GPU objects and memory, as wgpu counts them (natively; zero in the browser).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resources {
    pub buffers: isize,
    pub buffer_bytes: isize,
    pub bind_groups: isize,
    pub pipelines: isize,
}

/// How to get an adapter, for error messages.
#[cfg(not(target_arch = "wasm32"))]
const NO_ADAPTER_HELP: &str = "install your GPU's Vulkan, Metal or DirectX driver, or run on the CPU with \
     Mesa's lavapipe (Debian/Ubuntu: apt-get install mesa-vulkan-drivers libvulkan1)";
#[cfg(target_arch = "wasm32")]
const NO_ADAPTER_HELP: &str = "open the page in a browser with WebGPU (Chrome or Edge 113+, Safari 26+, \
     Firefox 141+ on Windows), or enable it (chrome://flags/#enable-unsafe-webgpu)";

/// Environment variable that makes `Gpu::new` open the device without f16 even where the
/// adapter offers it (natively): how the CLI's f16 errors are tested on lavapipe.
pub const WITHOUT_F16_ENV: &str = "PARAFORMER_GPU_WITHOUT_F16";

impl Gpu {
    /// Opens the default (high-performance) adapter.
    pub async fn new() -> Result<Gpu, Error> {
        #[cfg(not(target_arch = "wasm32"))]
        let deny = match std::env::var_os(WITHOUT_F16_ENV) {
            Some(_) => wgpu::Features::SHADER_F16,
            None => wgpu::Features::empty(),
        };
        #[cfg(target_arch = "wasm32")]
        let deny = wgpu::Features::empty();
        Gpu::open(|_| {}, deny).await
    }

    /// Opens the default adapter with its limits lowered by `adjust`, e.g. to check how
    /// the engine behaves on a smaller device than this one.
    pub async fn with_limits(adjust: impl FnOnce(&mut wgpu::Limits)) -> Result<Gpu, Error> {
        Gpu::open(adjust, wgpu::Features::empty()).await
    }

    /// Opens the default adapter with its limits lowered by `adjust` and without the
    /// optional `features` in `deny` even where it offers them: how tests get a device
    /// without f16 on an adapter with it.
    pub async fn open(
        adjust: impl FnOnce(&mut wgpu::Limits),
        deny: wgpu::Features,
    ) -> Result<Gpu, Error> {
        if !crate::platform::has_webgpu_api() {
            return Err(Error::Gpu(format!(
                "this browser has no WebGPU (no navigator.gpu): {NO_ADAPTER_HELP}"
            )));
        }
        let instance =
            wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
        let adapter = instance
            .request_adapter(&wgpu::RequestAdapterOptions {
                power_preference: wgpu::PowerPreference::HighPerformance,
                ..Default::default()
            })
            .await
            .map_err(|e| {
                Error::Gpu(format!(
                    "no GPU adapter found: {NO_ADAPTER_HELP} (wgpu: {e})"
                ))
            })?;
        let mut limits = adapter.limits();
        adjust(&mut limits);
        Gpu::from_adapter(&adapter, limits, deny).await
    }

    /// Opens a device on `adapter` with timestamp queries and f16 (when offered and not in
    /// `deny`) and `limits` (at most the adapter's own).
    pub async fn from_adapter(
        adapter: &wgpu::Adapter,
        limits: wgpu::Limits,
        deny: wgpu::Features,
    ) -> Result<Gpu, Error> {
        let info = adapter.get_info();
        let caps = adapter.get_downlevel_capabilities();
        if !caps.flags.contains(wgpu::DownlevelFlags::COMPUTE_SHADERS) {
            return Err(Error::Gpu(format!(
                "adapter '{}' ({:?}) has no compute shaders, which this model needs: {NO_ADAPTER_HELP}",
                info.name, info.backend
            )));
        }
        // Timestamps inside passes (native only) give the per-op profile its finest method;
        // SHADER_F16 allows `Precision::F16` (f32 engines do not use it).
        let features = adapter.features()
            & (wgpu::Features::TIMESTAMP_QUERY
                | wgpu::Features::TIMESTAMP_QUERY_INSIDE_PASSES
                | wgpu::Features::SHADER_F16)
            & !deny;
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("paraformer"),
                required_features: features,
                required_limits: limits,
                experimental_features: wgpu::ExperimentalFeatures::disabled(),
                memory_hints: wgpu::MemoryHints::Performance,
                trace: wgpu::Trace::Off,
            })
            .await
            .map_err(|e| Error::Gpu(format!("adapter '{}' refused a device: {e}", info.name)))?;
        Ok(Gpu::from_device(device, queue, info))
    }

    /// Wraps a device someone else opened (e.g. the UI's renderer).
    pub fn from_device(device: wgpu::Device, queue: wgpu::Queue, info: wgpu::AdapterInfo) -> Gpu {
        let limits = device.limits();
        let summary = AdapterSummary {
            name: info.name.clone(),
            backend: format!("{:?}", info.backend),
            device_type: format!("{:?}", info.device_type),
            driver: info.driver.clone(),
            driver_info: info.driver_info.clone(),
            timestamps: device.features().contains(wgpu::Features::TIMESTAMP_QUERY),
            timestamps_inside_passes: device
                .features()
                .contains(wgpu::Features::TIMESTAMP_QUERY_INSIDE_PASSES),
            shader_f16: device.features().contains(wgpu::Features::SHADER_F16),
            max_storage_binding_bytes: limits.max_storage_buffer_binding_size,
            max_buffer_bytes: limits.max_buffer_size,
            max_workgroups_per_dim: limits.max_compute_workgroups_per_dimension,
            max_invocations_per_workgroup: limits.max_compute_invocations_per_workgroup,
            max_workgroup_storage_bytes: limits.max_compute_workgroup_storage_size,
            max_storage_buffers_per_stage: limits.max_storage_buffers_per_shader_stage,
        };
        let health = Arc::new(Health::default());
        let h = health.clone();
        device.set_device_lost_callback(move |reason, message| {
            let why = match reason {
                wgpu::DeviceLostReason::Destroyed => "it was destroyed".to_string(),
                _ if message.is_empty() => "the driver gave no reason".to_string(),
                _ => message,
            };
            *h.lost.lock().unwrap_or_else(|p| p.into_inner()) = Some(why);
        });
        let h = health.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            let mut list = h.uncaptured.lock().unwrap_or_else(|p| p.into_inner());
            if list.len() < 16 {
                list.push(e.to_string());
            }
        }));
        Gpu {
            device,
            queue,
            info,
            summary,
            health,
            kernels: Default::default(),
        }
    }

    /// Fails when the device cannot run `precision`, naming what is missing.
    pub fn check_precision(&self, precision: Precision) -> Result<(), Error> {
        if precision == Precision::F16 && !self.summary.shader_f16 {
            return Err(Error::Gpu(format!(
                "f16 needs the SHADER_F16 feature (WebGPU: shader-f16), which adapter '{}' \
                 ({}) does not offer: run in f32",
                self.summary.name, self.summary.backend
            )));
        }
        Ok(())
    }

    /// The compute pipeline of `kernel`, compiled on first use on this device.
    pub(crate) fn pipeline(&self, kernel: &Kernel) -> wgpu::ComputePipeline {
        self.kernels
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pipeline(&self.device, kernel)
    }

    /// Why the device was lost, if it was. A lost device stays lost: open a new `Gpu`.
    pub fn lost(&self) -> Option<String> {
        self.health
            .lost
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Fails when the device is lost or reported an error no scope caught (the errors are
    /// taken: a later check passes again unless new ones arrive).
    pub fn check(&self) -> Result<(), Error> {
        let errors = std::mem::take(
            &mut *self
                .health
                .uncaptured
                .lock()
                .unwrap_or_else(|p| p.into_inner()),
        );
        if !errors.is_empty() {
            self.notice_loss();
        }
        if let Some(why) = self.lost() {
            return Err(Error::Gpu(format!(
                "the GPU device was lost ({why}): results measured before are kept; \
                 run again to open a new device"
            )));
        }
        if !errors.is_empty() {
            return Err(Error::Gpu(format!(
                "the GPU reported an error: {}",
                errors.join("; ")
            )));
        }
        Ok(())
    }

    /// Errors often arrive before the loss that caused them, which wgpu reports when the
    /// device is next polled: poll now (natively; the browser reports it by itself).
    pub(crate) fn notice_loss(&self) {
        #[cfg(not(target_arch = "wasm32"))]
        if self.lost().is_none() {
            let _ = self.device.poll(wgpu::PollType::Poll);
        }
    }

    /// Destroys the device, as a driver reset would lose it: later work fails with a
    /// "device was lost" error. For tests and fault injection.
    pub fn destroy(&self) {
        self.device.destroy();
    }

    /// GPU objects alive on this device.
    pub fn resources(&self) -> Resources {
        let c = self.device.get_internal_counters().hal;
        Resources {
            buffers: c.buffers.read(),
            buffer_bytes: c.buffer_memory.read(),
            bind_groups: c.bind_groups.read(),
            pipelines: c.compute_pipelines.read(),
        }
    }
}
